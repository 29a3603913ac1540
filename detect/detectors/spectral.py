"""spectral (Durall et al. 2020): azimuthally averaged log power spectrum + a linear classifier.

The spectrum is taken on the image at its native size; radii are in cycles per pixel, so
crops of different sizes give comparable profiles of ``bins`` values. But a photo larger than
anything seen in training has a different pixel scale (a face spread over more pixels is
smoother per pixel): with ``rescale`` (the default) a crop whose short side exceeds the
largest training image's is area-downscaled to that size first, so the detector compares
like with like and never flags a photo for being large. Smaller crops are never enlarged.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from assay.detect.base import DETECTORS, Images
from assay.detect.detectors.linear import LinearHead
from assay.detect.detectors.scored import ScoredDetector, check_fit_input
from assay.detect.spectra import azimuthal_spectrum

WEIGHTS = "spectral.safetensors"


@DETECTORS.register("spectral")
class SpectralDetector(ScoredDetector):
    """Durall 2020 spectral features + logistic regression (or linear SVM)."""

    name = "spectral"

    def __init__(self, bins: int = 64, classifier: str = "logreg", C: float = 1.0, rescale: bool = True) -> None:
        super().__init__()
        self.bins, self.classifier, self.C, self.rescale = bins, classifier, C, rescale
        self.head = LinearHead(classifier, C)
        #: the largest short side seen in training: the pixel scale crops are brought down to
        self.scale: int | None = None
        #: mean spectrum of the real training images (for ``--explain`` plots)
        self.real_mean_spectrum: np.ndarray | None = None
        self.fake_mean_spectrum: np.ndarray | None = None

    def spectrum(self, image: np.ndarray) -> np.ndarray:
        """The ``bins``-long feature vector of one image (what the classifier sees)."""
        return azimuthal_spectrum(image, self.bins)

    def view(self, image: np.ndarray) -> np.ndarray:
        from assay.detect.scale import downscale_to

        return downscale_to(image, self.scale) if self.rescale and self.scale else image

    def view_short_side(self) -> int | None:
        return self.scale if self.rescale and self.scale else None

    def features(self, images: Images) -> np.ndarray:
        if not len(images):
            return np.zeros((0, self.bins))
        return np.stack([self.spectrum(self.view(img)) for img in images])

    def fit(self, images: Images, y: np.ndarray) -> "SpectralDetector":
        y = check_fit_input(images, y)
        self.scale = int(max(min(img.shape[:2]) for img in images))
        X = self.features(self._augmented(images, seed=0))
        self.head.fit(X, y)
        self.real_mean_spectrum = X[y == 0].mean(axis=0)
        self.fake_mean_spectrum = X[y == 1].mean(axis=0)
        return self

    def decision_function(self, images: Images) -> np.ndarray:
        return self.head.decision(self.features(images))

    def save_weights(self, folder: Path) -> None:
        from safetensors.numpy import save_file

        from assay.core.fileio import atomic_path

        self.head.save(folder / WEIGHTS)
        with atomic_path(folder / "spectra.safetensors") as tmp:
            save_file({"real_mean": self.real_mean_spectrum, "fake_mean": self.fake_mean_spectrum,
                       "scale": np.array([self.scale or 0])}, str(tmp))

    def load_weights(self, folder: Path) -> None:
        from safetensors.numpy import load_file

        self.head.load(folder / WEIGHTS)
        spectra = load_file(str(folder / "spectra.safetensors"))
        self.real_mean_spectrum, self.fake_mean_spectrum = spectra["real_mean"], spectra["fake_mean"]
        self.scale = int(spectra["scale"][0]) if "scale" in spectra and spectra["scale"][0] else None
