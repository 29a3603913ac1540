"""Optimisers by name: ``OPTIMIZERS.get(name)(params, lr, betas)``."""

from __future__ import annotations

from typing import Callable, Iterable

import torch

from assay.core.registry import Registry

Factory = Callable[[Iterable[torch.nn.Parameter], float, tuple[float, float]], torch.optim.Optimizer]
OPTIMIZERS: Registry[Factory] = Registry("optimizer")


@OPTIMIZERS.register("adam")
def adam(params, lr: float, betas: tuple[float, float]) -> torch.optim.Optimizer:
    return torch.optim.Adam(params, lr=lr, betas=betas)


@OPTIMIZERS.register("rmsprop")
def rmsprop(params, lr: float, betas: tuple[float, float]) -> torch.optim.Optimizer:
    """RMSprop (Arjovsky 2017's choice for WGAN); ``betas`` do not apply."""
    return torch.optim.RMSprop(params, lr=lr)
