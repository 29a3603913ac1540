"""What a family feeds its generator, by name: latents (and conditions), StyleGAN latents with
style mixing and noise, or low-resolution images for super-resolution. The loop calls
``G(**inputs(real, cond, gen))`` and never assumes a signature."""

from __future__ import annotations

from typing import Any, Sequence

import torch

from assay.core.registry import Registry
from assay.forge.data import FaceBatches, to_float
from assay.forge.srgan import downsample

Inputs = dict[str, Any]
INPUTS: Registry[type] = Registry("generator input")


def _normal(n: int, dim: int, gen: torch.Generator, like: torch.Tensor) -> torch.Tensor:
    return torch.randn(n, dim, generator=gen, device=gen.device).to(like.device)


@INPUTS.register("latent", summary="z (and the condition of a conditional run)")
class Latent:
    def __init__(self, z_dim: int, classes: Sequence[int] = ()) -> None:
        self.z_dim, self.classes = z_dim, tuple(classes)

    def __call__(self, real: torch.Tensor, cond: torch.Tensor | None, gen: torch.Generator) -> Inputs:
        return {"z": _normal(real.shape[0], self.z_dim, gen, real), "cond": cond}

    def fixed(self, n: int, seed: int, data: FaceBatches) -> Inputs:
        """The inputs of every progress grid: latents from (seed), conditions cycling through the classes."""
        z = torch.randn(n, self.z_dim, generator=torch.Generator().manual_seed(seed + 7919))
        cond = torch.stack([torch.arange(n) % k for k in self.classes], dim=1) if self.classes else None
        return {"z": z, "cond": cond}


@INPUTS.register("style", summary="z, a second z for style mixing with probability `mixing`, and the noise generator")
class StyleLatent(Latent):
    def __init__(self, z_dim: int, mixing: float = 0.9) -> None:
        super().__init__(z_dim)
        self.mixing = mixing

    def __call__(self, real: torch.Tensor, cond: torch.Tensor | None, gen: torch.Generator) -> Inputs:
        n = real.shape[0]
        mix = float(torch.rand(1, generator=gen, device=gen.device)) < self.mixing
        return {"z": _normal(n, self.z_dim, gen, real), "z2": _normal(n, self.z_dim, gen, real) if mix else None,
                "noise": gen}

    def fixed(self, n: int, seed: int, data: FaceBatches) -> Inputs:
        return {"z": super().fixed(n, seed, data)["z"]}


@INPUTS.register("lowres", summary="the real batch downsampled by `sr_factor` (antialiased bicubic)")
class LowRes:
    def __init__(self, factor: int = 4) -> None:
        self.factor = factor

    def __call__(self, real: torch.Tensor, cond: torch.Tensor | None, gen: torch.Generator) -> Inputs:
        return {"x": downsample(real, self.factor)}

    def fixed(self, n: int, seed: int, data: FaceBatches) -> Inputs:
        """The first ``n`` training images, downsampled."""
        images, _ = data.batch(torch.arange(min(n, len(data))))
        return {"x": downsample(to_float(images), self.factor)}


def to_device(inputs: Inputs, device: torch.device) -> Inputs:
    return {k: v.to(device) if isinstance(v, torch.Tensor) else v for k, v in inputs.items()}
