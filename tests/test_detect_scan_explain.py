"""Scanning with the spectral detector trained on a toy problem, and ``--explain`` images."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from typer.testing import CliRunner

from assay.cli import app
from assay.core.imageio import decode, save
from assay.core.workspace import Workspace
from assay.detect.base import DETECTORS, Detector, Images
from assay.detect.detectors.spectral import SpectralDetector
from assay.detect.explain import explainer_for, gradcam_map
from assay.detect.regions import WHOLE_IMAGE, Region
from assay.detect.scan import Scanner, ScanOptions
from assay.detect.store import save_detector


def smooth(seed: int, size: int) -> np.ndarray:
    """Blurred noise: a natural-looking spectrum that falls off towards high frequencies."""
    rng = np.random.default_rng(seed)
    noise = rng.normal(128, 60, (size, size, 3)).astype(np.float32)
    return np.clip(cv2.GaussianBlur(noise, (0, 0), 2.0), 0, 255).astype(np.uint8)


def upsampled(seed: int, size: int) -> np.ndarray:
    """Half-size smooth image, nearest-neighbour 2x up: the periodic traces GAN up-convolutions leave."""
    half = smooth(seed, size // 2)
    return np.repeat(np.repeat(half, 2, axis=0), 2, axis=1)


def toy_spectral() -> SpectralDetector:
    """Native-scale spectra: the toy fakes carry their 2x trace at whatever size they are made."""
    images = [smooth(i, 64) for i in range(20)] + [upsampled(100 + i, 64) for i in range(20)]
    return SpectralDetector(bins=32, rescale=False).fit(images, np.array([0] * 20 + [1] * 20))


def test_spectral_detector_scan_separates_toy_fakes_and_plots_spectra(ws: Workspace, tmp_path: Path) -> None:
    from sklearn.metrics import roc_auc_score

    det_id = save_detector(ws, toy_spectral(), "toy-spectral", {}, []).id
    folder = tmp_path / "in"
    for i in range(4):  # unseen seeds, a size the detector never saw
        save(smooth(500 + i, 96), folder / f"real_{i}.png")
        save(upsampled(600 + i, 96), folder / f"fake_{i}.png")
    explain = tmp_path / "explain"
    res = CliRunner().invoke(app, ["--workspace", str(ws.root), "detect", "scan", str(folder), "--format", "json",
                                   "--explain", str(explain), "--face-detector", "hog"])  # HOG: no face in the toy crops
    assert res.exit_code == 1, res.output
    results = json.loads(res.stdout)
    labels = [int(Path(r["path"]).name.startswith("fake")) for r in results]
    probs = [r["probability"] for r in results]
    assert roc_auc_score(labels, probs) > 0.95
    assert all(r["detector"] == {"id": det_id, "name": "toy-spectral", "type": "spectral"} for r in results)
    for r in results:
        [plot] = r["explain"]
        assert Path(plot).parent == explain and plot.endswith(f"-{WHOLE_IMAGE}-spectrum.png")
        img = decode(plot)
        assert img.shape == (256 + 72 + 30, 256 + 420 + 108, 3)
        # the crop itself is pasted at native size (96 px) in the left panel
        assert np.array_equal(img[36:36 + 96, 36:36 + 96], decode(r["path"]))


class TinyCNNDetector(Detector):
    """A two-layer CNN on [-1, 1] tensors exposing what Grad-CAM reads (model, gradcam_layer, to_tensor)."""

    name = "test-tiny-cnn"
    tile = 16

    def __init__(self) -> None:
        import torch
        from torch import nn

        torch.manual_seed(0)
        self.conv = nn.Conv2d(4, 4, 3, padding=1)
        self.model = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), self.conv, nn.ReLU(),
                                   nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 1))

    def gradcam_layer(self) -> Any:
        return self.conv

    def to_tensor(self, tiles: list[np.ndarray]) -> Any:
        import torch

        return torch.from_numpy(np.stack(tiles)).permute(0, 3, 1, 2).float().div(127.5).sub(1.0)

    def fit(self, images: Images, y: np.ndarray) -> "TinyCNNDetector":
        import torch

        opt = torch.optim.AdamW(self.model.parameters(), lr=0.05)
        x, t = self.to_tensor(list(images)), torch.as_tensor(y, dtype=torch.float32)
        for _ in range(60):
            loss = torch.nn.functional.binary_cross_entropy_with_logits(self.model(x).squeeze(1), t)
            opt.zero_grad()
            loss.backward()
            opt.step()
        return self

    def predict_proba(self, images: Images) -> np.ndarray:
        import torch

        with torch.no_grad():
            p = torch.sigmoid(self.model(self.to_tensor(list(images))).squeeze(1)).numpy()
        return np.stack([1 - p, p], axis=1)

    def save_state(self, folder: Path) -> None:
        from safetensors.torch import save_model

        save_model(self.model, str(folder / "model.safetensors"))

    def load_state(self, folder: Path) -> None:
        from safetensors.torch import load_model

        load_model(self.model, str(folder / "model.safetensors"))


def test_gradcam_highlights_the_part_that_looks_synthetic(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    dark = [rng.integers(0, 60, (32, 32, 3), dtype=np.uint8) for _ in range(8)]
    bright = [rng.integers(190, 255, (32, 32, 3), dtype=np.uint8) for _ in range(8)]
    det = TinyCNNDetector().fit(dark + bright, np.array([0] * 8 + [1] * 8))
    assert explainer_for(det) == "gradcam"
    half = np.concatenate([bright[0][:, :16], dark[0][:, 16:]], axis=1)  # "synthetic" left, "real" right
    cam = gradcam_map(det, half)
    assert cam.shape == (32, 32) and 0.0 <= cam.min() and cam.max() == pytest.approx(1.0)
    assert cam[:, :14].mean() > 2 * cam[:, 18:].mean()
    small = gradcam_map(det, bright[1][:9, :11])  # smaller than the tile: padded, mapped back to the crop
    assert small.shape == (9, 11)

    options = ScanOptions(explain_dir=str(tmp_path / "cams"))
    save(half, tmp_path / "half.png")
    result = Scanner(det, options).scan_file(tmp_path / "half.png", index=7)
    [overlay] = result["explain"]
    assert Path(overlay).name == "00007_half_0-whole_image-gradcam.png"
    img = decode(overlay)
    assert img.shape == half.shape and not np.array_equal(img, half)


def test_detectors_without_an_explainer_write_nothing(tmp_path: Path) -> None:
    class Constant(Detector):
        name = "constant"

        def fit(self, images: Images, y: np.ndarray) -> "Constant":
            return self

        def predict_proba(self, images: Images) -> np.ndarray:
            return np.tile([0.9, 0.1], (len(images), 1))

        def save_state(self, folder: Path) -> None:
            return None

        def load_state(self, folder: Path) -> None:
            return None

    det = Constant()
    assert explainer_for(det) is None
    save(np.zeros((20, 20, 3), np.uint8), tmp_path / "x.png")
    result = Scanner(det, ScanOptions(explain_dir=str(tmp_path / "out"))).scan_file(tmp_path / "x.png")
    assert result["explain"] == [] and not (tmp_path / "out").exists()
    assert result["verdict"] == "real" and result["probability"] == pytest.approx(0.1)


def test_region_from_face_crop_is_what_the_spectrum_plot_shows() -> None:
    det = toy_spectral()
    pixels = upsampled(7, 40)
    region = Region("face", (4, 4, 36, 36), (0, 0, 40, 40), pixels, 0.9)
    from assay.detect.explain import spectrum_plot

    plot = spectrum_plot(det, region)
    assert np.array_equal(plot[36:76, 36:76], pixels)
    assert explainer_for(det) == "spectrum"


def test_train_then_scan_with_the_most_recent_detector(ws: Workspace, tmp_path: Path) -> None:
    """`assay detect train` then `assay detect scan` without --detector: the new detector is used."""
    from sklearn.metrics import roc_auc_score

    from tests.helpers.detect_toy import (
        fake_images,
        make_fake_set,
        make_real_set,
        real_images,
    )

    real, fake = make_real_set(ws), make_fake_set(ws, "nearest")
    runner = CliRunner()
    res = runner.invoke(app, ["--workspace", str(ws.root), "detect", "train", "--model", "spectral",
                              "--real", real, "--fake", fake, "--name", "toy"])
    assert res.exit_code == 0, res.output
    folder = tmp_path / "in"
    for i, img in enumerate(real_images(5, seed=70)):
        save(img, folder / f"real_{i}.png")
    for i, img in enumerate(fake_images(5, "nearest", seed=71)):
        save(img, folder / f"fake_{i}.png")
    res = runner.invoke(app, ["--workspace", str(ws.root), "detect", "scan", str(folder), "-f", "jsonl"])
    assert res.exit_code == 1, res.output
    results = [json.loads(line) for line in res.stdout.splitlines()]
    assert {r["detector"]["name"] for r in results} == {"toy"}
    labels = [int(Path(r["path"]).name.startswith("fake")) for r in results]
    assert roc_auc_score(labels, [r["probability"] for r in results]) > 0.95
    [scan] = ws.catalog.list("scans")
    assert scan.parents == [ws.resolve("toy", "detectors").id]


def test_a_failing_explanation_keeps_the_verdict(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import torch

    det = TinyCNNDetector()
    det.gradcam_layer = lambda: torch.nn.Conv2d(3, 3, 1)  # type: ignore[method-assign]  # not in the model
    save(np.full((24, 24, 3), 200, np.uint8), tmp_path / "x.png")
    result = Scanner(det, ScanOptions(explain_dir=str(tmp_path / "out"))).scan_file(tmp_path / "x.png")
    assert result["status"] == "ok" and result["probability"] is not None and result["explain"] == []
    assert "warning: no explanation for" in capsys.readouterr().err


def test_dct_cnn_gets_no_gradcam() -> None:
    assert explainer_for(DETECTORS.create("dct-cnn", epochs=1)) is None
    assert explainer_for(DETECTORS.create("npr", epochs=1)) == "gradcam"
