"""Torch modules of the CNN-based detectors (imported only where torch is needed)."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


def _block(cin: int, cout: int, stride: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class SmallCNN(nn.Sequential):
    """Four conv blocks, global average pool, one logit."""

    def __init__(self, cin: int = 3, width: int = 32) -> None:
        super().__init__(
            _block(cin, width, 1), _block(width, 2 * width, 2), _block(2 * width, 4 * width, 2),
            _block(4 * width, 4 * width, 1), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4 * width, 1))


def npr_residual(x: torch.Tensor) -> torch.Tensor:
    """x - up(down(x)), nearest neighbour, factor 2 (Tan et al. 2024)."""
    down = x[:, :, ::2, ::2]
    return x - F.interpolate(down, scale_factor=2.0, mode="nearest")[:, :, : x.shape[2], : x.shape[3]]


class NPRNet(nn.Module):
    """Neighbouring-pixel-relationship residual fed to a small CNN."""

    def __init__(self, width: int = 32) -> None:
        super().__init__()
        self.net = SmallCNN(3, width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(npr_residual(x) * 4.0)


def dct_matrix(n: int) -> torch.Tensor:
    """Orthonormal DCT-II matrix D: D @ x is the DCT of column vector x."""
    k = torch.arange(n, dtype=torch.float64)[:, None]
    i = torch.arange(n, dtype=torch.float64)[None, :]
    d = torch.cos(math.pi * (2 * i + 1) * k / (2 * n)) * math.sqrt(2.0 / n)
    d[0] /= math.sqrt(2.0)
    return d.float()


class DCTNet(nn.Module):
    """Log-magnitude 2-D DCT of the grayscale tile (Frank et al. 2020) fed to a small CNN."""

    def __init__(self, size: int, width: int = 32) -> None:
        super().__init__()
        self.register_buffer("d", dct_matrix(size), persistent=False)
        self.net = SmallCNN(1, width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        g = (0.299 * x[:, 0] + 0.587 * x[:, 1] + 0.114 * x[:, 2]).float()
        c = self.d @ g @ self.d.T
        logmag = torch.log(c.abs() + 1e-3)
        return self.net(((logmag - logmag.mean(dim=(1, 2), keepdim=True)) / 2.0)[:, None].to(x.dtype))


def last_conv(module: nn.Module) -> nn.Module:
    """The last Conv2d of a module (the Grad-CAM target layer)."""
    convs = [m for m in module.modules() if isinstance(m, nn.Conv2d)]
    if not convs:
        raise ValueError(f"{type(module).__name__} has no Conv2d layer")
    return convs[-1]
