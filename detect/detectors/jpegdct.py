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

from assay.detect.base import DETECTORS
from assay.detect.blockdct import PER_FREQUENCY, block_dct_features
from assay.detect.detectors.linear import RegionFeatureDetector

WEIGHTS = "jpeg-dct.safetensors"


@DETECTORS.register("jpeg-dct")
class JpegDCTDetector(RegionFeatureDetector):
    name = "jpeg-dct"
    weights_file = WEIGHTS
    n_features = 64 * PER_FREQUENCY

    def region_features(self, image: np.ndarray) -> np.ndarray:
        return block_dct_features(image, self.max_side)
