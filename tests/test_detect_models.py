"""Detectors: each learns the toy real-vs-upsampled problem; save/load; store; explain hooks; tiling."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from assay.detect.base import DETECTORS, Detector
from assay.detect.store import NoDetectorError, load_detector, save_detector
from assay.detect.tiling import grid_tiles, pad_to, random_tile
from tests.helpers.detect_toy import fake_images, real_images

torch.set_num_threads(2)

QUICK = {
    "spectral": {},
    "dct": {},
    "jpeg-dct": {},
    "cooc": {},
    "residual": {"trees": 40},
    "npr": {"tile": 32, "epochs": 3, "batch_size": 16},
    "freqnet": {"tile": 32, "epochs": 4, "batch_size": 16},
    "dct-cnn": {"tile": 32, "epochs": 3, "batch_size": 16},
    "cnn": {"backbone": "test_resnet", "tile": 32, "epochs": 4, "batch_size": 8, "lr": 3e-3},
    "ensemble": {"members": ["spectral", "npr"], "member_configs": {"npr": {"tile": 32, "epochs": 2, "batch_size": 16}}},
}


@pytest.fixture(scope="module")
def toy() -> tuple[list[np.ndarray], np.ndarray, list[np.ndarray], np.ndarray]:
    """Smooth textures (real) vs nearest-neighbour 2x up-sampled ones (fake): train and test halves."""
    x = real_images(80, 32, seed=0) + fake_images(80, "nearest", 32, seed=1)
    y = np.r_[np.zeros(80), np.ones(80)].astype(int)
    return x[::2], y[::2], x[1::2], y[1::2]


#: published networks, loaded from their authors' checkpoints (tests/test_detect_import.py)
PUBLISHED = {"cnndetection", "npr-resnet", "univfd"}


def test_every_registered_detector_has_a_quick_config() -> None:
    assert set(DETECTORS.names()) == set(QUICK) | PUBLISHED


@pytest.mark.parametrize("name", sorted(QUICK))
def test_detector_learns_toy_problem_and_round_trips(name: str, toy, tmp_path) -> None:
    from sklearn.metrics import roc_auc_score

    x_tr, y_tr, x_te, y_te = toy
    det = DETECTORS.create(name, **QUICK[name]).fit(x_tr, y_tr)
    proba = det.predict_proba(x_te)
    assert proba.shape == (len(x_te), 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert roc_auc_score(y_te, proba[:, 1]) > 0.95
    det.save(tmp_path / name)
    again = Detector.load(tmp_path / name)
    assert type(again) is type(det)
    np.testing.assert_allclose(again.predict_proba(x_te), proba, atol=1e-5)


def test_detectors_score_any_image_size_without_resizing(toy) -> None:
    x_tr, y_tr, _, _ = toy
    det = DETECTORS.create("spectral").fit(x_tr, y_tr)
    sizes = [(17, 23), (64, 64), (120, 90)]
    images = [np.random.default_rng(0).integers(0, 255, (h, w, 3), dtype=np.uint8) for h, w in sizes]
    assert det.predict_proba(images).shape == (3, 2)
    assert det.spectrum(images[2]).shape == (det.bins,)


def test_fit_rejects_bad_input() -> None:
    det = DETECTORS.create("spectral")
    img = np.zeros((8, 8, 3), np.uint8)
    with pytest.raises(ValueError, match="both classes"):
        det.fit([img, img], np.array([0, 0]))
    with pytest.raises(ValueError, match="2 images but 3 labels"):
        det.fit([img, img], np.array([0, 1, 1]))
    with pytest.raises(ValueError, match="H x W x 3 uint8"):
        det.fit([img, np.zeros((8, 8), np.uint8)], np.array([0, 1]))


def test_unknown_backbone_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="unknown timm backbone 'nope'"):
        DETECTORS.create("cnn", backbone="nope")


def test_cnn_loads_local_pretrained_weights(tmp_path, toy) -> None:
    from safetensors.torch import save_file

    src = DETECTORS.create("cnn", backbone="test_resnet", tile=32, epochs=1, seed=5)
    state = {k: v.clone() for k, v in src.model.state_dict().items()}
    save_file(state, str(tmp_path / "backbone.safetensors"))
    det = DETECTORS.create("cnn", backbone="test_resnet", tile=32, epochs=0, weights=str(tmp_path / "backbone.safetensors"))
    det.before_fit()
    for k, v in det.model.state_dict().items():
        assert torch.equal(v, state[k]), k
    missing = DETECTORS.create("cnn", backbone="test_resnet", weights=str(tmp_path / "none.safetensors"))
    with pytest.raises(FileNotFoundError, match="pretrained weights file not found"):
        missing.before_fit()


def test_explain_hooks_for_scan(toy) -> None:
    x_tr, y_tr, x_te, _ = toy
    cnn = DETECTORS.create("cnn", backbone="test_resnet", tile=32, epochs=1)
    assert isinstance(cnn.model, torch.nn.Module)
    assert isinstance(cnn.gradcam_layer(), torch.nn.Conv2d)
    assert cnn.gradcam_layer() is [m for m in cnn.model.modules() if isinstance(m, torch.nn.Conv2d)][-1]
    spec = DETECTORS.create("spectral").fit(x_tr, y_tr)
    assert spec.real_mean_spectrum.shape == (spec.bins,)
    reals = [x for x, y in zip(x_tr, y_tr) if y == 0]
    np.testing.assert_allclose(np.mean([spec.spectrum(x) for x in reals], axis=0), spec.real_mean_spectrum)


def test_store_saves_and_loads_latest(ws, toy) -> None:
    x_tr, y_tr, x_te, _ = toy
    with pytest.raises(NoDetectorError, match="assay detect train"):
        load_detector(ws, None)
    first = save_detector(ws, DETECTORS.create("spectral").fit(x_tr, y_tr), "first", {}, [])
    det = DETECTORS.create("dct").fit(x_tr, y_tr)
    det.calibrate(x_te, toy[3])
    second = save_detector(ws, det, "second", {"note": 1}, [], evaluation={"overall": {"auc": 1.0}})
    loaded, rec = load_detector(ws, None)
    assert rec.id == second.id and loaded.name == "dct"
    assert loaded.calibrator.name == "temperature"
    assert rec.params["detector"] == "dct" and rec.params["note"] == 1
    assert (ws.path_of(rec) / "evaluation.json").exists()
    assert load_detector(ws, "first")[1].id == first.id
    files = {p.name for p in ws.path_of(rec).iterdir()}
    assert {"detector.json", "calibration.json", "dct.safetensors"} <= files


def test_tiles_keep_native_pixels() -> None:
    img = np.arange(100 * 70 * 3, dtype=np.uint32).reshape(100, 70, 3).astype(np.uint8)
    tiles = grid_tiles(img, 32, max_tiles=6)
    assert 1 < len(tiles) <= 6
    assert all(t.shape == (32, 32, 3) for t in tiles)
    assert np.array_equal(tiles[0], img[:32, :32])  # a crop, not a resample
    small = np.full((10, 12, 3), 7, np.uint8)
    padded = pad_to(small, 32)
    assert padded.shape == (32, 32, 3) and np.array_equal(padded[:10, :12], small)
    tile = random_tile(img, 32, np.random.default_rng(0))
    found = [(y, x) for y in range(0, 69, 2) for x in range(0, 39, 2) if np.array_equal(img[y:y + 32, x:x + 32], tile)]
    assert found, "the tile is a crop at an even offset"
