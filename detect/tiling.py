"""Native-resolution tiles: crops of the image as it is, padded when small, never resized.

Offsets are even so that a tile keeps the image's 2 x 2 pixel grid (up-sampling traces have
period 2: a tile shifted by one pixel would see them out of phase).
"""

from __future__ import annotations

import math

import numpy as np


def pad_to(image: np.ndarray, size: int) -> np.ndarray:
    """Reflect-pad an image that is smaller than ``size`` on a side (bottom/right)."""
    h, w = image.shape[:2]
    ph, pw = max(0, size - h), max(0, size - w)
    if not ph and not pw:
        return image
    mode = "reflect" if min(h, w) > 1 else "edge"
    return np.pad(image, ((0, ph), (0, pw), (0, 0)), mode=mode)


def _starts(length: int, size: int, count: int) -> list[int]:
    if count <= 1 or length <= size:
        return [((length - size) // 2) & ~1]
    return sorted({int(round(v)) & ~1 for v in np.linspace(0, length - size, count)})


def grid_tiles(image: np.ndarray, size: int, max_tiles: int = 16) -> list[np.ndarray]:
    """Tiles covering the image on an even grid, at most ``max_tiles`` (spread evenly)."""
    image = pad_to(image, size)
    h, w = image.shape[:2]
    ny, nx = math.ceil(h / size), math.ceil(w / size)
    while ny * nx > max_tiles:
        if ny >= nx:
            ny -= 1
        else:
            nx -= 1
    return [image[y:y + size, x:x + size] for y in _starts(h, size, ny) for x in _starts(w, size, nx)]


def random_tile(image: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
    """One tile at a random even offset (the training crop)."""
    image = pad_to(image, size)
    h, w = image.shape[:2]
    y = int(rng.integers(0, h - size + 1)) & ~1
    x = int(rng.integers(0, w - size + 1)) & ~1
    return image[y:y + size, x:x + size]
