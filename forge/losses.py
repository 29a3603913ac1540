"""Adversarial losses by name. Each takes discriminator logits and returns (D loss, G loss) functions."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
import torch.nn.functional as F

from assay.core.registry import Registry

Tensor = torch.Tensor


@dataclass(frozen=True)
class Loss:
    """``d(real_logits, fake_logits)`` is minimised by D, ``g(fake_logits)`` by G."""

    d: Callable[[Tensor, Tensor], Tensor]
    g: Callable[[Tensor], Tensor]


LOSSES: Registry[Loss] = Registry("loss")


def _bce_d(real: Tensor, fake: Tensor) -> Tensor:
    """-log D(x) - log(1 - D(G(z))) with D = sigmoid(logit), in a numerically safe form."""
    return F.softplus(-real).mean() + F.softplus(fake).mean()


# Goodfellow 2014 minimax: G minimises log(1 - D(G(z))) = -softplus(logit)
LOSSES.register("minimax")(Loss(_bce_d, lambda fake: -F.softplus(fake).mean()))
# non-saturating: G maximises log D(G(z)), i.e. minimises softplus(-logit)
LOSSES.register("nonsaturating")(Loss(_bce_d, lambda fake: F.softplus(-fake).mean()))
LOSSES.register("wasserstein")(Loss(lambda real, fake: fake.mean() - real.mean(), lambda fake: -fake.mean()))
LOSSES.register("hinge")(Loss(lambda real, fake: F.relu(1 - real).mean() + F.relu(1 + fake).mean(),
                              lambda fake: -fake.mean()))
LOSSES.register("least_squares")(Loss(lambda real, fake: 0.5 * ((real - 1) ** 2).mean() + 0.5 * (fake ** 2).mean(),
                                      lambda fake: 0.5 * ((fake - 1) ** 2).mean()))
