"""StyleGAN 1 and 2 on the one loop: modulation, truncation, style mixing, fade-in, resume."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from assay.forge import checkpoint
from assay.forge.config import make_config
from assay.forge.networks.stylegan import StyleGenerator, mix_styles, modulated_conv
from assay.forge.schedule import blend, lod_at
from assay.forge.training import resume, train
from tests.helpers.faces import tiny_faces

torch.set_num_threads(1)
TINY = dict(batch=8, z_dim=16, log_every=1, sample_every=2, checkpoint_every=2, grid=4, threads="1")
SMALL = ["width=0.02", "mapping_layers=2"]


def _g(style: str = "modulated", arch: str = "skip") -> StyleGenerator:
    torch.manual_seed(0)
    return StyleGenerator(32, z_dim=16, width=0.02, mapping_layers=2, style=style, arch=arch).eval()


def test_modulation_and_demodulation_keep_unit_output_variance() -> None:
    torch.manual_seed(0)
    x = torch.randn(4, 64, 16, 16)
    weight = torch.randn(48, 64, 3, 3) * 5
    styles = torch.rand(4, 64) * 3 + 0.1
    out = modulated_conv(x, weight, styles)
    assert out.var().item() == pytest.approx(1.0, abs=0.1)
    assert modulated_conv(x, weight, styles, demodulate=False).var().item() > 10


@pytest.mark.parametrize("style", ["adain", "modulated"])
def test_truncation_psi_zero_gives_the_average_w_image_for_every_seed(style: str) -> None:
    g = _g(style)
    g.w_avg.normal_()
    with torch.no_grad():
        imgs = g.truncated(torch.randn(3, 16), None, 0.0)
        avg = g.synthesis(g.w_avg[None, None].expand(1, g.num_ws, -1))
        loose = g.truncated(torch.randn(3, 16), None, 1.0)
    assert torch.allclose(imgs, avg.expand_as(imgs), atol=1e-5)
    assert not torch.allclose(loose[0], loose[1])


def test_mixing_at_layer_k_takes_coarse_styles_from_a_and_fine_from_b() -> None:
    g = _g()
    with torch.no_grad():
        wa, wb = g.styles(torch.randn(1, 16)), g.styles(torch.randn(1, 16))
        mixed = mix_styles(wa, wb, 3)
        assert torch.equal(mixed[:, :3], wa[:, :3]) and torch.equal(mixed[:, 3:], wb[:, 3:])
        img = g.synthesis(mixed)
        assert not torch.allclose(img, g.synthesis(wa)) and not torch.allclose(img, g.synthesis(wb))
        # the coarse layers shape the 4x4 output: it depends only on A's styles there
        g.lod = 3.0
        assert torch.allclose(g.synthesis(mixed), g.synthesis(wa), atol=1e-6)


@pytest.mark.parametrize("arch", ["progressive", "skip"])
def test_fade_in_at_alpha_zero_equals_the_lower_resolution_upsampled(arch: str) -> None:
    g = _g("adain", arch)
    ws = g.styles(torch.randn(2, 16)).detach()
    with torch.no_grad():
        g.lod = 1.0                                               # 32 px fading in, alpha = 0
        out = g.synthesis(ws)
        low = out[:, :, ::2, ::2]
        top = g.synthesis.rgbs[-1]
        for p in top.parameters():
            p.add_(1.0)                                           # the 32 px layers do not matter yet
        assert torch.equal(g.synthesis(ws), out)
        if arch == "progressive":
            assert torch.equal(out, torch.nn.functional.interpolate(low, scale_factor=2, mode="nearest"))
        g.lod = 0.5
        assert not torch.allclose(g.synthesis(ws), out)


def test_resolution_schedule_and_real_blending() -> None:
    assert [lod_at(s, 32, 10, 8) for s in (0, 9, 10, 15, 20, 30, 35, 40, 99)] == \
        [2.0, 2.0, 2.0, 1.5, 1.0, 1.0, 0.5, 0.0, 0.0]
    x = torch.rand(1, 3, 8, 8)
    half = blend(x, 1.0)
    assert torch.allclose(half[:, :, ::2, ::2], torch.nn.functional.avg_pool2d(x, 2))
    assert torch.equal(blend(x, 0.0), x)


@pytest.mark.parametrize("model,extra", [("stylegan", ["grow=2", "grow_from=8"]),
                                         ("stylegan2", ["pl_weight=2", "pl_every=2", "r1_every=2",
                                                        "diffaug=color,translation"])])
def test_stylegan_resumes_bit_for_bit(ws, model: str, extra: list[str]) -> None:
    ds = tiny_faces(ws)
    sets = [*SMALL, *extra]
    full = train(ws, ds, make_config(model, 32, sets, steps=6, **TINY), progress=False)
    part = train(ws, ds, make_config(model, 32, sets, steps=3, **{**TINY, "checkpoint_every": 3}), progress=False)
    resume(ws, part, steps=6, progress=False)
    a, oa = checkpoint.load(Path(ws.resolve(full).path))
    b, ob = checkpoint.load(Path(ws.resolve(part).path))
    for prefix in ("G", "D", "EMA"):
        for k in a[prefix]:
            assert torch.equal(a[prefix][k], b[prefix][k]), f"{prefix}.{k}"
    assert a["G"]["w_avg"].abs().sum() > 0                       # the average w is tracked
    if model == "stylegan2":                                     # the path length mean resumes too
        assert oa["regs"]["PathLength"]["mean"] > 0
        assert torch.equal(oa["regs"]["PathLength"]["mean"], ob["regs"]["PathLength"]["mean"])
    from assay.core.fileio import read_jsonl
    rows = [r for r in read_jsonl(Path(ws.resolve(full).path) / "metrics.jsonl") if "d_loss" in r]
    if model == "stylegan":
        assert [r["lod"] for r in rows] == [2.0, 2.0, 2.0, 1.5, 1.0, 1.0]
    else:
        assert [("PathLength" in r, "R1" in r) for r in rows[:2]] == [(True, True), (False, False)]


def test_mix_interpolate_and_truncated_samples_from_a_run(ws, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from assay.cli import app
    from assay.core.imageio import decode
    from assay.core.imagesets import open_set
    from assay.forge.sampling import sample
    from assay.provenance.verify.report import verify_file

    run = train(ws, tiny_faces(ws), make_config("stylegan2", 32, SMALL, steps=2, **TINY), progress=False)
    base = ["--workspace", str(ws.root), "forge"]
    res = CliRunner().invoke(app, [*base, "mix", run, "--rows", "1,2", "--cols", "3,4,5", "--layer", "2",
                                   "--labels", "c2pa", "--out", str(tmp_path / "mix.png")])
    assert res.exit_code == 0, res.output
    grid = decode(tmp_path / "mix.png")
    assert grid.shape == (2 + 3 * 34, 2 + 4 * 34, 3)               # (rows + 1) x (cols + 1) tiles of 32 px
    assert verify_file(tmp_path / "mix.png", ws)["checks"]["c2pa_signature"]["status"] == "pass"
    res = CliRunner().invoke(app, [*base, "interpolate", run, "--seeds", "1", "2", "--steps", "5", "--labels", "xmp",
                                   "--out", str(tmp_path / "strip.png")])
    assert res.exit_code == 0, res.output
    assert decode(tmp_path / "strip.png").shape == (36, 2 + 5 * 34, 3)
    dcgan = train(ws, tiny_faces(ws, name="t2"), make_config("dcgan", 32, steps=1, batch=8, g_ch=4, d_ch=4, z_dim=16),
                  progress=False)
    res = CliRunner().invoke(app, [*base, "mix", dcgan, "--rows", "1", "--cols", "2"])
    assert res.exit_code == 1 and "no style layers to mix" in res.output
    avg = open_set(ws, sample(ws, run, 3, truncation=0.0, labels="xmp", progress=False))
    pixels = [decode(avg.path(r)) for r in avg.select(None)]
    assert all((p == pixels[0]).all() for p in pixels)


def test_lazy_regularisation_rescales_adam_as_stylegan2_does() -> None:
    from assay.forge.training import GANTrainer

    cfg = make_config("stylegan2", 32, [*SMALL, "pl_weight=2", "pl_every=4", "r1_every=16"], **TINY)
    t = GANTrainer(cfg)
    (d,), (g,) = t.opt_d.param_groups, t.opt_g.param_groups
    c_d, c_g = 16 / 17, 4 / 5
    assert d["lr"] == pytest.approx(cfg.lr_d * c_d) and g["lr"] == pytest.approx(cfg.lr_g * c_g)
    assert d["betas"] == pytest.approx((cfg.beta1 ** c_d, cfg.beta2 ** c_d))
    assert g["betas"] == pytest.approx((cfg.beta1 ** c_g, cfg.beta2 ** c_g))
    eager = GANTrainer(make_config("stylegan2", 32, [*SMALL, "r1_every=1"], **TINY))
    assert eager.opt_d.param_groups[0]["lr"] == cfg.lr_d                    # nothing lazy: unchanged
    assert eager.opt_g.param_groups[0]["betas"] == (cfg.beta1, cfg.beta2)


def test_path_length_gradient_reaches_the_mapping_network() -> None:
    from assay.forge.networks.stylegan import PathLength
    from assay.forge.regularizers import GContext

    g = _g().train()
    gen = torch.Generator().manual_seed(0)
    reg = PathLength(2.0)
    reg.mean = torch.tensor(5.0)                                # far from the lengths: a non-zero penalty
    ctx = GContext(g, torch.nn.Identity(), {"z": torch.randn(4, 16)}, torch.zeros(1), torch.zeros(1), gen)
    reg.g_penalty(ctx).backward()
    mapping = [p.grad for p in g.mapping.parameters()]
    assert all(gr is not None for gr in mapping) and sum(gr.abs().sum().item() for gr in mapping) > 0
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in g.synthesis.parameters())
