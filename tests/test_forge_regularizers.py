"""Losses, regularisers and DiffAugment against values worked out by hand."""

from __future__ import annotations

import math

import pytest
import torch

from assay.core.config import to_dict
from assay.forge.config import make_config
from assay.forge.diffaug import policy
from assay.forge.losses import LOSSES
from assay.forge.regularizers import (
    GradientPenalty,
    WeightClipping,
    active,
    gradient_penalty,
    r1_penalty,
)


def _linear_critic(w: torch.Tensor, b: float = 0.3):
    return lambda x: x.flatten(1) @ w + b


def test_gradient_penalty_equals_the_analytic_value_on_a_linear_critic() -> None:
    torch.manual_seed(0)
    w = torch.randn(3 * 8 * 8) * 0.2
    real, fake = torch.randn(5, 3, 8, 8), torch.randn(5, 3, 8, 8)
    alpha = torch.rand(5, 1, 1, 1)
    expected = (w.norm() - 1) ** 2                 # grad of w.x + b is w at every interpolate
    assert gradient_penalty(_linear_critic(w), real, fake, alpha).item() == pytest.approx(expected.item(), rel=1e-5)
    gen = torch.Generator().manual_seed(1)
    assert GradientPenalty(10.0).penalty(_linear_critic(w), real, fake, gen).item() == \
        pytest.approx(10 * expected.item(), rel=1e-5)


def test_r1_penalty_equals_the_squared_gradient_norm() -> None:
    w = torch.linspace(-1, 1, 3 * 4 * 4)
    real = torch.randn(3, 3, 4, 4)
    assert r1_penalty(_linear_critic(w), real).item() == pytest.approx(float(w.pow(2).sum()), rel=1e-5)


def test_gradient_penalty_is_differentiable_for_the_critic() -> None:
    w = torch.randn(12, requires_grad=True)
    gp = gradient_penalty(_linear_critic(w), torch.randn(4, 12), torch.randn(4, 12), torch.rand(4, 1))
    gp.backward()
    expected = 2 * (w.norm() - 1) * w / w.norm()
    assert torch.allclose(w.grad, expected.detach(), atol=1e-5)


def test_weight_clipping_keeps_weights_in_range() -> None:
    layer = torch.nn.Linear(10, 10)
    with torch.no_grad():
        layer.weight.mul_(100)
    WeightClipping(0.01).after_step(layer)
    assert layer.weight.abs().max().item() <= 0.01
    assert layer.weight.abs().max().item() == pytest.approx(0.01)


def test_family_presets_turn_on_their_regularisers() -> None:
    assert [type(r).__name__ for r in active(to_dict(make_config("wgan")))] == ["WeightClipping"]
    assert [type(r).__name__ for r in active(to_dict(make_config("wgan-gp")))] == ["GradientPenalty"]
    assert active(to_dict(make_config("dcgan"))) == []
    assert [type(r).__name__ for r in active(to_dict(make_config("dcgan", sets=["r1_gamma=10"])))] == ["R1"]


@pytest.mark.parametrize("name,real,fake,d,g", [
    ("minimax", 0.0, 0.0, 2 * math.log(2), -math.log(2)),
    ("nonsaturating", 0.0, 0.0, 2 * math.log(2), math.log(2)),
    ("wasserstein", 2.0, 0.5, -1.5, -0.5),
    ("hinge", 0.5, -0.25, 0.5 + 0.75, 0.25),
    ("least_squares", 1.0, 0.0, 0.0, 0.5),
])
def test_losses(name: str, real: float, fake: float, d: float, g: float) -> None:
    loss = LOSSES.get(name)
    r, f = torch.full((4,), real), torch.full((4,), fake)
    assert loss.d(r, f).item() == pytest.approx(d, abs=1e-6)
    assert loss.g(f).item() == pytest.approx(g, abs=1e-6)


def test_diffaugment_is_reproducible_and_changes_images() -> None:
    aug = policy("color,translation,cutout")
    x = torch.rand(4, 3, 16, 16) * 2 - 1
    a = aug(x, torch.Generator().manual_seed(3))
    b = aug(x, torch.Generator().manual_seed(3))
    c = aug(x, torch.Generator().manual_seed(4))
    assert a.shape == x.shape and torch.equal(a, b) and not torch.equal(a, c)
    cut = policy("cutout")(torch.ones(2, 3, 16, 16), torch.Generator().manual_seed(0))
    assert (cut == 0).float().mean().item() > 0.1      # a square is cut out of each image
    assert policy("") is None


def test_diffaugment_passes_gradients() -> None:
    x = torch.rand(2, 3, 8, 8, requires_grad=True)
    policy("color,translation,cutout")(x, torch.Generator().manual_seed(0)).sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
