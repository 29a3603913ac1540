"""Multi-scale sliced Wasserstein distance on Laplacian-pyramid patches (Karras et al. 2018, sec. 5).

No pretrained network: each pyramid level (from the full size down to 16 px) contributes 7 x 7 x 3
patches at random positions (at most 65536 per level), normalised per channel over the set; the distance between two sets'
patches is the mean 1-d Wasserstein distance of their projections on random unit directions
(4 x 512 directions). Reported x 1e3 per level, as in the paper. No library provides it.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

PATCH = 7
PATCHES_PER_IMAGE = 128
MIN_LEVEL = 16
DIRECTIONS = 512
MAX_DESCRIPTORS = 1 << 16          # per level and set: a random subset beyond this keeps memory bounded
REPEATS = 4
_BINOMIAL = torch.tensor([1.0, 4.0, 6.0, 4.0, 1.0]) / 16.0


def _blur(x: torch.Tensor) -> torch.Tensor:
    k = (_BINOMIAL[:, None] * _BINOMIAL[None, :]).to(x)
    k = k.expand(x.shape[1], 1, 5, 5)
    return F.conv2d(F.pad(x, (2, 2, 2, 2), mode="reflect"), k, groups=x.shape[1])


def laplacian_pyramid(images: torch.Tensor) -> list[torch.Tensor]:
    """Levels from fine to coarse (N x 3 x S x S each); the last is the coarsest Gaussian level."""
    levels, x = [], images
    while x.shape[-1] // 2 >= MIN_LEVEL:
        down = _blur(x)[..., ::2, ::2]
        up = _blur(F.interpolate(down, scale_factor=2, mode="nearest"))
        levels.append(x - up)
        x = down
    levels.append(x)
    return levels


def descriptors(images: np.ndarray, seed: int = 0) -> list[np.ndarray]:
    """Per pyramid level, N * 128 normalised 147-d patch descriptors of N x H x W x 3 uint8 images."""
    x = torch.from_numpy(np.ascontiguousarray(images)).permute(0, 3, 1, 2).float() / 127.5 - 1.0
    g = torch.Generator().manual_seed(seed)
    out = []
    for level in laplacian_pyramid(x):
        n, c, h, w = level.shape
        ys = torch.randint(0, h - PATCH + 1, (n, PATCHES_PER_IMAGE), generator=g)
        xs = torch.randint(0, w - PATCH + 1, (n, PATCHES_PER_IMAGE), generator=g)
        off = torch.arange(PATCH)
        rows = (ys[..., None] + off)[..., :, None].expand(n, PATCHES_PER_IMAGE, PATCH, PATCH)
        cols = (xs[..., None] + off)[..., None, :].expand(n, PATCHES_PER_IMAGE, PATCH, PATCH)
        batch = torch.arange(n)[:, None, None, None].expand_as(rows)
        patches = level.permute(0, 2, 3, 1)[batch, rows, cols]            # n x P x 7 x 7 x c
        patches = patches.reshape(-1, PATCH * PATCH, c)
        if len(patches) > MAX_DESCRIPTORS:
            patches = patches[torch.randperm(len(patches), generator=g)[:MAX_DESCRIPTORS]]
        patches = (patches - patches.mean(dim=(0, 1))) / patches.std(dim=(0, 1)).clamp_min(1e-8)
        out.append(patches.reshape(len(patches), -1).numpy())
    return out


def sliced_wasserstein(a: np.ndarray, b: np.ndarray, seed: int = 0) -> float:
    """Mean over REPEATS x DIRECTIONS random unit directions of the 1-d Wasserstein-1 distance of projections."""
    rng = np.random.default_rng(seed)
    dists = []
    for _ in range(REPEATS):
        d = rng.standard_normal((a.shape[1], DIRECTIONS)).astype(np.float32)
        d /= np.linalg.norm(d, axis=0, keepdims=True)
        pa, pb = np.sort(a @ d, axis=0), np.sort(b @ d, axis=0)
        dists.append(np.abs(pa - pb).mean())
    return float(np.mean(dists))


def swd(fake: np.ndarray, real: np.ndarray, seed: int = 0) -> dict[str, float]:
    """SWD x 1e3 per level (``swd_<size>``) and their mean (``swd``) between equal-sized image sets."""
    if len(fake) != len(real):
        raise ValueError(f"SWD compares equal-sized sets, got {len(fake)} and {len(real)}")
    fd, rd = descriptors(fake, seed), descriptors(real, seed)
    size = fake.shape[1]
    res = {f"swd_{size >> i}": 1e3 * sliced_wasserstein(f, r, seed) for i, (f, r) in enumerate(zip(fd, rd))}
    return {**res, "swd": float(np.mean(list(res.values())))}
