"""DiffAugment (Zhao et al. 2020): differentiable colour, translation and cutout, applied to real and fake
images alike before D. Policies are registered by name; randomness comes from the step's generator."""

from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F

from assay.core.registry import Registry

Augment = Callable[[torch.Tensor, torch.Generator], torch.Tensor]
AUGMENTS: Registry[Augment] = Registry("DiffAugment policy")


def _rand(gen: torch.Generator, *shape: int, like: torch.Tensor) -> torch.Tensor:
    return torch.rand(*shape, generator=gen, device=gen.device).to(like.device, like.dtype)


@AUGMENTS.register("color")
def color(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    n = x.shape[0]
    x = x + (_rand(gen, n, 1, 1, 1, like=x) - 0.5)                                  # brightness
    mean = x.mean(dim=1, keepdim=True)
    x = (x - mean) * (_rand(gen, n, 1, 1, 1, like=x) * 2) + mean                    # saturation
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    return (x - mean) * (_rand(gen, n, 1, 1, 1, like=x) + 0.5) + mean               # contrast


@AUGMENTS.register("translation")
def translation(x: torch.Tensor, gen: torch.Generator, ratio: float = 0.125) -> torch.Tensor:
    n, _, h, w = x.shape
    sh, sw = int(h * ratio + 0.5), int(w * ratio + 0.5)
    tx = (torch.randint(-sh, sh + 1, (n, 1, 1), generator=gen, device=gen.device)).to(x.device)
    ty = (torch.randint(-sw, sw + 1, (n, 1, 1), generator=gen, device=gen.device)).to(x.device)
    gb, gx, gy = torch.meshgrid(torch.arange(n, device=x.device), torch.arange(h, device=x.device),
                                torch.arange(w, device=x.device), indexing="ij")
    gx = torch.clamp(gx + tx + 1, 0, h + 1)
    gy = torch.clamp(gy + ty + 1, 0, w + 1)
    padded = F.pad(x, [1, 1, 1, 1, 0, 0, 0, 0])
    return padded.permute(0, 2, 3, 1).contiguous()[gb, gx, gy].permute(0, 3, 1, 2)


@AUGMENTS.register("cutout")
def cutout(x: torch.Tensor, gen: torch.Generator, ratio: float = 0.5) -> torch.Tensor:
    n, _, h, w = x.shape
    ch, cw = int(h * ratio + 0.5), int(w * ratio + 0.5)
    ox = torch.randint(0, h + (1 - ch % 2), (n, 1, 1), generator=gen, device=gen.device).to(x.device)
    oy = torch.randint(0, w + (1 - cw % 2), (n, 1, 1), generator=gen, device=gen.device).to(x.device)
    gb, gx, gy = torch.meshgrid(torch.arange(n, device=x.device), torch.arange(ch, device=x.device),
                                torch.arange(cw, device=x.device), indexing="ij")
    gx = torch.clamp(gx + ox - ch // 2, 0, h - 1)
    gy = torch.clamp(gy + oy - cw // 2, 0, w - 1)
    mask = torch.ones(n, h, w, dtype=x.dtype, device=x.device)
    mask[gb, gx, gy] = 0
    return x * mask.unsqueeze(1)


def policy(spec: str) -> Callable[[torch.Tensor, torch.Generator], torch.Tensor] | None:
    """``"color,translation,cutout"`` as one function applying them in order; None for an empty policy."""
    names = [s.strip() for s in spec.split(",") if s.strip()]
    if not names:
        return None
    fns = [AUGMENTS.get(n) for n in names]

    def apply(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        for fn in fns:
            x = fn(x, gen)
        return x
    return apply
