"""What a family feeds its generator, by name: latents (and conditions) here; a family's own kinds
(StyleGAN's latents with style mixing and noise, SRGAN's low-resolution images) in its module of
``forge.networks``. The loop calls ``G(**inputs(real, cond, gen))`` and never assumes a signature."""

from __future__ import annotations

from typing import Any, Sequence

import torch

from assay.core.registry import Registry
from assay.forge.data import FaceBatches

Inputs = dict[str, Any]
INPUTS: Registry[type] = Registry("generator input", modules=["assay.forge.networks"])


def normal(n: int, dim: int, gen: torch.Generator, like: torch.Tensor) -> torch.Tensor:
    """N x dim standard normal draws from ``gen``, on ``like``'s device."""
    return torch.randn(n, dim, generator=gen, device=gen.device).to(like.device)


@INPUTS.register("latent", summary="z (and the condition of a conditional run)")
class Latent:
    def __init__(self, z_dim: int, classes: Sequence[int] = ()) -> None:
        self.z_dim, self.classes = z_dim, tuple(classes)

    def __call__(self, real: torch.Tensor, cond: torch.Tensor | None, gen: torch.Generator) -> Inputs:
        return {"z": normal(real.shape[0], self.z_dim, gen, real), "cond": cond}

    def fixed(self, n: int, seed: int, data: FaceBatches) -> Inputs:
        """The inputs of every progress grid: latents from (seed), conditions cycling through the classes."""
        z = torch.randn(n, self.z_dim, generator=torch.Generator().manual_seed(seed + 7919))
        cond = torch.stack([torch.arange(n) % k for k in self.classes], dim=1) if self.classes else None
        return {"z": z, "cond": cond}


def to_device(inputs: Inputs, device: torch.device) -> Inputs:
    return {k: v.to(device) if isinstance(v, torch.Tensor) else v for k, v in inputs.items()}
