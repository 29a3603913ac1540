"""The moving average of G's weights that sampling uses, with StyleGAN 2's ramp-up.

``ema`` is the decay per generator step once warmed up; its half-life in images is
``batch * ln 0.5 / ln ema``. With ``ema_rampup`` = r > 0 the half-life is capped at r times the
images seen so far (Karras et al. 2020, ``ema_rampup``), so early in a run the average follows G
closely and never holds a blend dominated by the untrained initial weights.
"""

from __future__ import annotations

import math

import torch
from torch import nn


def ema_beta(decay: float, batch: int, images_seen: int, rampup: float) -> float:
    """The EMA's decay for this step: ``decay``, or less while ``rampup`` x images seen is below its half-life."""
    if rampup <= 0:
        return decay
    half_life = batch * math.log(0.5) / math.log(decay)
    half_life = min(half_life, images_seen * rampup)
    return 0.5 ** (batch / max(half_life, 1e-8))


@torch.no_grad()
def update_ema(ema: nn.Module, net: nn.Module, beta: float) -> None:
    """ema <- beta * ema + (1 - beta) * net for parameters; buffers are copied."""
    torch._foreach_lerp_(list(ema.parameters()), [p.detach() for p in net.parameters()], 1.0 - beta)
    for b_ema, b in zip(ema.buffers(), net.buffers()):
        b_ema.copy_(b)
