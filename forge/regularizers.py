"""Regularisers by name, on the discriminator side (gradient penalty, R1, weight clipping) and on the
generator side (path length, and the content losses of super-resolution: pixel MSE and a perceptual
loss in VGG19's or the discriminator's feature space).

Each is active when its strength in the run's settings is > 0. A D-side regulariser may add a
penalty to the D loss (``penalty``) and/or act on D after its optimiser step (``after_step``); a
G-side one adds ``g_penalty`` to the G loss. Lazy regularisation (Karras et al. 2020): with
``every`` = k > 1 the penalty is computed on every k-th step only, scaled by k.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Mapping

import torch
import torch.nn.functional as F
from torch import nn

from assay.core.registry import Registry
from assay.forge.srgan import vgg19_features

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


@REGULARIZERS.register("path_length")
class PathLength(Regularizer):
    """Karras et al. 2020: E[(||J_w^T y||_2 - a)^2] for random image-space directions y, with a the
    running mean of the lengths; pulls G toward a mapping from W with a fixed Jacobian norm."""

    key, every_key, side = "pl_weight", "pl_every", "G"
    decay = 0.01

    def __init__(self, strength: float, every: int = 1) -> None:
        super().__init__(strength, every)
        self.mean = torch.zeros(())

    def g_penalty(self, ctx: GContext) -> torch.Tensor:
        g, gen = ctx.g_net, ctx.gen
        z = ctx.inputs["z"][: max(1, ctx.inputs["z"].shape[0] // 2)]
        ws = g.mapping(z).detach()[:, None].repeat(1, g.num_ws, 1).requires_grad_(True)
        img = g.synthesis(ws, gen)
        y = torch.randn(img.shape, generator=gen, device=gen.device).to(img.device, img.dtype)
        y = y / math.sqrt(img.shape[2] * img.shape[3])
        (grad,) = torch.autograd.grad((img * y).sum(), ws, create_graph=True)
        lengths = grad.float().pow(2).sum(2).mean(1).sqrt()
        self.mean = self.mean.to(lengths.device)
        self.mean = self.mean.lerp(lengths.mean().detach(), self.decay)
        return self.strength * (lengths - self.mean).pow(2).mean()

    def state_dict(self) -> dict[str, torch.Tensor]:
        return {"mean": self.mean.detach().cpu()}

    def load_state_dict(self, state: Mapping[str, torch.Tensor]) -> None:
        self.mean = state["mean"].clone()


@REGULARIZERS.register("pixel")
class PixelLoss(Regularizer):
    """Content loss: mean squared error between the generated and the real image (super-resolution)."""

    key, side = "pixel_weight", "G"

    def g_penalty(self, ctx: GContext) -> torch.Tensor:
        return self.strength * F.mse_loss(ctx.fake.float(), ctx.real.float())


@REGULARIZERS.register("perceptual")
class PerceptualLoss(Regularizer):
    """Content loss: mean squared error between features of the generated and the real image, in VGG19's
    space (relu5_4, Ledig 2017) when ``vgg_weights`` names a local file, else in the discriminator's."""

    key, side = "perceptual_weight", "G"

    def __init__(self, strength: float, every: int = 1, vgg_weights: str = "") -> None:
        super().__init__(strength, every)
        self.vgg = vgg19_features(vgg_weights) if vgg_weights else None

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> "Regularizer":
        return cls(float(settings[cls.key]), vgg_weights=str(settings.get("vgg_weights", "")))

    def g_penalty(self, ctx: GContext) -> torch.Tensor:
        features = ctx.d_net.features if self.vgg is None else self.vgg.to(ctx.fake.device)
        with torch.no_grad():
            target = features(ctx.real)
        return self.strength * F.mse_loss(features(ctx.fake).float(), target.float())


def active(settings: Mapping[str, Any]) -> list[Regularizer]:
    """The regularisers the settings (a run config as a dict) turn on, in registry order."""
    out = []
    for name in REGULARIZERS.names():
        cls = REGULARIZERS.get(name)
        if float(settings[cls.key]) > 0:
            out.append(cls.from_settings(settings))
    return out
