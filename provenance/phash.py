"""Perceptual hash of an image: what verify compares when the pixels are no longer byte-identical.

A 64-bit DCT hash: the luma, resized to 32 x 32, its 8 x 8 lowest DCT frequencies, each
bit set when the coefficient is above their median (the DC term left out of the median).
Re-encoding (JPEG), rescaling and the labels' own changes move a few bits; a different
picture moves about half of them.
"""

from __future__ import annotations

import numpy as np

BITS = 64
#: most differing bits for two images to count as the same picture (measured in docs/provenance.md)
TOLERANCE = 6


def phash(rgb: np.ndarray) -> str:
    """The 64-bit perceptual hash of an H x W x 3 uint8 image, as 16 hex digits."""
    import cv2

    luma = cv2.cvtColor(np.ascontiguousarray(rgb, np.uint8), cv2.COLOR_RGB2GRAY).astype(np.float32)
    low = cv2.dct(cv2.resize(luma, (32, 32), interpolation=cv2.INTER_AREA))[:8, :8].ravel()
    bits = low > np.median(low[1:])
    return int("".join("1" if b else "0" for b in bits), 2).to_bytes(BITS // 8, "big").hex()


def distance(a: str, b: str) -> int:
    """How many of the 64 bits two hashes differ in."""
    return bin(int(a, 16) ^ int(b, 16)).count("1")
