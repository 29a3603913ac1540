"""cooc: co-occurrences of quantised noise residuals per colour channel, and a linear classifier.

Features: :mod:`detect.cooccurrence` (the steganalysis rich-model family, 850 values). They
read the pixels at their own scale (a centre region of at most ``max_side`` px), so a face is
judged at its native resolution; ``benchmarks/detect_in_the_wild.py`` measures how far the
cue carries to generators and cameras not seen in training.
"""

from __future__ import annotations

import numpy as np

from assay.detect.base import DETECTORS, Images
from assay.detect.cooccurrence import N_FEATURES, cooccurrence_features
from assay.detect.detectors.linear import FeatureDetector, LinearHead

WEIGHTS = "cooc.safetensors"


@DETECTORS.register("cooc")
class CooccurrenceDetector(FeatureDetector):
    name = "cooc"
    weights_file = WEIGHTS

    def __init__(self, max_side: int = 512, C: float = 0.05) -> None:
        super().__init__()
        if max_side < 16:
            raise ValueError(f"max_side must be at least 16 pixels, got {max_side}")
        self.max_side, self.C = max_side, C
        self.head = LinearHead("logreg", C)

    def features(self, images: Images) -> np.ndarray:
        if not len(images):
            return np.zeros((0, N_FEATURES))
        return np.stack([cooccurrence_features(img, self.max_side) for img in images])
