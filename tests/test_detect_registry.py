"""The detector registry fills itself; configuration comes from constructor signatures."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

import assay.detect.detectors
from assay.core.errors import ModelError, UnknownNameError
from assay.core.fileio import atomic_write_json, read_json
from assay.detect.base import CONFIG_FILE, DETECTORS, Detector, Images
from assay.detect.training import DetectTrainConfig, build_detector

EXTRA_MODULE = '''
from assay.detect.base import DETECTORS
from assay.detect.detectors.spectral import SpectralDetector


@DETECTORS.register("test-extra")
class ExtraDetector(SpectralDetector):
    name = "test-extra"
'''

#: what the hand-written get_config of npr wrote before configs came from signatures
OLD_NPR_CONFIG = {"width": 8, "tile": 32, "epochs": 1, "batch_size": 32, "lr": 0.001, "weight_decay": 0.05,
                  "max_tiles": 16, "seed": 3}
#: what that detector holds today: the old file's params plus the options added since, at their defaults
NPR_PARAMS = {**OLD_NPR_CONFIG, "scales": [1.0], "view_side": None, "precision": "auto", "inference_batch": 128}


def toy(n: int = 8) -> tuple[list[np.ndarray], np.ndarray]:
    rng = np.random.default_rng(0)
    return [rng.integers(0, 255, (24, 24, 3), dtype=np.uint8) for _ in range(n)], np.arange(n) % 2


def test_a_detector_in_a_new_module_is_found_by_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    DETECTORS.names()  # the shipped detectors stay registered once the patches are undone
    (tmp_path / "extra_for_test.py").write_text(EXTRA_MODULE)
    monkeypatch.setattr(assay.detect.detectors, "__path__", [*assay.detect.detectors.__path__, str(tmp_path)])
    monkeypatch.setattr(DETECTORS, "_items", dict(DETECTORS._items))
    monkeypatch.setattr(DETECTORS, "_meta", dict(DETECTORS._meta))
    monkeypatch.setattr(DETECTORS, "_unloaded", ["assay.detect.detectors"])  # as in a fresh process
    try:
        assert "assay.detect.detectors.extra_for_test" not in sys.modules
        assert DETECTORS.get("test-extra").__module__ == "assay.detect.detectors.extra_for_test"
        assert {"spectral", "test-extra"} <= set(DETECTORS.names())
    finally:
        sys.modules.pop("assay.detect.detectors.extra_for_test", None)


def test_an_unknown_detector_name_lists_the_known_ones(tmp_path: Path) -> None:
    known = "cnn, cnndetection, cooc, dct, dct-cnn, ensemble, freqnet, jpeg-dct, npr, npr-resnet, residual, spectral, univfd"
    with pytest.raises(UnknownNameError, match=f"unknown detector 'nope'; known: {known}$"):
        DETECTORS.get("nope")
    with pytest.raises(UnknownNameError, match="unknown detector 'nope'"):
        build_detector(DetectTrainConfig(model="nope"))
    atomic_write_json(tmp_path / CONFIG_FILE, {"detector": "nope", "config": {}})
    with pytest.raises(UnknownNameError, match=f"known: {known}$"):
        Detector.load(tmp_path)


def test_params_come_from_the_constructor_signature_and_its_parents() -> None:
    npr = DETECTORS.create("npr", width=8, tile=32, epochs=1, seed=3)
    assert npr.get_params() == NPR_PARAMS
    ens = DETECTORS.create("ensemble", members=["spectral", "dct"], member_configs={"dct": {"block": 8}})
    assert ens.get_params() == {"members": ["spectral", "dct"], "member_configs": {"dct": {"block": 8}},
                                "stack_fraction": 0.25, "seed": 0}
    assert DETECTORS.get("cnn").param_names()[:2] == ["backbone", "weights"]


def test_get_params_round_trips_through_save_and_load(tmp_path: Path) -> None:
    x, y = toy()
    det = DETECTORS.create("spectral", bins=16, classifier="svm", C=0.5).fit(x, y)
    det.save(tmp_path / "spectral")
    again = Detector.load(tmp_path / "spectral")
    assert type(again) is type(det) and again.get_params() == det.get_params() == \
        {"bins": 16, "classifier": "svm", "C": 0.5, "rescale": True}
    np.testing.assert_allclose(again.predict_proba(x), det.predict_proba(x))


def test_files_saved_before_params_came_from_signatures_still_load(tmp_path: Path) -> None:
    DETECTORS.create("npr", **OLD_NPR_CONFIG).save(tmp_path)
    assert read_json(tmp_path / CONFIG_FILE) == {"detector": "npr", "config": NPR_PARAMS}
    atomic_write_json(tmp_path / CONFIG_FILE, {"detector": "npr", "config": OLD_NPR_CONFIG})
    assert Detector.load(tmp_path).get_params() == NPR_PARAMS  # a file from before ``scales`` gets its default


def test_a_constructor_argument_without_its_attribute_is_an_error() -> None:
    class Forgetful(Detector):
        name = "test-forgetful"

        def __init__(self, depth: int = 2) -> None:
            self.levels = depth

        def fit(self, images: Images, y: np.ndarray) -> "Forgetful":
            return self

        def predict_proba(self, images: Images) -> np.ndarray:
            return np.full((len(images), 2), 0.5)

        def save_state(self, folder: Path) -> None:
            return None

        def load_state(self, folder: Path) -> None:
            return None

    with pytest.raises(ModelError, match="Forgetful keeps no attribute for constructor argument.* depth"):
        Forgetful().get_params()


def test_training_gives_its_seed_to_detectors_that_take_one() -> None:
    assert build_detector(DetectTrainConfig(model="npr", seed=7, options={"tile": 32})).seed == 7
    assert build_detector(DetectTrainConfig(model="npr", seed=7, options={"seed": 2})).seed == 2
    assert build_detector(DetectTrainConfig(model="ensemble", seed=7)).seed == 7
    assert "seed" not in build_detector(DetectTrainConfig(model="spectral", seed=7)).get_params()
