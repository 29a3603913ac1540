"""Perturbations a detector meets in the field, by name: the robustness table's columns."""

from __future__ import annotations

from typing import Callable

import numpy as np

from assay.core.registry import Registry
from assay.detect.augment import centre_crop, gaussian_blur, jpeg, rescale

Perturb = Callable[[np.ndarray], np.ndarray]
PERTURBATIONS: Registry[Perturb] = Registry("perturbation")

PERTURBATIONS.register("jpeg95")(lambda im: jpeg(im, 95))
PERTURBATIONS.register("jpeg75")(lambda im: jpeg(im, 75))
PERTURBATIONS.register("jpeg50")(lambda im: jpeg(im, 50))
PERTURBATIONS.register("downscale0.5")(lambda im: rescale(im, 0.5))
PERTURBATIONS.register("blur1")(lambda im: gaussian_blur(im, 1.0))
PERTURBATIONS.register("crop90")(lambda im: centre_crop(im, 0.9))


@PERTURBATIONS.register("strip-metadata")
def strip_metadata(image: np.ndarray) -> np.ndarray:
    """Re-save losslessly with no metadata (PNG) and decode: the pixels a stripped file carries."""
    from assay.core.imageio import decode, encode

    return decode(encode(image, "png"))
