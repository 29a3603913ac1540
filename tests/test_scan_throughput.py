"""Scan throughput paths: batches that follow the engine's size, reduced JPEG decoding, and
the inference-time speed-ups of CNN detectors (folded BatchNorm, channels_last, bf16)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np
import pytest
from PIL import Image

from assay.core import engines
from assay.core.engines import Engine
from assay.core.imageio import decode, decode_reduced, save
from assay.detect.base import DETECTORS
from assay.detect.scan import Scanner, ScanOptions, scan_files
from assay.detect.tiling import grid_tiles
from tests.helpers.detectors import brightness_detector
from tests.helpers.images import bright, dark, smooth_image

#: the batch sizes the recording engine was handed, per call
SEEN: list[list[int]] = []


def run_recording(task: Any, items: Sequence[dict[str, Any]], engine: Engine) -> Iterable[dict[str, Any]]:
    """An engine that runs in this process and records how the work was batched."""
    SEEN.append([len(item["files"]) for item in items])
    task.setup()
    return map(task, items)


def three_workers(engine: Engine, wants_gpu: bool = False) -> int:
    return 3


def _jpeg(path: Path, rgb: np.ndarray, **kw: Any) -> Path:
    Image.fromarray(rgb).save(path, "JPEG", quality=95, **kw)
    return path


def test_engine_size_is_its_workers_or_the_engines_default(monkeypatch) -> None:
    assert Engine("local", 5).size() == 5
    monkeypatch.setattr("torch.cuda.is_available", lambda: False)
    assert Engine("local").size() == (os.cpu_count() or 1)
    monkeypatch.setattr("torch.cuda.is_available", lambda: True)
    assert Engine("local").size(wants_gpu=True) == 1 and Engine("local").size() == (os.cpu_count() or 1)


def test_a_scan_batches_by_the_engines_size(monkeypatch, tmp_path) -> None:
    monkeypatch.setitem(engines.ENGINES, "recording", f"{__name__}:run_recording")
    monkeypatch.setitem(engines.SIZES, "recording", f"{__name__}:three_workers")
    SEEN.clear()
    jobs = [(save_at(tmp_path / f"{i}.png", i), None) for i in range(7)]
    results = list(scan_files(Scanner(brightness_detector(), ScanOptions(face_detector="crop")), jobs,
                              Engine("recording")))
    assert SEEN == [[3, 3, 1]]  # ceil(7 / 3) files a batch: one batch per worker
    assert [r["path"] for r in results] == [str(p) for p, _ in jobs] and {r["status"] for r in results} == {"ok"}


def save_at(path: Path, seed: int) -> Path:
    save(smooth_image(48, seed), path)
    return path


def test_reduced_decode_takes_the_smallest_dct_scale_that_keeps_the_short_side(tmp_path) -> None:
    path = _jpeg(tmp_path / "big.jpg", smooth_image(512, 0)[:, :384].copy())  # 384 wide, 512 high
    full = decode(path)
    for min_side, width in ((48, 48), (49, 96), (100, 192), (300, 384), (None, 384)):
        pixels, size = decode_reduced(path, min_side)
        assert pixels.shape[1] == width and size == (384, 512)
    small, _ = decode_reduced(path, 96)  # what a DCT-domain 1/4 decode gives: close to an area downscale
    area = np.asarray(Image.fromarray(full).resize((96, 128), Image.Resampling.BOX), dtype=np.float64)
    assert np.abs(small.astype(np.float64) - area).mean() < 3.0
    png = tmp_path / "big.png"
    save(full, png)
    assert decode_reduced(png, 48)[0].shape == full.shape  # not a JPEG: full size


def test_reduced_decode_reports_the_size_after_exif_orientation(tmp_path) -> None:
    exif = Image.Exif()
    exif[0x0112] = 6  # rotated 90 degrees: the picture is 256 wide, 512 high
    path = _jpeg(tmp_path / "turned.jpg", smooth_image(512, 1)[:256].copy(), exif=exif.tobytes())
    pixels, size = decode_reduced(path, 64)
    assert size == (256, 512) and pixels.shape[:2] == (128, 64)


def _spectral(side: int) -> Any:
    """A spectral detector fitted on ``side`` px images: it views every larger crop at that short side."""
    real = [smooth_image(side, i) for i in range(6)]
    fake = [np.repeat(np.repeat(img[::2, ::2], 2, 0), 2, 1) for img in real]
    return DETECTORS.create("spectral").fit(real + fake, np.array([0] * 6 + [1] * 6))


def test_a_reduced_decode_keeps_the_detectors_view_and_reports_file_pixels(tmp_path) -> None:
    path = _jpeg(tmp_path / "face.jpg", smooth_image(1024, 2))
    det = _spectral(64)
    assert det.view_short_side() == 64
    full = Scanner(det, ScanOptions(face_detector="crop", provenance=False)).scan_file(path)
    reduced = Scanner(det, ScanOptions(face_detector="crop", provenance=False, reduced_decode=True)).scan_file(path)
    assert full["decode_scale"] == 1.0 and reduced["decode_scale"] == 0.125  # 128 px still holds the 64 px view
    assert (reduced["width"], reduced["height"]) == (full["width"], full["height"]) == (1024, 1024)
    region = reduced["regions"][0]
    assert region["box"] == full["regions"][0]["box"] == [0, 0, 1024, 1024] and region["crop_size"] == [128, 128]
    assert abs(reduced["probability"] - full["probability"]) < 0.2


def test_without_a_view_size_the_regions_are_cut_at_full_size(tmp_path) -> None:
    path = _jpeg(tmp_path / "face.jpg", smooth_image(512, 3))
    det = brightness_detector()
    assert det.view_short_side() is None
    result = Scanner(det, ScanOptions(face_detector="crop", provenance=False, reduced_decode=True)).scan_file(path)
    assert result["decode_scale"] == 1.0 and result["regions"][0]["crop_size"] == [512, 512]



def _faces(n: int, side: int = 48) -> list[np.ndarray]:
    return [smooth_image(side, 10 + i) for i in range(n)]


def _cnn(**kw: Any) -> Any:
    return DETECTORS.create("cnn", backbone="resnet18", tile=32, max_tiles=4, **kw)


def _tiles(images: list[np.ndarray]) -> list[np.ndarray]:
    return [t for img in images for t in grid_tiles(img, 32, 4)]


def _away_from_init(det: Any) -> Any:
    """BatchNorm statistics and weights far from their initial values, so that folding and rounding matter."""
    import torch

    rng = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for m in det.model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.5, 0.5, generator=rng)
                m.running_var.uniform_(0.5, 2.0, generator=rng)
                m.weight.uniform_(0.5, 1.5, generator=rng)
    return det


@pytest.mark.parametrize("name, kw", [("cnn", {"backbone": "resnet18"}), ("npr", {"width": 8})])
def test_the_inference_copy_folds_batchnorm_and_scores_as_the_network_does(name, kw) -> None:
    import torch

    det = _away_from_init(DETECTORS.create(name, tile=32, max_tiles=4, precision="fp32", **kw))
    cpu = torch.device("cpu")
    folded = det.inference_model(cpu)
    assert folded is not det.model and det.inference_model(cpu) is folded  # made once while the weights hold
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in folded.modules())
    assert any(isinstance(m, torch.nn.BatchNorm2d) for m in det.model.modules())  # the network itself untouched
    tiles = _tiles(_faces(3))
    with torch.inference_mode():
        expected = det.model.eval()(det.to_tensor(tiles)).float().reshape(-1)
    assert torch.allclose(det.forward_tiles(tiles, cpu), expected, rtol=1e-4, atol=1e-4)


def test_a_weight_change_makes_a_new_inference_copy() -> None:
    import torch

    det = _cnn(precision="fp32")
    images = _faces(2)
    before, copy = det.decision_function(images), det.inference_model(torch.device("cpu"))
    with torch.no_grad():
        det.model.get_classifier().bias.add_(1.0)
    after = det.decision_function(images)
    assert det.inference_model(torch.device("cpu")) is not copy
    assert np.allclose(after - before, 1.0, atol=1e-4)



def test_inference_batch_does_not_change_the_scores() -> None:
    det = _away_from_init(_cnn(precision="fp32", inference_batch=1))
    images = _faces(3)
    one_tile_a_pass = det.decision_function(images)
    det.inference_batch = 128
    assert np.allclose(det.decision_function(images), one_tile_a_pass, rtol=1e-4, atol=1e-5)


def test_bf16_on_the_cpu_agrees_with_fp32() -> None:
    import torch

    det = _away_from_init(_cnn(precision="fp32"))
    images = [dark(i) for i in range(3)] + [bright(i) for i in range(3)]
    fp32 = det.decision_function(images)
    det.precision = "bf16"
    bf16 = det.decision_function(images)
    with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16):
        assert det.inference_model(torch.device("cpu"))(det.to_tensor(_tiles(images[:1]))).dtype == torch.bfloat16
    assert not np.array_equal(bf16, fp32)  # it did run in bf16
    spread = fp32.max() - fp32.min()
    assert spread > 0 and np.abs(bf16 - fp32).max() <= 0.1 * spread  # bf16 keeps 8 bits of mantissa
    assert fp32[:3].min() > fp32[3:].max() and bf16[:3].min() > bf16[3:].max()  # the two kinds apart in both (seeded)


def test_precision_is_checked_and_kept_with_the_detector(tmp_path) -> None:
    with pytest.raises(ValueError, match="precision must be one of auto, fp32, bf16"):
        _cnn(precision="fp16")
    det = _cnn(precision="bf16", inference_batch=64)
    det.save(tmp_path / "det")
    loaded = type(det).load(tmp_path / "det")
    assert (loaded.precision, loaded.inference_batch) == ("bf16", 64)
    images = _faces(2)
    assert np.array_equal(loaded.decision_function(images), det.decision_function(images))


def test_the_gpu_figures_script_runs_on_the_cpu(tmp_path) -> None:
    import json

    from benchmarks import gpu_figures

    out = tmp_path / "gpu.json"
    report = gpu_figures.main(["--device", "cpu", "--quick", "--detectors", "cnn", "--out", str(out)])
    assert json.loads(out.read_text()) == report and report["machine"]["device"] == "cpu"
    cnn = report["detectors"]["cnn"]
    assert set(cnn["tiles_per_s"]) == {"fp32-unfolded", "fp32", "bf16"} and all(v > 0 for p in cnn["tiles_per_s"].values()
                                                                for v in p.values())
    agreement = cnn["bf16_vs_fp32"]
    assert agreement["max_abs_logit_diff"] > 0 and 0.0 <= agreement["sign_agreement"] <= 1.0


def test_the_cli_scans_with_a_reduced_decode_and_records_it(ws, tmp_path, monkeypatch) -> None:
    from typer.testing import CliRunner

    from assay.cli import app
    from assay.detect.scan import load_report
    from assay.detect.store import save_detector

    det = save_detector(ws, _spectral(64), "spectral-64", {}, []).id
    folder = tmp_path / "media"
    folder.mkdir()
    _jpeg(folder / "a.jpg", smooth_image(1024, 4))
    save(smooth_image(256, 5), folder / "b.png")
    out = CliRunner().invoke(app, ["--workspace", str(ws.root), "detect", "scan", str(folder), "--detector", det,
                                   "--face-detector", "crop", "--reduced-decode", "--name", "small", "-f", "json"])
    assert out.exit_code in (0, 1), out.output
    report = load_report(ws, "small")
    assert report["options"]["reduced_decode"] is True
    assert [(r["decode_scale"], r["width"]) for r in report["results"]] == [(0.125, 1024), (1.0, 256)]
