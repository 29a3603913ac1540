"""Training augmentations (Wang et al. 2020) as named switches, and the transforms they share
with the robustness tests.

Each augmentation is ``(image, rng) -> image`` and fires with probability ``p`` (0.5, as
in Wang et al.'s blur+JPEG setting).
"""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from assay.core.registry import Registry

Aug = Callable[[np.ndarray, np.random.Generator], np.ndarray]
AUGMENTATIONS: Registry[Aug] = Registry("augmentation")
P = 0.5


def gaussian_blur(image: np.ndarray, sigma: float) -> np.ndarray:
    import cv2

    if sigma <= 0:
        return image
    return cv2.GaussianBlur(image, (0, 0), sigmaX=sigma, sigmaY=sigma, borderType=cv2.BORDER_REFLECT)


def jpeg(image: np.ndarray, quality: int) -> np.ndarray:
    """Encode to JPEG at ``quality`` and decode again."""
    from assay.core.imageio import decode, encode

    return decode(encode(image, "jpeg", int(quality)))


def rescale(image: np.ndarray, factor: float) -> np.ndarray:
    import cv2

    h, w = image.shape[:2]
    size = (max(1, round(w * factor)), max(1, round(h * factor)))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA if factor < 1 else cv2.INTER_LINEAR)


def centre_crop(image: np.ndarray, fraction: float) -> np.ndarray:
    h, w = image.shape[:2]
    ch, cw = max(1, round(h * fraction)), max(1, round(w * fraction))
    y, x = (h - ch) // 2, (w - cw) // 2
    return np.ascontiguousarray(image[y:y + ch, x:x + cw])


@AUGMENTATIONS.register("blur")
def aug_blur(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Gaussian blur, sigma uniform in [0, 3]."""
    return gaussian_blur(image, float(rng.uniform(0, 3))) if rng.random() < P else image


#: each augmentation's registry metadata names the codecs its output may carry (for the domain profile)
@AUGMENTATIONS.register("jpeg", codecs={"jpeg": (30, 100)})
def aug_jpeg(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """JPEG re-encoding, quality uniform in [30, 100]."""
    return jpeg(image, int(rng.integers(30, 101))) if rng.random() < P else image


@AUGMENTATIONS.register("resize-crop")
def aug_resize_crop(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Random resize (factor 0.75-1.25) then a crop back to the original size (padded if smaller)."""
    if rng.random() >= P:
        return image
    from assay.detect.tiling import pad_to

    h, w = image.shape[:2]
    out = pad_to(rescale(image, float(rng.uniform(0.75, 1.25))), max(h, w))
    y = int(rng.integers(0, out.shape[0] - h + 1))
    x = int(rng.integers(0, out.shape[1] - w + 1))
    return np.ascontiguousarray(out[y:y + h, x:x + w])


@AUGMENTATIONS.register("reencode", codecs={"jpeg": (60, 100)})
def aug_reencode(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """What photos go through in the field: a downscale by 0.5-1 with p = 0.25, then JPEG
    quality 60-100 with p = 0.8 (else kept lossless). Applied to both classes alike, it teaches
    traces that survive re-encoding, not the codec of one class."""
    if rng.random() < 0.25:
        h, w = image.shape[:2]
        factor = float(rng.uniform(0.5, 1.0))
        if min(h, w) * factor >= 32:
            image = rescale(image, factor)
    return jpeg(image, int(rng.integers(60, 101))) if rng.random() < 0.8 else image


@AUGMENTATIONS.register("flip")
def aug_flip(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Horizontal flip."""
    return np.ascontiguousarray(image[:, ::-1]) if rng.random() < P else image


def compose(names: Sequence[str]) -> Aug | None:
    """One augmentation applying the named ones in order (None for an empty list)."""
    funcs = [AUGMENTATIONS.get(n) for n in names]
    if not funcs:
        return None

    def apply(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        for f in funcs:
            image = f(image, rng)
        return image

    return apply
