"""Artifact simulation (Zhang, Karaman and Chang 2019, "AutoGAN"): synthetic negatives without a GAN.

Small auto-encoders learn to reproduce real faces; their decoders up-sample the way
generators do (transposed convolution, nearest + conv, bilinear + conv), so what they
output carries up-sampling traces but the content of a real photo. The networks are fully
convolutional: any real image, at any size, passes through at native resolution.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np

from assay.core.registry import Registry

#: name -> () -> torch module (3 -> 3 channels, x2 down then x2 up)
SIMULATORS: Registry[Callable[[], Any]] = Registry("artifact simulator")
FAMILY_PREFIX = "simulated-"


def _encoder(width: int) -> list[Any]:
    from torch import nn

    return [nn.Conv2d(3, width, 3, 1, 1), nn.ReLU(inplace=True), nn.Conv2d(width, 2 * width, 4, 2, 1),
            nn.ReLU(inplace=True)]


@SIMULATORS.register("transposed")
def transposed(width: int = 16) -> Any:
    from torch import nn

    return nn.Sequential(*_encoder(width), nn.ConvTranspose2d(2 * width, width, 4, 2, 1), nn.ReLU(inplace=True),
                         nn.Conv2d(width, 3, 3, 1, 1))


def _resize_decoder(mode: str, width: int) -> Any:
    from torch import nn

    return nn.Sequential(*_encoder(width), nn.Upsample(scale_factor=2, mode=mode),
                         nn.Conv2d(2 * width, width, 3, 1, 1), nn.ReLU(inplace=True), nn.Conv2d(width, 3, 3, 1, 1))


SIMULATORS.register("nearest")(lambda width=16: _resize_decoder("nearest", width))
SIMULATORS.register("bilinear")(lambda width=16: _resize_decoder("bilinear", width))


def train_simulator(name: str, images: Sequence[np.ndarray], steps: int = 100, tile: int = 32,
                    batch: int = 8, seed: int = 0) -> Any:
    """Fit one auto-encoder to reproduce real images (L1 on random native tiles)."""
    import torch

    from detect.tiling import random_tile

    torch.manual_seed(seed)
    net = SIMULATORS.create(name)
    opt = torch.optim.Adam(net.parameters(), lr=2e-3)
    rng = np.random.default_rng(seed)
    for _ in range(steps):
        idx = rng.integers(0, len(images), batch)
        x = torch.from_numpy(np.stack([random_tile(images[i], tile, rng) for i in idx]))
        x = x.permute(0, 3, 1, 2).float() / 127.5 - 1
        loss = (net(x) - x).abs().mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    return net.eval()


def run_simulator(net: Any, image: np.ndarray) -> np.ndarray:
    """Pass one image through a trained auto-encoder at its native size."""
    import torch

    h, w = image.shape[:2]
    even = np.pad(image, ((0, h % 2), (0, w % 2), (0, 0)), mode="edge")
    x = torch.from_numpy(even).permute(2, 0, 1)[None].float() / 127.5 - 1
    with torch.inference_mode():
        y = net(x)[0].permute(1, 2, 0).numpy()
    return np.clip((y + 1) * 127.5 + 0.5, 0, 255).astype(np.uint8)[:h, :w]


def train_simulators(names: Sequence[str], fit_on: Sequence[np.ndarray], steps: int = 100,
                     seed: int = 0) -> dict[str, Any]:
    """Fit one auto-encoder per name on real images; name -> trained network."""
    return {n: train_simulator(n, list(fit_on), steps, seed=seed) for n in names}


def simulate(images: Sequence[np.ndarray], nets: dict[str, Any]) -> list[tuple[np.ndarray, str]]:
    """One simulated fake per image, the simulators taken in turn; returns (image, family) pairs."""
    names = list(nets)
    return [(run_simulator(nets[names[i % len(names)]], img), FAMILY_PREFIX + names[i % len(names)])
            for i, img in enumerate(images)]
