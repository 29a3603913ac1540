"""Training on any folders at native resolution: both folder layouts, catalog lineage of
outside folders, presets checked before any work, the trained scale range in the domain,
tiles never up-sampled, probabilities that do not all sit on one bound, `data prepare --size native`."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from assay.cli import app
from assay.core.imageio import save
from assay.core.workspace import Workspace
from assay.detect.calibration import make_calibrator
from assay.detect.detectors.npr import NPRDetector
from assay.detect.domain import DomainProfile
from assay.detect.store import load_detector
from tests.helpers.detect_toy import fake_images, real_images

torch.set_num_threads(2)
runner = CliRunner()
DCT = ["--model", "dct", "--set", "block=16", "--set", "max_tiles=4", "--calibration", "temperature"]


def write(folder: Path, images: list[np.ndarray], prefix: str = "img") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for i, img in enumerate(images):
        save(img, folder / f"{prefix}{i:03d}.png")
    return folder


def train_cli(ws_root: Path, *args: str) -> tuple[int, str]:
    res = runner.invoke(app, ["-w", str(ws_root), "detect", "train", *args])
    return res.exit_code, res.output


def test_folder_training_reads_both_layouts_and_registers_folders(tmp_path: Path) -> None:
    real = write(tmp_path / "photos", real_images(40, 48, seed=0))
    fake = write(tmp_path / "gen", fake_images(40, "nearest", 48, seed=1))
    ws = Workspace(tmp_path / "ws")
    code, out = train_cli(ws.root, *DCT, "--real-dir", str(real), "--fake-dir", f"near={fake}", "--name", "flat")
    assert code == 0, out
    det, rec = load_detector(ws, "flat")
    assert rec.params["families"] == ["near"]
    parents = {r.id: r for r in ws.catalog.ancestors(rec.id)}
    folders = {r.params.get("folder"): r for r in parents.values()}
    assert str(real.resolve()) in folders and str(fake.resolve()) in folders
    fake_set = folders[str(fake.resolve())]
    assert fake_set.kind == "samples" and fake_set.params["images"] == 40 and len(fake_set.params["files_digest"]) == 64

    root = tmp_path / "cnndet"
    write(root / "near" / "0_real", real_images(40, 48, seed=0))
    write(root / "near" / "1_fake", fake_images(40, "nearest", 48, seed=1))
    write(root / "zero" / "1_fake", fake_images(20, "zeroinsert", 48, seed=2))
    code, out = train_cli(ws.root, *DCT, "--dir", str(root), "--name", "layout")
    assert code == 0, out
    assert load_detector(ws, "layout")[1].params["families"] == ["near", "zero"]

    before = len(ws.catalog.list("datasets"))  # the same folder with the same files is the same set
    assert train_cli(ws.root, *DCT, "--real-dir", str(real), "--fake-dir", str(fake), "--name", "again")[0] == 0
    assert len(ws.catalog.list("datasets")) == before
    assert load_detector(ws, "again")[1].params["families"] == ["gen"]


def test_preset_with_a_model_that_does_not_take_its_options_fails_before_any_work(tmp_path: Path) -> None:
    real = write(tmp_path / "photos", real_images(4, 48))
    ws = Workspace(tmp_path / "ws")
    code, out = train_cli(ws.root, "--preset", "general", "--model", "dct", "--real-dir", str(real))
    assert code == 2
    assert "detector dct takes no option" in out and "max_side" in out
    assert ws.catalog.list("datasets") == []  # nothing was registered, read or trained


def test_train_message_names_the_model_trained(tmp_path: Path) -> None:
    real = write(tmp_path / "photos", real_images(4, 48))
    code, out = train_cli(tmp_path / "ws", "--preset", "general", "--real-dir", str(real), "--set", "nope=1")
    assert code == 2 and "detector residual takes no option nope" in out


def test_a_1024_px_face_is_in_domain_after_training_at_that_scale(tmp_path: Path) -> None:
    big = np.random.default_rng(9).integers(0, 255, (1024, 1024, 3), dtype=np.uint8)
    ws = Workspace(tmp_path / "ws")
    small_real = write(tmp_path / "small-real", real_images(24, 200, seed=0))
    small_fake = write(tmp_path / "small-fake", fake_images(24, "nearest", 200, seed=1))
    assert train_cli(ws.root, *DCT, "--real-dir", str(small_real), "--fake-dir", str(small_fake), "--name", "s")[0] == 0
    det, _ = load_detector(ws, "s")
    assert det.domain.sizes == (200, 200)
    assert any("crop 1024 px outside" in r for r in det.domain.check(det.view(big)))

    big_real = write(tmp_path / "big-real", real_images(6, 1024, seed=3), "big")
    big_fake = write(tmp_path / "big-fake", fake_images(6, "nearest", 1024, seed=4), "big")
    code, out = train_cli(ws.root, *DCT, "--real-dir", str(small_real), "--real-dir", str(big_real),
                          "--fake-dir", str(small_fake), "--fake-dir", f"nearest-big={big_fake}", "--name", "b")
    assert code == 0, out
    det, _ = load_detector(ws, "b")
    assert det.domain.sizes[1] == 1024
    assert not any("crop" in r for r in det.domain.check(det.view(big)))


def test_tiles_are_never_up_sampled() -> None:
    with pytest.raises(ValueError, match="only ever downscaled"):
        NPRDetector(tile=32, scales=[1.0, 2.0])
    det = NPRDetector(tile=32, width=4, scales=[1.0, 0.5])
    img = np.random.default_rng(0).integers(0, 255, (200, 120, 3), dtype=np.uint8)
    copies = det.copies(img)
    assert [c.shape[:2] for c in copies] == [(200, 120), (100, 60)]
    assert np.array_equal(copies[0], img)  # the native copy is the image itself
    small = img[:20, :24]
    assert [c.shape[:2] for c in det.copies(small)] == [(20, 24)]  # no copy below a tile, none above native
    tile = det.training_tile(small, np.random.default_rng(1))
    assert tile.shape == (32, 32, 3) and np.array_equal(tile[:20, :24], small)  # padded, not enlarged
    rng = np.random.default_rng(2)
    native = NPRDetector(tile=32, width=4)
    for _ in range(5):
        t = native.training_tile(img, rng)
        assert any(np.array_equal(img[y:y + 32, x:x + 32], t) for y in range(0, 169, 2) for x in range(0, 89, 2))


def test_probabilities_on_an_out_of_domain_set_are_not_all_equal() -> None:
    from assay.detect.detectors.spectral import SpectralDetector

    x = real_images(30, 48, seed=0) + fake_images(30, "nearest", 48, seed=1)
    y = np.r_[np.zeros(30), np.ones(30)].astype(int)
    det = SpectralDetector(bins=32).fit(x, y)
    det.calibrate(real_images(15, 48, seed=2) + fake_images(15, "nearest", 48, seed=3), y[::2])
    det.domain = DomainProfile.build(x, y, {"lossless": None})
    rng = np.random.default_rng(5)
    outside = [rng.integers(0, 255, (96, 96, 3), dtype=np.uint8) for _ in range(12)]  # white noise, twice the size
    assert all(det.domain.check(img) for img in outside)
    p = det.predict_proba(outside)[:, 1]
    assert len(np.unique(np.round(p, 12))) > 6
    floor = det.calibrator.floor
    assert np.all((p >= floor) & (p <= 1 - floor))

    cal = make_calibrator({"method": "temperature", "temperature": 1.0, "bias": 0.0, "floor": 0.05})
    q = cal(np.array([-8.0, -4.0, 0.0, 4.0, 8.0]))  # a clip at 0.05 would give -8 and -4 one probability
    assert np.all(np.diff(q) > 0) and q.min() >= 0.05 and q.max() <= 0.95  # bounded, yet still ranked


def test_calibrate_on_keeps_a_family_out_of_training(tmp_path: Path) -> None:
    from tests.helpers.detect_toy import make_toy_workspace

    ws, real, fakes = make_toy_workspace(tmp_path / "ws")
    code, out = train_cli(ws.root, *DCT, "--real", real, "--fake", ",".join(fakes), "--calibrate-on", "bilinear",
                          "--name", "c", "--json")
    assert code == 0, out
    _, rec = load_detector(ws, "c")
    assert "bilinear" not in rec.params["families"]
    code, out = train_cli(ws.root, *DCT, "--real", real, "--fake", fakes[0], "--calibrate-on", "nope")
    assert code == 2 and "names no fake family" in out


def test_prepare_native_keeps_source_pixels(tmp_path: Path) -> None:
    from assay.core.imagesets import open_set

    src = tmp_path / "photos"
    imgs = [real_images(1, 200, seed=0)[0], real_images(1, 320, seed=1)[0][:, :300]]
    write(src, imgs)
    ws = Workspace(tmp_path / "ws")
    res = runner.invoke(app, ["-w", str(ws.root), "data", "prepare", str(src), "--out", "nat", "--size", "native",
                              "--align", "center", "--layout", "none", "--no-embed", "--workers", "1"])
    assert res.exit_code == 0, res.output
    s = open_set(ws, "nat")
    sizes = sorted(s.load([r]).shape[1] for r in s.rows)
    assert sizes == [200, 300]
    assert any(np.array_equal(s.load([r])[0], imgs[0]) for r in s.rows)
    bad = runner.invoke(app, ["-w", str(ws.root), "data", "prepare", str(src), "--out", "x", "--size", "huge"])
    assert bad.exit_code == 2 and "or native" in bad.output


def test_a_view_side_detector_sees_every_face_at_one_scale_and_never_enlarges() -> None:
    from assay.detect.detectors.cnn import CNNDetector

    with pytest.raises(ValueError, match="at least the tile"):
        CNNDetector(backbone="resnet18", tile=64, view_side=48)
    det = CNNDetector(backbone="resnet18", tile=32, view_side=64, epochs=1, batch_size=8, max_tiles=4)
    rng = np.random.default_rng(3)
    big, small = rng.integers(0, 255, (256, 192, 3), dtype=np.uint8), rng.integers(0, 255, (40, 40, 3), dtype=np.uint8)
    assert det.view(big).shape[:2] == (85, 64)  # area-downscaled to the short side
    assert det.view(small) is small  # smaller than the view: as it is, not enlarged
    x = real_images(8, 96, seed=0) + fake_images(8, "nearest", 96, seed=1)
    det.fit(x, np.r_[np.zeros(8), np.ones(8)].astype(int))
    domain = DomainProfile.build([det.view(img) for img in x], np.r_[np.zeros(8), np.ones(8)], {"lossless": None})
    assert domain.sizes == (64, 64)
    assert not any("crop" in r for r in domain.check(det.view(rng.integers(0, 255, (1024, 1024, 3), dtype=np.uint8))))
    assert det.get_params()["view_side"] == 64
    assert np.isfinite(det.decision_function([big, small])).all()
