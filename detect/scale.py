"""Pixel scale: bring a crop down to the scale a detector was trained at (never up: up-sampling
adds the very traces the detectors look for)."""

from __future__ import annotations

import numpy as np


def downscale_to(image: np.ndarray, side: int) -> np.ndarray:
    """Area-downscale ``image`` so its short side is ``side``; smaller images come back as they are."""
    h, w = image.shape[:2]
    if min(h, w) <= side:
        return image
    from assay.detect.augment import rescale

    return rescale(image, side / min(h, w))
