"""Artifact simulation and the generator zoo: synthetic negatives made inside detect, without forge.

Zhang, Karaman and Chang 2019 ("AutoGAN"): small auto-encoders learn to reproduce real
faces; their decoders up-sample the way generators do, so what they output carries
up-sampling traces but the content of a real photo. Here the decoder is a generator's
synthesis stack, one up-sampling stage per 2x, built from a registry of up-samplers:

- ``transposed``: transposed convolution (DCGAN);
- ``nearest``: nearest-neighbour up-sampling + conv (Odena et al. 2016, most GANs since);
- ``bilinear``: bilinear up-sampling + conv (progressive GAN);
- ``pixelshuffle``: conv to 4x channels + pixel shuffle (ESPCN, SRGAN);
- ``modconv-skip``: StyleGAN2's synthesis: bilinear up-sampling, weight-modulated and
  demodulated convolutions driven by a style vector, and an RGB output at every scale
  summed through up-sampled skips.

``stages=1`` (x2 down, x2 up) is the classic simulator; ``stages=3`` (an 8x bottleneck) is
the zoo's small generator, whose every output pixel comes out of three up-sampling layers.
The networks are fully convolutional: any real photo, at any size, passes through at native
resolution. They are trained briefly (L1 reconstruction), not adversarially: they carry
their up-sampler's traces, not a trained GAN's texture.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np

from assay.core.registry import Registry

#: up-sampler name -> (width=16, stages=1) -> torch module (3 -> 3 channels, /2**stages then x2**stages)
SIMULATORS: Registry[Callable[..., Any]] = Registry("artifact simulator")
FAMILY_PREFIX = "simulated-"


def family_name(kind: str, stages: int = 1) -> str:
    """``simulated-<kind>`` for the classic x2 simulator, ``simulated-<kind>-x<2**stages>`` for zoo generators."""
    return FAMILY_PREFIX + kind + (f"-x{2 ** stages}" if stages > 1 else "")


def _net(kind: str) -> Callable[..., Any]:
    def build(width: int = 16, stages: int = 1) -> Any:
        from assay.detect.nets import SimulatorNet

        return SimulatorNet(kind, width, stages)

    build.__doc__ = f"{kind} up-sampling decoder"
    return build


for _kind in ("transposed", "nearest", "bilinear", "pixelshuffle", "modconv-skip"):
    SIMULATORS.register(_kind)(_net(_kind))


def train_simulator(name: str, images: Sequence[np.ndarray], steps: int = 100, tile: int = 32,
                    batch: int = 8, seed: int = 0, stages: int = 1) -> Any:
    """Fit one auto-encoder to reproduce real images (L1 on random native tiles)."""
    import torch

    from assay.detect.tiling import random_tile

    torch.manual_seed(seed)
    net = SIMULATORS.create(name, stages=stages)
    opt = torch.optim.Adam(net.parameters(), lr=2e-3)
    rng = np.random.default_rng(seed)
    tile = max(tile, 2 ** (stages + 2))
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
    """Pass one image through a trained network at its native size (edge-padded to its stride)."""
    import torch

    h, w = image.shape[:2]
    m = 2 ** getattr(net, "stages", 1)
    padded = np.pad(image, ((0, -h % m), (0, -w % m), (0, 0)), mode="edge")
    x = torch.from_numpy(padded).permute(2, 0, 1)[None].float() / 127.5 - 1
    with torch.inference_mode():
        y = net(x)[0].permute(1, 2, 0).numpy()
    return np.clip((y + 1) * 127.5 + 0.5, 0, 255).astype(np.uint8)[:h, :w]


def train_simulators(names: Sequence[str], fit_on: Sequence[np.ndarray], steps: int = 100,
                     seed: int = 0, stages: int = 1) -> dict[str, Any]:
    """Fit one network per name on real images; family name -> trained network."""
    from tqdm import tqdm

    return {family_name(n, stages): train_simulator(n, list(fit_on), steps, seed=seed, stages=stages)
            for n in tqdm(names, desc="fitting simulators", unit="net", leave=False)}


def simulate(images: Sequence[np.ndarray], nets: dict[str, Any]) -> list[tuple[np.ndarray, str]]:
    """One simulated fake per image, the networks taken in turn; returns (image, family) pairs."""
    names = list(nets)
    return [(run_simulator(nets[names[i % len(names)]], img), names[i % len(names)]) for i, img in enumerate(images)]
