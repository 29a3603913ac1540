"""cooc: co-occurrences of quantised noise residuals per colour channel, and a linear classifier.

Features: :mod:`detect.cooccurrence` (the steganalysis rich-model family, 850 values). They
read the pixels at their own scale (a centre region of at most ``max_side`` px), so a face is
judged at its native resolution; ``benchmarks/detect_in_the_wild.py`` measures how far the
cue carries to generators and cameras not seen in training.
"""

from __future__ import annotations

import numpy as np

from assay.detect.base import DETECTORS
from assay.detect.cooccurrence import N_FEATURES, cooccurrence_features
from assay.detect.detectors.linear import RegionFeatureDetector

WEIGHTS = "cooc.safetensors"


@DETECTORS.register("cooc")
class CooccurrenceDetector(RegionFeatureDetector):
    name = "cooc"
    weights_file = WEIGHTS
    n_features = N_FEATURES

    def region_features(self, image: np.ndarray) -> np.ndarray:
        return cooccurrence_features(image, self.max_side)
