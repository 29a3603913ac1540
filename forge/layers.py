"""Building blocks the networks share: normalisation by name, minibatch layers, spectral norm."""

from __future__ import annotations

from typing import Callable

import torch
from torch import nn

from assay.core.registry import Registry

NORMS: Registry[Callable[[int], nn.Module]] = Registry("normalisation")
NORMS.register("batch")(nn.BatchNorm2d)
NORMS.register("layer")(lambda ch: nn.GroupNorm(1, ch))
NORMS.register("none")(lambda ch: nn.Identity())


class MinibatchDiscrimination(nn.Module):
    """Salimans et al. 2016: features ``x`` (N x A) times a learned tensor T (A x B x C) give M_i (B x C);
    o_i,b = sum_j exp(-||M_i,b - M_j,b||_1); returns [x, o] (N x (A + B))."""

    def __init__(self, in_features: int, kernels: int, kernel_dim: int = 8) -> None:
        super().__init__()
        self.kernels, self.kernel_dim = kernels, kernel_dim
        self.T = nn.Parameter(torch.randn(in_features, kernels * kernel_dim) * 0.1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        m = (x @ self.T).view(-1, self.kernels, self.kernel_dim)
        l1 = (m.unsqueeze(0) - m.unsqueeze(1)).abs().sum(3)          # N x N x B
        o = torch.exp(-l1).sum(1) - 1.0                               # exclude the sample itself (exp(0) = 1)
        return torch.cat([x, o], dim=1)


class MinibatchStdDev(nn.Module):
    """Karras et al. 2018: append the mean over features of the batch standard deviation as one more channel."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        std = torch.sqrt(x.float().var(dim=0, unbiased=False) + 1e-8).mean().to(x.dtype)
        shape = (x.shape[0], 1, *x.shape[2:])
        return torch.cat([x, std.expand(shape)], dim=1)


def apply_spectral_norm(module: nn.Module) -> nn.Module:
    """Spectral normalisation (one power iteration per forward) on every conv and linear weight."""
    for child in list(module.modules()):
        if isinstance(child, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            nn.utils.parametrizations.spectral_norm(child)
    return module
