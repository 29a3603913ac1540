"""Honest scores on data a detector never saw: calibration that cannot saturate, the training
domain and "uncertain" outside it, thresholds from the user's own photos, folder evaluation,
scale handling, the generator zoo, FreqNet and the ``general`` preset."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from assay.cli import app
from assay.core.imageio import decode, save
from assay.core.workspace import Workspace
from assay.detect.base import Detector
from assay.detect.calibration import make_calibrator
from assay.detect.detectors.spectral import SpectralDetector
from assay.detect.domain import DomainProfile, codec_of
from assay.detect.scan import UNCERTAIN, Scanner, ScanOptions
from assay.detect.store import save_detector
from tests.helpers.detect_toy import fake_images, make_toy_workspace, real_images

torch.set_num_threads(2)
runner = CliRunner()


def toy_spectral(size: int = 48) -> SpectralDetector:
    """A spectral detector fitted on toy reals vs nearest-up-sampled fakes, with its training domain."""
    x = real_images(40, size, seed=0) + fake_images(40, "nearest", size, seed=1)
    y = np.r_[np.zeros(40), np.ones(40)].astype(int)
    det = SpectralDetector(bins=32).fit(x, y)
    det.calibrate(real_images(20, size, seed=2) + fake_images(20, "nearest", size, seed=3),
                  np.r_[np.zeros(20), np.ones(20)].astype(int))
    det.domain = DomainProfile.build([det.view(i) for i in x], y, {"lossless": None})
    return det


@pytest.mark.parametrize("method", ["temperature", "isotonic"])
def test_calibration_on_separable_data_stays_finite_and_ranked(method: str) -> None:
    rng = np.random.default_rng(0)
    z = np.r_[rng.normal(-30, 3, 200), rng.normal(30, 3, 200)]  # a gap of ~40: perfectly separable
    y = np.r_[np.zeros(200), np.ones(200)]
    cal = make_calibrator({"method": method}).fit(z, y)
    p = cal(np.r_[z, [-1e9, 1e9]])
    assert np.isfinite(p).all() and p.min() > 0.0 and p.max() < 1.0  # never exactly 0 or 1
    assert p.min() >= 1 / 202 - 1e-12 and p.max() <= 1 - 1 / 202 + 1e-12  # 200 examples, no more confidence
    assert np.all(np.diff(cal(np.sort(z))) >= 0)  # still increasing
    if method == "temperature":
        assert np.isfinite(cal.temperature) and cal.temperature > 1.0  # not driven towards zero
        again = make_calibrator(cal.to_dict())
        np.testing.assert_allclose(again(z), cal(z))


def test_out_of_domain_crops_are_marked_and_uncertain(tmp_path: Path) -> None:
    det = toy_spectral()
    scanner = Scanner(det, ScanOptions(face_detector="hog"))  # HOG finds no face in these toys: whole images
    real = real_images(1, 48, seed=50)[0]
    save(real, tmp_path / "same.png")
    save(real[:16, :16], tmp_path / "small.png")  # a third of the trained size
    save(real, tmp_path / "lossy.jpg", quality=40)  # a codec the detector never saw
    same, small, lossy = (scanner.scan_file(tmp_path / n) for n in ("same.png", "small.png", "lossy.jpg"))
    assert same["domain"] == {"in_domain": True, "reasons": []} and same["verdict"] == "real"
    for result, word in ((small, "crop 16 px"), (lossy, "codec jpeg")):
        assert result["verdict"] == UNCERTAIN and result["flagged"] is False
        assert result["domain"]["in_domain"] is False
        assert any(word in r for r in result["domain"]["reasons"]), result["domain"]
        assert result["regions"][0]["verdict"] == UNCERTAIN
        assert result["raw_score"] is not None  # the ranking is kept beside the verdict


def test_scan_table_and_summary_say_why_a_file_is_uncertain(ws: Workspace, tmp_path: Path) -> None:
    save_detector(ws, toy_spectral(), "toy-spec", {}, [])
    real = real_images(1, 48, seed=50)[0]
    save(real, tmp_path / "same.png")
    save(real[:16, :16], tmp_path / "small.png")
    save(real[:16, :16], tmp_path / "tiny.png")
    save(real, tmp_path / "lossy.jpg", quality=40)
    res = runner.invoke(app, ["-w", str(ws.root), "detect", "scan", str(tmp_path), "--face-detector", "hog"])
    assert res.exit_code == 0, res.output
    header, *lines = res.stdout.strip().splitlines()
    assert "WHY" in header.split()
    rows = {Path(line.split(":")[0].split()[-1]).name: line for line in lines}
    assert rows["small.png"].startswith("uncertain") and "crop size" in rows["small.png"]
    assert "small.png: crop 16 px outside the trained 48-48 px" in rows["small.png"]
    assert "codec" in rows["lossy.jpg"] and "lossy.jpg: codec jpeg not seen in training" in rows["lossy.jpg"]
    assert ":" not in rows["same.png"].split("same.png")[1]  # an in-domain file gives no reason
    assert ("4 files: 0 flagged as synthetic by the detector, 3 uncertain (out of the detector's domain: "
            "3 image statistics, 2 crop size, 1 codec); 0 declared synthetic by a valid, trusted C2PA manifest; "
            "0 errors") in res.stderr
    [scan] = ws.catalog.list("scans")
    assert scan.params["reasons"] == {"image statistics": 3, "crop size": 2, "codec": 1}  # per file, not per reason
    res = runner.invoke(app, ["-w", str(ws.root), "detect", "scan", str(tmp_path / "lossy.jpg"), "--format", "csv",
                                 "--face-detector", "hog"])
    [row] = list(csv.DictReader(io.StringIO(res.stdout)))
    assert row["why"] == "codec, image statistics" and row["reason"].startswith("codec jpeg not seen in training")


def test_domain_profile_round_trips_and_reads_codecs(tmp_path: Path) -> None:
    det = toy_spectral()
    det.save(tmp_path / "d")
    again = Detector.load(tmp_path / "d")
    assert again.domain == det.domain and again.domain.sizes == (48, 48)
    save(real_images(1, 48)[0], tmp_path / "q.jpg", quality=60)
    assert codec_of(tmp_path / "q.jpg") == {"codec": "jpeg", "quality": 60}


def test_calibrate_reaches_its_target_on_the_held_out_half(ws: Workspace, tmp_path: Path) -> None:
    rec = save_detector(ws, toy_spectral(), "toy-spec", {}, [])
    folder = tmp_path / "mine"
    for i, img in enumerate(real_images(240, 48, seed=11)):
        save(img, folder / f"sub{i % 3}" / f"photo_{i}.png")
    res = runner.invoke(app, ["-w", str(ws.root), "detect", "calibrate", "toy-spec", "--real", str(folder),
                              "--target-fpr", "0.05", "--json"])
    assert res.exit_code == 0, res.output
    point = json.loads(res.stdout[res.stdout.index("{"):])
    assert point["n_fit"] + point["n_check"] == 240 and min(point["n_fit"], point["n_check"]) > 90
    assert point["check_fpr"] <= 0.10  # target 0.05 on about 120 unseen photos: binomial slack
    assert ws.resolve("toy-spec").params["threshold"]["raw"] == point["raw"]
    det = Detector.load(ws.path_of(rec))
    assert det.operating_point["probability"] == point["probability"]
    assert Scanner(det, ScanOptions()).threshold == point["probability"]  # scan uses it by default
    assert Scanner(det, ScanOptions(threshold=0.9)).threshold == 0.9  # unless told otherwise


def test_calibrate_refuses_too_few_photos(ws: Workspace, tmp_path: Path) -> None:
    save_detector(ws, toy_spectral(), "toy-spec", {}, [])
    for i, img in enumerate(real_images(10, 48, seed=3)):
        save(img, tmp_path / "few" / f"p{i}.png")
    res = runner.invoke(app, ["-w", str(ws.root), "detect", "calibrate", "toy-spec", "--real", str(tmp_path / "few")])
    assert res.exit_code == 2 and "cannot support" in res.output


@pytest.fixture(scope="module")
def toyws(tmp_path_factory: pytest.TempPathFactory) -> tuple[Workspace, str, list[str]]:
    ws, real, fakes = make_toy_workspace(tmp_path_factory.mktemp("gen") / "ws")
    res = runner.invoke(app, ["-w", str(ws.root), "detect", "train", "--real", real, "--fake", ",".join(fakes),
                              "--name", "spec"])
    assert res.exit_code == 0, res.output
    return ws, real, fakes


def test_eval_reads_the_0_real_1_fake_layout(toyws, tmp_path: Path) -> None:
    ws, _, _ = toyws
    root = tmp_path / "bench"
    for i, img in enumerate(real_images(12, 48, seed=40)):
        save(img, root / ("gan-a" if i % 2 else "gan-b/cats") / "0_real" / f"r{i}.png")
    for i, img in enumerate(fake_images(6, "nearest", 48, seed=41)):
        save(img, root / "gan-a" / "1_fake" / f"f{i}.png")
    for i, img in enumerate(fake_images(6, "zeroinsert", 48, seed=42)):
        save(img, root / "gan-b" / "cats" / "1_fake" / "deep" / f"f{i}.png")
    res = runner.invoke(app, ["-w", str(ws.root), "detect", "eval", "spec", "--dir", str(root), "--json",
                              "--no-robustness"])
    assert res.exit_code == 0, res.output
    report = json.loads(res.stdout[res.stdout.index("{"):])
    assert set(report["per_family"]) == {"gan-a", "gan-b"}
    assert report["overall"]["n_real"] == 12 and report["overall"]["n_synthetic"] == 12
    assert report["overall"]["auc"] > 0.9 and report["split"] == "all"
    assert report["data"]["sets"]["layout"] == [str(root)]
    assert ws.resolve("spec").params["evaluations"][-1]["per_family_auc"].keys() == {"gan-a", "gan-b"}


def test_eval_reads_real_and_fake_dirs_with_robustness(toyws, tmp_path: Path) -> None:
    ws, _, _ = toyws
    for i, img in enumerate(real_images(8, 48, seed=60)):
        save(img, tmp_path / "r" / f"{i}.png")
    for i, img in enumerate(fake_images(8, "bilinear", 48, seed=61)):
        save(img, tmp_path / "upsampler-x" / f"{i}.png")
    res = runner.invoke(app, ["-w", str(ws.root), "detect", "eval", "spec", "--real-dir", str(tmp_path / "r"),
                              "--fake-dir", str(tmp_path / "upsampler-x"), "--json"])
    assert res.exit_code == 0, res.output
    report = json.loads(res.stdout[res.stdout.index("{"):])
    assert set(report["per_family"]) == {"upsampler-x"} and "jpeg75" in report["robustness"]
    res = runner.invoke(app, ["-w", str(ws.root), "detect", "eval", "spec", "--dir", str(tmp_path / "r")])
    assert res.exit_code == 2 and "0_real" in res.output


def test_spectral_verdict_on_a_real_photo_survives_4x_upscaling(shared_data: Path) -> None:
    import cv2

    files = sorted((shared_data / "utkface").glob("*.jpg"))
    reals = [cv2.resize(decode(f), (64, 64), interpolation=cv2.INTER_AREA) for f in files[:60]]
    fakes = [np.repeat(np.repeat(cv2.resize(r, (32, 32), interpolation=cv2.INTER_AREA), 2, 0), 2, 1)
             for r in [cv2.resize(decode(f), (64, 64), interpolation=cv2.INTER_AREA) for f in files[60:120]]]
    det = SpectralDetector().fit(reals + fakes, np.r_[np.zeros(60), np.ones(60)].astype(int))
    det.calibrate(reals[::2] + fakes[::2], np.r_[np.zeros(30), np.ones(30)].astype(int))
    photos = [cv2.resize(decode(f), (64, 64), interpolation=cv2.INTER_AREA) for f in files[200:220]]
    big = [cv2.resize(p, (256, 256), interpolation=cv2.INTER_CUBIC) for p in photos]
    assert (det.predict(photos) == det.predict(big)).all()
    assert det.predict(photos).mean() < 0.5  # and the verdict is the right one: real


def test_zoo_generators_keep_size_for_every_upsampler() -> None:
    from assay.detect.simulate import (
        SIMULATORS,
        family_name,
        simulate,
        train_simulators,
    )

    assert SIMULATORS.names() == ["bilinear", "modconv-skip", "nearest", "pixelshuffle", "transposed"]
    images = real_images(4, 48) + [real_images(1, 37)[0]]
    nets = train_simulators(("pixelshuffle", "modconv-skip"), images, steps=20, stages=3)
    assert list(nets) == [family_name("pixelshuffle", 3), family_name("modconv-skip", 3)]
    assert list(nets) == ["simulated-pixelshuffle-x8", "simulated-modconv-skip-x8"]
    for (fake, _), img in zip(simulate(images, nets), images):
        assert fake.shape == img.shape and fake.dtype == np.uint8 and not np.array_equal(fake, img)


def test_train_preset_general_resolves_the_recipe(toyws) -> None:
    ws, real, fakes = toyws
    res = runner.invoke(app, ["-w", str(ws.root), "detect", "train", "--preset", "general", "--real", real,
                              "--fake", fakes[0], "--aug", "reencode", "--set", "trees=20", "--name", "gen"])
    assert res.exit_code == 0, res.output
    assert "training residual on 1 real and 1 fake set(s)\n" in res.output  # the preset's model, and no simulators
    folder = ws.path_of(ws.resolve("gen"))
    cfg = json.loads((folder / "training.json").read_text())["config"]
    assert cfg["model"] == "residual" and cfg["simulate"] == [] and cfg["encode"] == "jpeg:75"
    assert cfg["options"]["max_side"] == 1024 and cfg["options"]["leaves"] == 15
    assert cfg["options"]["trees"] == 20  # given options merge into the preset's
    assert cfg["aug"] == ["reencode"]  # and given flags override it
    assert len(ws.resolve("gen").params["families"]) == 1  # the one fake set given, nothing simulated
    domain = json.loads((folder / "domain.json").read_text())
    assert domain["codecs"] == {"jpeg": [60, 100]} and set(domain["features"]) == {"real", "synthetic"}


def test_train_without_anything_fake_fails_before_any_work(toyws) -> None:
    ws, real, _ = toyws
    before = len(ws.catalog.list("detectors"))
    res = runner.invoke(app, ["-w", str(ws.root), "detect", "train", "--preset", "general", "--real", real])
    assert res.exit_code == 2
    assert "no fake images: give --fake SET, --fake-dir [FAMILY=]FOLDER, --dir ROOT or --simulate" in res.output
    assert len(ws.catalog.list("detectors")) == before


def test_eval_names_unreadable_files_and_refuses_too_few_images(toyws, tmp_path: Path) -> None:
    ws, _, _ = toyws
    for i, img in enumerate(real_images(6, 48, seed=70)):
        save(img, tmp_path / "r" / f"{i}.png")
    for i, img in enumerate(fake_images(6, "bilinear", 48, seed=71)):
        save(img, tmp_path / "f" / f"{i}.png")
    (tmp_path / "r" / "empty.png").write_bytes(b"")
    (tmp_path / "r" / "broken.png").symlink_to(tmp_path / "nowhere.png")
    (tmp_path / "f" / "loop.png").symlink_to(tmp_path / "f" / "loop.png")
    base = ["-w", str(ws.root), "detect", "eval", "spec", "--no-robustness", "--json"]
    res = runner.invoke(app, [*base, "--real-dir", str(tmp_path / "r"), "--fake-dir", str(tmp_path / "f")])
    assert res.exit_code == 0, res.output
    report = json.loads(res.stdout[res.stdout.index("{"):])
    unreadable = {Path(u["file"]).name for u in report["data"]["unreadable"]}
    assert unreadable == {"empty.png", "broken.png", "loop.png"} and report["data"]["rejects"] == 3
    assert "3 file(s) could not be read" in res.stderr and "broken.png" in res.stderr
    for f in sorted((tmp_path / "f").glob("[1-5].png")):
        f.unlink()
    res = runner.invoke(app, [*base, "--real-dir", str(tmp_path / "r"), "--fake-dir", str(tmp_path / "f")])
    assert res.exit_code == 2 and "too few readable images" in res.output and "1 fake" in res.output
