"""dct (Frank et al. 2020): log-magnitude 2-D DCT coefficients.

``dct`` averages the log |DCT| of native-resolution blocks over the image and fits a
logistic regression; ``dct-cnn`` feeds the DCT map of each tile to a small CNN.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from assay.detect.base import DETECTORS, Images
from assay.detect.detectors.linear import FeatureDetector, LinearHead
from assay.detect.detectors.torchdet import TorchDetector
from assay.detect.spectra import gray
from assay.detect.tiling import grid_tiles

WEIGHTS = "dct.safetensors"


def dct_features(image: np.ndarray, block: int = 32, max_tiles: int = 16) -> np.ndarray:
    """Mean log |DCT-II| over native-resolution blocks: ``block * block`` values."""
    from scipy.fft import dctn

    tiles = grid_tiles(image, block, max_tiles)
    logs = [np.log(np.abs(dctn(gray(t), norm="ortho")) + 1e-3) for t in tiles]
    return np.mean(logs, axis=0).ravel()


@DETECTORS.register("dct")
class DCTDetector(FeatureDetector):
    name = "dct"
    weights_file = WEIGHTS

    def __init__(self, block: int = 32, max_tiles: int = 16, C: float = 0.1) -> None:
        super().__init__()
        self.block, self.max_tiles, self.C = block, max_tiles, C
        self.head = LinearHead("logreg", C)

    def features(self, images: Images) -> np.ndarray:
        if not len(images):
            return np.zeros((0, self.block * self.block))
        return np.stack([dct_features(img, self.block, self.max_tiles) for img in images])


@DETECTORS.register("dct-cnn")
class DCTCNNDetector(TorchDetector):
    name = "dct-cnn"
    frequency_domain = True

    def __init__(self, width: int = 32, **kwargs: Any) -> None:
        self.width = width
        super().__init__(**kwargs)

    def build_module(self) -> Any:
        from assay.detect.nets import DCTNet

        return DCTNet(self.tile, self.width)
