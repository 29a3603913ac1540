"""residual: noise-residual statistics at native pixels and gradient-boosted trees.

Features: :mod:`detect.residual_stats` (grid-phase energies, JPEG-grid means, spectral peaks and
the level of the luma residual, 355 values) of a centre region of at most ``max_side`` px, never
resized. Trees, not a linear head: the same statistic means different things for a 250 px news
photo and a 1024 px portrait, and trees split on that. ``benchmarks/detect_in_the_wild.py``
measured it on generators held out.
"""

from __future__ import annotations

import numpy as np

from assay.detect.base import DETECTORS, Images
from assay.detect.detectors.linear import FeatureDetector
from assay.detect.residual_stats import N_FEATURES, residual_features
from assay.detect.trees import TreeHead

WEIGHTS = "residual.safetensors"


@DETECTORS.register("residual")
class ResidualDetector(FeatureDetector):
    name = "residual"
    weights_file = WEIGHTS

    def __init__(self, max_side: int = 1024, trees: int = 200, learning_rate: float = 0.05, leaves: int = 15,
                 seed: int = 0) -> None:
        super().__init__()
        if max_side < 32:
            raise ValueError(f"max_side must be at least 32 pixels, got {max_side}")
        self.max_side, self.trees, self.learning_rate, self.leaves, self.seed = (max_side, trees, learning_rate,
                                                                                 leaves, seed)
        self.head = TreeHead(trees, learning_rate, leaves, seed)

    def features(self, images: Images) -> np.ndarray:
        if not len(images):
            return np.zeros((0, N_FEATURES))
        return np.stack([residual_features(img, self.max_side) for img in images])
