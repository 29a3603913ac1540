"""SRGAN on the one loop: shapes, content losses, resume, bicubic baseline, upscaled files as AI edits."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from assay.forge import checkpoint
from assay.forge.config import make_config
from assay.forge.networks.srgan import (
    SRResNet,
    VGGDiscriminator,
    WeightsError,
    bicubic_up,
    downsample,
    vgg19_features,
)
from assay.forge.training import resume, train
from assay.forge.upscale import psnr, upscale
from tests.helpers.faces import tiny_faces

torch.set_num_threads(1)
TINY = dict(batch=4, g_ch=8, d_ch=4, sr_blocks=2, log_every=1, sample_every=2, checkpoint_every=2, grid=4, threads="1")


@pytest.mark.parametrize("low,factor", [(16, 4), (32, 4), (16, 2)])
def test_srgan_output_shapes(low: int, factor: int) -> None:
    g, d = SRResNet(factor, ch=8, blocks=2), VGGDiscriminator(ch=4)
    out = g(torch.rand(2, 3, low, low) * 2 - 1)
    assert out.shape == (2, 3, low * factor, low * factor) and out.abs().max() <= 1
    assert d(out).shape == (2,)
    with pytest.raises(ValueError, match="power of 2"):
        SRResNet(3)


def test_bicubic_psnr_on_a_known_pair() -> None:
    a = np.zeros((8, 8, 3), np.uint8)
    b = a.copy()
    b[0, 0, 0] = 255                                           # MSE = 255^2 / 192 -> PSNR = 10 log10(192)
    assert psnr(a, b) == pytest.approx(10 * np.log10(192), rel=1e-6)
    smooth = torch.linspace(-1, 1, 64).repeat(64, 1)[None, None].repeat(1, 3, 1, 1)
    base = bicubic_up(downsample(smooth, 4), 4)
    assert base.shape == smooth.shape and (base - smooth).abs().max() < 0.05   # a ramp survives bicubic x4


def test_vgg_weights_are_checked_and_loaded(tmp_path: Path) -> None:
    from safetensors.torch import save_file
    from torchvision.models import vgg19

    with pytest.raises(WeightsError, match="not found"):
        vgg19_features(tmp_path / "missing.safetensors")
    bad = tmp_path / "bad.safetensors"
    save_file({"features.0.weight": torch.zeros(1)}, str(bad))
    with pytest.raises(WeightsError, match="not a VGG19 state dict"):
        vgg19_features(bad)
    torch.manual_seed(0)
    good = tmp_path / "vgg19.safetensors"
    state = {f"features.{k}": v.contiguous() for k, v in vgg19(weights=None).features[:36].state_dict().items()}
    save_file(state, str(good))
    net = vgg19_features(good)
    assert net(torch.zeros(1, 3, 32, 32)).shape == (1, 512, 2, 2)
    assert torch.equal(net.net[0].weight, state["features.0.weight"])


def test_srgan_trains_with_its_content_losses_and_resumes_bit_for_bit(ws) -> None:
    ds = tiny_faces(ws, size=64)
    full = train(ws, ds, make_config("srgan", 64, steps=4, **TINY), progress=False)
    part = train(ws, ds, make_config("srgan", 64, steps=2, **TINY), progress=False)
    resume(ws, part, steps=4, progress=False)
    a, _ = checkpoint.load(Path(ws.resolve(full).path))
    b, _ = checkpoint.load(Path(ws.resolve(part).path))
    for prefix in ("G", "D"):
        for k in a[prefix]:
            assert torch.equal(a[prefix][k], b[prefix][k]), f"{prefix}.{k}"
    from assay.core.fileio import read_jsonl
    rows = [r for r in read_jsonl(Path(ws.resolve(full).path) / "metrics.jsonl") if "d_loss" in r]
    assert all(r["PixelLoss"] > 0 and r["PerceptualLoss"] >= 0 for r in rows)


def test_an_upscaled_file_verifies_as_edited_with_its_parent(ws, tmp_path: Path) -> None:
    from assay.core.imageio import save
    from assay.provenance.manifest import active_manifest, read_manifest
    from assay.provenance.verify.report import verify_file

    ds = tiny_faces(ws, size=64)
    run = train(ws, ds, make_config("srgan", 64, steps=1, **TINY), progress=False)
    parent = tmp_path / "face.png"
    save(np.full((40, 40, 3), 120, np.uint8), parent)
    (tmp_path / "notes.txt").write_text("x")
    written, failed = upscale(ws, run, [parent, tmp_path / "notes.txt"], tmp_path / "out", labels="c2pa")
    assert failed == [(str(tmp_path / "notes.txt"), "not png, jpg or webp (.txt)")]
    (path,) = written
    assert path.name == "face-x4.png"
    report = verify_file(path, ws)
    assert report["c2pa"]["actions"] == ["c2pa.opened", "c2pa.edited"]
    assert report["c2pa"]["digital_source_type"].endswith("/compositeWithTrainedAlgorithmicMedia")
    assert report["checks"]["c2pa_signature"]["status"] == "pass"
    (ingredient,) = active_manifest(read_manifest(path.read_bytes(), "png"))["ingredients"]
    assert ingredient["relationship"] == "parentOf" and ingredient["format"] == "image/png"


def test_upscale_eval_command_reports_the_run_beside_bicubic(ws) -> None:
    import json

    from typer.testing import CliRunner

    from assay.cli import app

    ds = tiny_faces(ws, size=64)
    run = train(ws, ds, make_config("srgan", 64, steps=1, **TINY), progress=False)
    base = ["--workspace", str(ws.root), "forge", "upscale-eval", run, "--n", "2", "--split", "val"]
    res = CliRunner().invoke(app, [*base, "--json"])
    assert res.exit_code == 0, res.output
    report = json.loads(res.output)
    assert set(report) == {"srgan", "bicubic"} and report["bicubic"]["images"] == 2
    assert report["bicubic"]["psnr"] > 15 and 0 < report["bicubic"]["ssim"] <= 1
    assert report["srgan"]["identity_distance"] >= 0
    text = CliRunner().invoke(app, [*base, "--no-identity"])
    assert text.exit_code == 0 and "closer to the ground truth (2 images): psnr" in text.output
    missing = CliRunner().invoke(app, ["--workspace", str(ws.root), "forge", "upscale-eval", run])
    assert missing.exit_code == 1 and "no images in split 'test'; it has train, val" in missing.output
