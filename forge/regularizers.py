"""Discriminator regularisers by name: gradient penalty, R1 and weight clipping.

Each is active when its strength in the config is > 0. A regulariser may add a penalty to the
D loss (``penalty``) and/or act on D after its optimiser step (``after_step``).
"""

from __future__ import annotations

from typing import Callable

import torch
from torch import nn

from assay.core.registry import Registry
from forge.config import GanConfig

Critic = Callable[[torch.Tensor], torch.Tensor]


class Regularizer:
    """Base: no penalty, nothing after the step. ``key`` names the config field holding the strength."""

    key = ""

    def __init__(self, strength: float) -> None:
        self.strength = strength

    def penalty(self, critic: Critic, real: torch.Tensor, fake: torch.Tensor, gen: torch.Generator) -> torch.Tensor | None:
        return None

    def after_step(self, d: nn.Module) -> None:
        return None


REGULARIZERS: Registry[type[Regularizer]] = Registry("regulariser")


def gradient_penalty(critic: Critic, real: torch.Tensor, fake: torch.Tensor, alpha: torch.Tensor) -> torch.Tensor:
    """Gulrajani 2017: mean over the batch of (||grad_x critic(x_hat)||_2 - 1)^2 at x_hat = a*real + (1-a)*fake."""
    x_hat = (alpha * real + (1 - alpha) * fake).detach().requires_grad_(True)
    out = critic(x_hat)
    (grad,) = torch.autograd.grad(out.sum(), x_hat, create_graph=True)
    return ((grad.flatten(1).norm(2, dim=1) - 1) ** 2).mean()


def r1_penalty(critic: Critic, real: torch.Tensor) -> torch.Tensor:
    """Mescheder 2018: mean over the batch of ||grad_x D(x)||^2 on real data (scaled by gamma/2 by the caller)."""
    x = real.detach().requires_grad_(True)
    (grad,) = torch.autograd.grad(critic(x).sum(), x, create_graph=True)
    return grad.flatten(1).pow(2).sum(1).mean()


@REGULARIZERS.register("gradient_penalty")
class GradientPenalty(Regularizer):
    key = "gp_lambda"

    def penalty(self, critic, real, fake, gen):
        alpha = torch.rand(real.shape[0], 1, 1, 1, generator=gen, device=gen.device).to(real.device, real.dtype)
        return self.strength * gradient_penalty(critic, real, fake, alpha)


@REGULARIZERS.register("r1")
class R1(Regularizer):
    key = "r1_gamma"

    def penalty(self, critic, real, fake, gen):
        return 0.5 * self.strength * r1_penalty(critic, real)


@REGULARIZERS.register("weight_clipping")
class WeightClipping(Regularizer):
    key = "clip"

    @torch.no_grad()
    def after_step(self, d: nn.Module) -> None:
        for p in d.parameters():
            p.clamp_(-self.strength, self.strength)


def active(cfg: GanConfig) -> list[Regularizer]:
    """The regularisers a config turns on, in registry order."""
    out = []
    for name in REGULARIZERS.names():
        cls = REGULARIZERS.get(name)
        strength = float(getattr(cfg, cls.key))
        if strength > 0:
            out.append(cls(strength))
    return out
