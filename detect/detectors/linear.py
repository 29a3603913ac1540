"""A standardised linear classifier (logistic regression or linear SVM) stored as plain tensors.

scikit-learn fits it; only the weights are kept (scaler mean/scale, coefficients, intercept),
so saved detectors are safetensors files rather than pickles.
"""

from __future__ import annotations

from abc import abstractmethod
from pathlib import Path
from typing import ClassVar, Protocol

import numpy as np

from assay.detect.base import Images
from assay.detect.detectors.scored import ScoredDetector, check_fit_input

CLASSIFIERS = ("logreg", "svm")


class LinearHead:
    """z = w . (x - mean) / scale + b."""

    def __init__(self, classifier: str = "logreg", C: float = 1.0) -> None:
        if classifier not in CLASSIFIERS:
            raise ValueError(f"classifier must be one of {CLASSIFIERS}, got {classifier!r}")
        self.classifier, self.C = classifier, C
        self.mean = self.scale = self.coef = None
        self.intercept = 0.0

    def fit(self, X: np.ndarray, y: np.ndarray) -> "LinearHead":
        from sklearn.linear_model import LogisticRegression
        from sklearn.svm import LinearSVC

        X = np.asarray(X, dtype=np.float64)
        self.mean = X.mean(axis=0)
        self.scale = X.std(axis=0) + 1e-8
        Z = (X - self.mean) / self.scale
        model = (LogisticRegression(C=self.C, max_iter=2000) if self.classifier == "logreg"
                 else LinearSVC(C=self.C, max_iter=20000))
        model.fit(Z, y)
        self.coef = model.coef_.ravel().astype(np.float64)
        self.intercept = float(model.intercept_[0])
        return self

    def decision(self, X: np.ndarray) -> np.ndarray:
        if self.coef is None:
            raise RuntimeError("the detector is not fitted: call fit() or load a trained one")
        return ((np.asarray(X, dtype=np.float64) - self.mean) / self.scale) @ self.coef + self.intercept

    def save(self, path: Path) -> None:
        from safetensors.numpy import save_file

        from assay.core.fileio import atomic_path

        with atomic_path(path) as tmp:
            save_file({"mean": self.mean, "scale": self.scale, "coef": self.coef,
                       "intercept": np.array([self.intercept])}, str(tmp))

    def load(self, path: Path) -> None:
        from safetensors.numpy import load_file

        t = load_file(str(path))
        self.mean, self.scale, self.coef = t["mean"], t["scale"], t["coef"]
        self.intercept = float(t["intercept"][0])


class Head(Protocol):
    """What a feature detector's classifier does: :class:`LinearHead`, :class:`detect.trees.TreeHead`."""

    def fit(self, X: np.ndarray, y: np.ndarray) -> "Head": ...

    def decision(self, X: np.ndarray) -> np.ndarray: ...

    def save(self, path: Path) -> None: ...

    def load(self, path: Path) -> None: ...


class FeatureDetector(ScoredDetector):
    """A fixed feature vector per image and a classifier :class:`Head` over it (``self.head``)."""

    #: the head's file in the detector folder
    weights_file: ClassVar[str]
    head: Head

    @abstractmethod
    def features(self, images: Images) -> np.ndarray:
        """(N, D) features of the images."""

    def fit(self, images: Images, y: np.ndarray) -> "FeatureDetector":
        y = check_fit_input(images, y)
        self.head.fit(self.features(self._augmented(images, seed=0)), y)
        return self

    def decision_function(self, images: Images) -> np.ndarray:
        return self.head.decision(self.features(images))

    def save_weights(self, folder: Path) -> None:
        self.head.save(folder / self.weights_file)

    def load_weights(self, folder: Path) -> None:
        self.head.load(folder / self.weights_file)


class RegionFeatureDetector(FeatureDetector):
    """Per-image features of a centre region of at most ``max_side`` px at native pixels
    (:meth:`region_features`, ``n_features`` values) and an L2-regularised logistic head (``C``)."""

    n_features: ClassVar[int]

    def __init__(self, max_side: int = 512, C: float = 0.05) -> None:
        super().__init__()
        if max_side < 16:
            raise ValueError(f"max_side must be at least 16 pixels, got {max_side}")
        self.max_side, self.C = max_side, C
        self.head = LinearHead("logreg", C)

    @abstractmethod
    def region_features(self, image: np.ndarray) -> np.ndarray:
        """(n_features,) features of one image's centre region."""

    def features(self, images: Images) -> np.ndarray:
        if not len(images):
            return np.zeros((0, self.n_features))
        return np.stack([self.region_features(img) for img in images])
