"""Autoencoders whose decoder is a GAN family's own up-sampling (AutoGAN, Zhang et al. 2019): trained
briefly on patches of real photos, then run on whole photos at their native resolution, so that the
re-synthesised photo differs from its source only by the decoder's trace (content-aligned fakes, as in
Rajan et al. 2025 and B-Free, Guillaro et al. 2025).

The encoder is generic (strided convolutions down by 2^ups); the decoder is a :data:`DECODERS` entry of
the family's module. Both are fully convolutional: any image size works (padded to a multiple of 2^ups,
cropped back), and large photos can be cut into overlapping tiles.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import asdict, dataclass
from typing import Any, Callable, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from assay.forge.data import to_float, to_uint8
from assay.forge.networks import DECODERS


@dataclass(frozen=True)
class AutoencoderConfig:
    """An autoencoder and its brief training: ``family`` names the decoder (:data:`DECODERS`), ``ups`` its
    doublings (the encoder halves as often), ``latent`` the bottleneck's channels, ``ch`` the decoder's
    full-resolution feature maps (0: the decoder's default); ``patch`` px crops of the photos at their own
    pixel scale, ``batch`` crops per step, Adam at ``lr``, L1 loss."""

    family: str = "dcgan"
    ups: int = 2
    latent: int = 32
    enc_ch: int = 16
    ch: int = 0
    steps: int = 300
    patch: int = 256
    batch: int = 4
    lr: float = 2e-3
    seed: int = 0

    def validate(self) -> None:
        DECODERS.get(self.family)
        for key in ("ups", "latent", "enc_ch", "steps", "batch"):
            if getattr(self, key) < 1:
                raise ValueError(f"{key} must be >= 1, got {getattr(self, key)}")
        if self.ch < 0:
            raise ValueError(f"ch must be >= 0, got {self.ch}")
        if self.patch < 2 ** self.ups or self.patch % 2 ** self.ups:
            raise ValueError(f"patch must be a multiple of 2^ups = {2 ** self.ups}, got {self.patch}")


class Encoder(nn.Module):
    """A 3x3 conv, then ``downs`` stride-2 4x4 convs (channels doubling, at most 8 ch), LeakyReLU(0.2),
    and a 1x1 conv to ``latent`` channels."""

    def __init__(self, downs: int, latent: int, ch: int = 32) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.Conv2d(3, ch, 3, 1, 1), nn.LeakyReLU(0.2, True)]
        width = ch
        for level in range(1, downs + 1):
            nxt = ch * min(8, 2 ** level)
            layers += [nn.Conv2d(width, nxt, 4, 2, 1), nn.LeakyReLU(0.2, True)]
            width = nxt
        self.net = nn.Sequential(*layers, nn.Conv2d(width, latent, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class Autoencoder(nn.Module):
    """Image (N x 3 x H x W in [-1, 1], any H and W) -> its re-synthesis through the family's decoder."""

    def __init__(self, cfg: AutoencoderConfig) -> None:
        super().__init__()
        cfg.validate()
        self.cfg = cfg
        self.encoder = Encoder(cfg.ups, cfg.latent, cfg.enc_ch)
        options = {"cin": cfg.latent, "ups": cfg.ups, **({"ch": cfg.ch} if cfg.ch else {})}
        self.decoder = DECODERS.create(cfg.family, **options)

    @property
    def multiple(self) -> int:
        return 2 ** self.cfg.ups

    def forward(self, x: torch.Tensor, noise: torch.Generator | None = None) -> torch.Tensor:
        h, w = x.shape[2:]
        m = self.multiple
        pad_h, pad_w = -h % m, -w % m
        if pad_h or pad_w:
            x = F.pad(x, (0, pad_w, 0, pad_h), mode="reflect" if min(h, w) > max(pad_h, pad_w) else "replicate")
        return self.decoder(self.encoder(x), noise)[:, :, :h, :w]


def weights_sha256(model: nn.Module) -> str:
    """The hash of a model's weights (as its safetensors bytes): the identity of the trained autoencoder."""
    from safetensors.torch import save

    return hashlib.sha256(save(state_of(model))).hexdigest()


def state_of(model: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}


def _crop(image: np.ndarray, patch: int, rng: np.random.Generator) -> np.ndarray:
    h, w = image.shape[:2]
    top, left = int(rng.integers(0, h - patch + 1)), int(rng.integers(0, w - patch + 1))
    return image[top:top + patch, left:left + patch]


def fit_patch(cfg: AutoencoderConfig, images: Sequence[np.ndarray]) -> int:
    """The training crop size: ``cfg.patch``, cut to the smallest photo (a multiple of 2^ups, never up-sampled)."""
    smallest = min(min(im.shape[:2]) for im in images)
    m = 2 ** cfg.ups
    patch = min(cfg.patch, smallest - smallest % m)
    if patch < m:
        raise ValueError(f"photos must be at least {m} px on each side, the smallest is {smallest} px")
    return patch


def train_autoencoder(cfg: AutoencoderConfig, images: Sequence[np.ndarray], device: torch.device,
                      progress: Callable[[int, float], None] | None = None,
                      time_budget: float | None = None) -> tuple[Autoencoder, dict[str, Any]]:
    """Train an autoencoder on random crops of ``images`` (H x W x 3 uint8, each at least 2^ups px) by L1, for
    ``cfg.steps`` steps or ``time_budget`` seconds, whichever ends first; returns it in eval mode and a
    summary (steps done, crop size, first and last loss, seconds). ``progress(step, loss)`` follows each step."""
    if not images:
        raise ValueError("no photos to train the autoencoder on")
    patch = fit_patch(cfg, images)
    torch.manual_seed(cfg.seed)
    model = Autoencoder(cfg).to(device).train()
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr, betas=(0.9, 0.99))
    rng = np.random.default_rng(cfg.seed)
    noise = torch.Generator(device=device).manual_seed(cfg.seed)
    losses: list[float] = []
    start = time.perf_counter()
    for step in range(cfg.steps):
        if time_budget is not None and step and time.perf_counter() - start > time_budget:
            break
        crops = np.stack([_crop(images[int(rng.integers(len(images)))], patch, rng) for _ in range(cfg.batch)])
        x = to_float(torch.from_numpy(crops).permute(0, 3, 1, 2)).to(device)
        loss = F.l1_loss(model(x, noise), x)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
        if progress is not None:
            progress(step + 1, losses[-1])
    tail = losses[-max(1, len(losses) // 10):]
    summary = {"steps": len(losses), "patch": patch, "images": len(images), "first_loss": losses[0],
               "final_loss": float(np.mean(tail)), "seconds": round(time.perf_counter() - start, 1)}
    return model.eval(), summary


def save_autoencoder(model: Autoencoder) -> bytes:
    """The model's weights as safetensors bytes, with its config in the metadata."""
    from safetensors.torch import save

    return save(state_of(model), metadata={"config": json.dumps(asdict(model.cfg))})


def config_of(data: bytes) -> AutoencoderConfig:
    """The config stored in :func:`save_autoencoder`'s bytes (the safetensors header's metadata)."""
    n = int.from_bytes(data[:8], "little")
    return AutoencoderConfig(**json.loads(json.loads(data[8:8 + n])["__metadata__"]["config"]))


def load_autoencoder(data: bytes, device: torch.device) -> Autoencoder:
    """An autoencoder from :func:`save_autoencoder`'s bytes, in eval mode."""
    from safetensors.torch import load

    model = Autoencoder(config_of(data))
    model.load_state_dict(load(data))
    return model.to(device).eval()


def resynthesise(model: Autoencoder, image: np.ndarray, *, seed: int = 0, tile: int = 0, margin: int = 64) -> np.ndarray:
    """A photo (H x W x 3 uint8) through the autoencoder at its own size: whole, or with ``tile`` > 0 in
    ``tile`` px tiles, each run with ``margin`` px of context around it (both rounded to 2^ups so tiles
    keep the encoder's grid); the decoder's noise is drawn from ``seed``. Never resized."""
    dev = next(model.parameters()).device
    x = to_float(torch.from_numpy(np.array(image)).permute(2, 0, 1)[None]).to(dev)
    noise = torch.Generator(device=dev).manual_seed(seed)
    m = model.multiple
    with torch.no_grad():
        if tile <= 0 or max(image.shape[:2]) <= tile:
            return to_uint8(model(x, noise))[0]
        tile, margin = max(m, tile - tile % m), margin + (-margin % m)
        h, w = image.shape[:2]
        out = torch.empty_like(x)
        for top in range(0, h, tile):
            for left in range(0, w, tile):
                t0, l0 = max(0, top - margin), max(0, left - margin)
                part = model(x[:, :, t0:min(h, top + tile + margin), l0:min(w, left + tile + margin)], noise)
                bottom, right = min(h, top + tile), min(w, left + tile)
                out[:, :, top:bottom, left:right] = part[:, :, top - t0:bottom - t0, left - l0:right - l0]
        return to_uint8(out)[0]
