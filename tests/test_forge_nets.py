"""Networks: shapes at every size, spectral norm, minibatch layers, conditioning."""

from __future__ import annotations

import pytest
import torch

from assay.core.errors import UnknownNameError
from assay.forge.config import make_config

torch.set_num_threads(1)


@pytest.mark.parametrize("size", [32, 64, 128])
@pytest.mark.parametrize("model", ["vanilla", "dcgan", "wgan-gp", "cgan"])
def test_output_shapes(model: str, size: int) -> None:
    cfg = make_config(model, size, g_ch=4, d_ch=4, z_dim=16)
    g, d = cfg.networks([2, 6, 5] if cfg.cond_keys else [])
    cond = torch.tensor([[0, 1, 2], [1, 5, 4], [1, 0, 0]]) if cfg.cond_keys else None
    x = g(torch.randn(3, 16), cond)
    assert x.shape == (3, 3, size, size)
    assert x.min() >= -1 and x.max() <= 1
    assert d(x, cond).shape == (3,)


def test_spectral_norm_brings_top_singular_value_to_one() -> None:
    cfg = make_config("dcgan", 32, sets=["spectral_norm=true", "d_norm=none"], d_ch=8)
    _, d = cfg.networks()
    with torch.no_grad():
        d.features[0].parametrizations.weight.original.mul_(25.0)   # far from 1 before normalising
        for _ in range(200):                                      # one power iteration per forward
            d(torch.randn(1, 3, 32, 32))
    d.eval()
    for module in (d.features[0], d.features[2], d.score):
        w = module.weight.reshape(module.weight.shape[0], -1)
        assert torch.linalg.matrix_norm(w, 2).item() == pytest.approx(1.0, abs=0.05)
    raw = d.features[0].parametrizations.weight.original
    assert torch.linalg.matrix_norm(raw.reshape(raw.shape[0], -1), 2).item() > 2.0


def _score_of_first(d: torch.nn.Module, batch: torch.Tensor) -> float:
    with torch.no_grad():
        return float(d(batch)[0])


@pytest.mark.parametrize("model", ["vanilla", "dcgan"])
def test_minibatch_discrimination_sees_an_identical_batch(model: str) -> None:
    torch.manual_seed(0)
    varied = torch.rand(6, 3, 32, 32) * 2 - 1
    same = varied[:1].repeat(6, 1, 1, 1)
    on = make_config(model, 32, sets=["mbdisc=8", "d_norm=none"], d_ch=8)
    off = make_config(model, 32, sets=["d_norm=none"], d_ch=8)
    _, d_on = on.networks()
    _, d_off = off.networks()
    with torch.no_grad():
        d_on.mbdisc.T.normal_(0, 0.05)
    assert _score_of_first(d_off, varied) == pytest.approx(_score_of_first(d_off, same), abs=1e-5)
    assert abs(_score_of_first(d_on, varied) - _score_of_first(d_on, same)) > 1e-3


def test_minibatch_stddev_adds_the_batch_spread() -> None:
    from assay.forge.layers import MinibatchStdDev

    x = torch.randn(5, 4, 8, 8)
    out = MinibatchStdDev()(x)
    assert out.shape == (5, 5, 8, 8)
    assert torch.allclose(out[:, 4], torch.full((5, 8, 8), float(x.var(0, unbiased=False).add(1e-8).sqrt().mean())))
    assert MinibatchStdDev()(x[:1].repeat(5, 1, 1, 1))[:, 4].abs().max() < 1e-3


def test_projection_discriminator_depends_on_the_label() -> None:
    cfg = make_config("cgan", 32, sets=["projection=true"], d_ch=8)
    _, d = cfg.networks([2, 6, 5])
    d.eval()
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        d.embed.weight.normal_()
        a = d(x, torch.tensor([[0, 0, 0], [0, 0, 0]]))
        b = d(x, torch.tensor([[1, 0, 0], [1, 0, 0]]))
    assert not torch.allclose(a, b)


def test_bad_size_is_refused_with_a_reason() -> None:
    with pytest.raises(ValueError, match="size must be one of"):
        make_config("dcgan", 48)
    with pytest.raises(UnknownNameError, match="unknown GAN family 'stylegan3'"):
        make_config("stylegan3", 32)


def test_condition_values_as_prepare_writes_them_or_as_numbers() -> None:
    from assay.forge.conditions import CONDITIONS, parse_condition, row_indices

    keys = [CONDITIONS.get(k) for k in ("gender", "age", "race")]
    assert row_indices({"age": 25, "gender": "female", "race": "asian", "age_bucket": "20-34"}, keys) == [1, 2, 2]
    assert row_indices({"age": 70, "gender": 0, "race": 4}, keys) == [0, 5, 4]
    assert row_indices({"age": 30, "gender": 3, "race": 1}, keys) is None
    assert parse_condition(["gender=Female", "age=35-49", "race=1"], keys) == {"gender": 1, "age": 3, "race": 1}
    assert parse_condition(["age=8"], keys) == {"age": 0}
    with pytest.raises(ValueError, match="condition race: unknown value 'martian'; expected one of white"):
        parse_condition(["race=martian"], keys)
