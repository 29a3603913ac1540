"""Optimisers by name: ``make(params, lr, cfg)``."""

from __future__ import annotations

from typing import Callable, Iterable

import torch

from assay.core.registry import Registry
from forge.config import GanConfig

OPTIMIZERS: Registry[Callable[[Iterable[torch.nn.Parameter], float, GanConfig], torch.optim.Optimizer]] = \
    Registry("optimizer")


@OPTIMIZERS.register("adam")
def adam(params, lr: float, cfg: GanConfig) -> torch.optim.Optimizer:
    return torch.optim.Adam(params, lr=lr, betas=(cfg.beta1, cfg.beta2))


@OPTIMIZERS.register("rmsprop")
def rmsprop(params, lr: float, cfg: GanConfig) -> torch.optim.Optimizer:
    return torch.optim.RMSprop(params, lr=lr)
