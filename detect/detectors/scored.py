"""Shared base of every detector: a raw logit, then a calibrator fitted on held-out data."""

from __future__ import annotations

from abc import abstractmethod
from pathlib import Path
from typing import Any, Callable

import numpy as np

from assay.core.fileio import atomic_write_json, read_json
from assay.detect.base import Detector, Images
from assay.detect.calibration import Calibrator, make_calibrator

CALIBRATION_FILE = "calibration.json"
#: (image, rng) -> image; set on a detector before ``fit`` to augment its training images
Augment = Callable[[np.ndarray, np.random.Generator], np.ndarray]


def check_fit_input(images: Images, y: np.ndarray) -> np.ndarray:
    """Validate ``fit`` arguments at the boundary; returns ``y`` as an int array."""
    y = np.asarray(y).astype(np.int64).ravel()
    if len(images) != len(y):
        raise ValueError(f"got {len(images)} images but {len(y)} labels")
    if set(np.unique(y)) != {0, 1}:
        raise ValueError(f"fit needs both classes (0 real, 1 synthetic); labels seen: {sorted(set(y.tolist()))}")
    for i, img in enumerate(images):
        if img.ndim != 3 or img.shape[2] != 3 or img.dtype != np.uint8:
            raise ValueError(f"image {i}: expected H x W x 3 uint8, got {img.shape} {img.dtype}")
    return y


class ScoredDetector(Detector):
    """Subclasses implement ``fit`` and :meth:`decision_function` (logit of P(synthetic))."""

    def __init__(self) -> None:
        self.calibrator: Calibrator = make_calibrator(None)
        self.augment: Augment | None = None
        self.history: list[dict[str, Any]] = []

    @abstractmethod
    def decision_function(self, images: Images) -> np.ndarray:
        """(N,) raw logits; larger means more likely synthetic."""

    def predict_proba(self, images: Images) -> np.ndarray:
        if len(images) == 0:
            return np.zeros((0, 2))
        p = self.scores(images)[0]
        return np.stack([1.0 - p, p], axis=1)

    def scores(self, images: Images) -> tuple[np.ndarray, np.ndarray | None]:
        if len(images) == 0:
            return np.zeros(0), np.zeros(0)
        z = self.decision_function(images)
        return self.calibrator(z), z

    def calibrate(self, images: Images, y: np.ndarray, method: str = "temperature") -> Calibrator:
        """Fit the calibrator on a held-out split (not the training images)."""
        cal = make_calibrator({"method": method})
        cal.fit(self.decision_function(images), np.asarray(y))
        self.calibrator = cal
        return cal

    def _augmented(self, images: Images, seed: int) -> list[np.ndarray]:
        if self.augment is None:
            return list(images)
        rng = np.random.default_rng(seed)
        return [self.augment(img, rng) for img in images]

    def save_state(self, folder: Path) -> None:
        atomic_write_json(folder / CALIBRATION_FILE, self.calibrator.to_dict())
        self.save_weights(folder)

    def load_state(self, folder: Path) -> None:
        path = folder / CALIBRATION_FILE
        self.calibrator = make_calibrator(read_json(path) if path.exists() else None)
        self.load_weights(folder)

    @abstractmethod
    def save_weights(self, folder: Path) -> None:
        """Write learned weights (safetensors)."""

    @abstractmethod
    def load_weights(self, folder: Path) -> None:
        """Read what :meth:`save_weights` wrote."""
