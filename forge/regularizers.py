"""Regularisers by name, on the discriminator side (gradient penalty, R1, weight clipping) and on the
generator side (a family's own, in its module: StyleGAN's path length, SRGAN's content losses).

Each is active when its strength in the run's settings is > 0. A D-side regulariser may add a
penalty to the D loss (``penalty``) and/or act on D after its optimiser step (``after_step``); a
G-side one adds ``g_penalty`` to the G loss. Lazy regularisation (Karras et al. 2020): with
``every`` = k > 1 the penalty is computed on every k-th step only, scaled by k, and that side's Adam
runs with lr x c and betas ** c, c = k / (k + 1), as StyleGAN 2 does (``lazy_scaled``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping

import torch
from torch import nn

from assay.core.registry import Registry

Critic = Callable[[torch.Tensor], torch.Tensor]


@dataclass
class GContext:
    """What a G-side regulariser may use: the networks, the step's inputs, fakes, reals and generator."""

    g_net: nn.Module
    d_net: nn.Module
    inputs: dict[str, Any]
    fake: torch.Tensor
    real: torch.Tensor
    gen: torch.Generator


class Regularizer:
    """Base: no penalty, nothing after the step. ``key`` names the setting holding the strength,
    ``every_key`` the one holding the lazy interval; ``side`` is "D" or "G"."""

    key = ""
    every_key = ""
    side = "D"

    def __init__(self, strength: float, every: int = 1) -> None:
        self.strength, self.every = strength, every

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> "Regularizer":
        return cls(float(settings[cls.key]), int(settings.get(cls.every_key, 1)) if cls.every_key else 1)

    def due(self, step: int) -> bool:
        return step % self.every == 0

    def penalty(self, critic: Critic, real: torch.Tensor, fake: torch.Tensor, gen: torch.Generator) -> torch.Tensor | None:
        return None

    def g_penalty(self, ctx: GContext) -> torch.Tensor | None:
        return None

    def after_step(self, d: nn.Module) -> None:
        return None

    def state_dict(self) -> dict[str, torch.Tensor]:
        return {}

    def load_state_dict(self, state: Mapping[str, torch.Tensor]) -> None:
        return None


REGULARIZERS: Registry[type[Regularizer]] = Registry("regulariser", modules=["assay.forge.networks"])


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
    key, every_key = "r1_gamma", "r1_every"

    def penalty(self, critic, real, fake, gen):
        return 0.5 * self.strength * r1_penalty(critic, real)


@REGULARIZERS.register("weight_clipping")
class WeightClipping(Regularizer):
    key = "clip"

    @torch.no_grad()
    def after_step(self, d: nn.Module) -> None:
        for p in d.parameters():
            p.clamp_(-self.strength, self.strength)


def active(settings: Mapping[str, Any]) -> list[Regularizer]:
    """The regularisers the settings (a run config as a dict) turn on, in registry order."""
    out = []
    for name in REGULARIZERS.names():
        cls = REGULARIZERS.get(name)
        if float(settings[cls.key]) > 0:
            out.append(cls.from_settings(settings))
    return out


def lazy_scaled(lr: float, betas: tuple[float, float], regs: list[Regularizer]) -> tuple[float, tuple[float, float]]:
    """The learning rate and betas of one side's optimiser under its lazy regularisers (Karras et al. 2020):
    with interval k > 1, c = k / (k + 1) and (lr * c, betas ** c); unchanged when none is lazy."""
    every = max((r.every for r in regs), default=1)
    if every <= 1:
        return lr, betas
    c = every / (every + 1)
    return lr * c, (betas[0] ** c, betas[1] ** c)
