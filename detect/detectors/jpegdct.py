"""jpeg-dct: per-frequency statistics of the block-aligned 8 x 8 DCT of luma, and a linear classifier.

The cue lives where JPEG works: for each of the 64 frequencies of the codec's own block grid,
the log mean magnitude, a histogram of magnitudes and the correlation with the neighbouring
blocks' coefficient (an up-sampler's periodic pattern repeats from block to block; a
photograph's fine detail does not). Re-encoding rounds these coefficients but keeps their
statistics, which is what lets the detector look through JPEG q75 (see
``benchmarks/detect_jpeg_robust.py`` for how far). Features: :mod:`detect.blockdct`.
"""

from __future__ import annotations

import numpy as np

from assay.detect.base import DETECTORS, Images
from assay.detect.blockdct import PER_FREQUENCY, block_dct_features
from assay.detect.detectors.linear import FeatureDetector, LinearHead

WEIGHTS = "jpeg-dct.safetensors"


@DETECTORS.register("jpeg-dct")
class JpegDCTDetector(FeatureDetector):
    name = "jpeg-dct"
    weights_file = WEIGHTS

    def __init__(self, max_side: int = 512, C: float = 0.05) -> None:
        super().__init__()
        if max_side < 16:
            raise ValueError(f"max_side must be at least 16 pixels, got {max_side}")
        self.max_side, self.C = max_side, C
        self.head = LinearHead("logreg", C)

    def features(self, images: Images) -> np.ndarray:
        if not len(images):
            return np.zeros((0, 64 * PER_FREQUENCY))
        return np.stack([block_dct_features(img, self.max_side) for img in images])
