"""Small real detectors for scan bookkeeping tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from assay.core.fileio import atomic_write_json, read_json
from assay.detect.base import Detector, Images
from tests.helpers.images import bright, dark


class BrightnessDetector(Detector):
    """Logistic regression on mean brightness: a real, deterministic detector for scan bookkeeping tests.

    Registered (as ``test-brightness``) only while a test that loads it from the catalog runs.
    """

    name = "test-brightness"

    def __init__(self) -> None:
        self.w, self.b = 0.0, 0.0

    @staticmethod
    def _x(images: Images) -> np.ndarray:
        return np.array([[img.mean() / 255.0] for img in images])

    def fit(self, images: Images, y: np.ndarray) -> "BrightnessDetector":
        from sklearn.linear_model import LogisticRegression

        clf = LogisticRegression(C=100.0).fit(self._x(images), y)
        self.w, self.b = float(clf.coef_[0, 0]), float(clf.intercept_[0])
        return self

    def predict_proba(self, images: Images) -> np.ndarray:
        p = 1.0 / (1.0 + np.exp(-(self._x(images)[:, 0] * self.w + self.b)))
        return np.stack([1 - p, p], axis=1)

    def save_state(self, folder: Path) -> None:
        atomic_write_json(folder / "weights.json", {"w": self.w, "b": self.b})

    def load_state(self, folder: Path) -> None:
        state = read_json(folder / "weights.json")
        self.w, self.b = state["w"], state["b"]


def brightness_detector() -> BrightnessDetector:
    images = [dark(i) for i in range(8)] + [bright(i) for i in range(8)]
    return BrightnessDetector().fit(images, np.array([0] * 8 + [1] * 8))
