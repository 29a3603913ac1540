"""The resolution schedule of progressive growing (Karras et al. 2018) as a level of detail per step.

``lod`` 0 is the full resolution, 1 half of it, and so on; a fraction fades the next resolution in.
Training starts at ``grow_from`` px for ``grow`` steps, then alternately fades the next resolution
in over ``grow`` steps and trains it for ``grow`` steps. The level is a pure function of the step,
so a resumed run grows exactly as an uninterrupted one.
"""

from __future__ import annotations

import math
from typing import Iterable

import torch
import torch.nn.functional as F


def lod_at(step: int, size: int, grow: int, grow_from: int) -> float:
    """The level of detail at ``step`` (0 when growing is off)."""
    if grow <= 0:
        return 0.0
    phase, into = divmod(step, grow)
    lod = math.log2(size / grow_from) - phase // 2 - (into / grow if phase % 2 else 0.0)
    return max(0.0, lod)


def blend(x: torch.Tensor, lod: float) -> torch.Tensor:
    """Real images as the networks see them at ``lod``: at 1/2**floor(lod) resolution, crossfaded with the
    next lower one by the fraction of ``lod``, and shown at full size (nearest upsampling)."""
    if lod <= 0:
        return x
    level, frac = int(math.floor(lod)), lod - math.floor(lod)
    low = F.avg_pool2d(x, 2 ** level) if level else x
    if frac:
        low = torch.lerp(low, F.interpolate(F.avg_pool2d(low, 2), scale_factor=2, mode="nearest"), frac)
    return F.interpolate(low, scale_factor=2 ** level, mode="nearest") if level else low


def set_lod(modules: Iterable[torch.nn.Module], lod: float) -> None:
    for m in modules:
        m.lod = lod


def check_growable(modules: Iterable[torch.nn.Module]) -> None:
    """Progressive growing needs networks with a level of detail; a ValueError naming those without."""
    missing = [type(m).__name__ for m in modules if not hasattr(m, "lod")]
    if missing:
        raise ValueError(f"grow needs networks with a level of detail (g.name=style, "
                         f"d.name=progressive); {', '.join(missing)} has none")
