"""Co-occurrences of quantised noise residuals: the rich-model features of steganalysis, per colour channel.

An up-sampling generator leaves its trace in how neighbouring pixels' high-pass residuals
depend on each other; a camera's demosaicing and noise leave a different dependence. For each
channel the first- and second-order residuals are quantised by ``q``, truncated to
``[-T, T]`` and counted as horizontal and vertical triplets (``(2T + 1)^3`` cells each,
folded over sign symmetry); cross-channel pairs (R - G, B - G residual at one pixel) add
what demosaicing couples. Histograms are normalised and square-rooted (Hellinger), so a
linear classifier over them compares distributions.
"""

from __future__ import annotations

import numpy as np

from assay.detect.tiling import pad_to

#: truncation of the quantised residual: values in [-T, T]
T = 2
LEVELS = 2 * T + 1
#: (1-D high-pass kernel, quantiser) of each residual: first and second order
RESIDUALS = ((np.array([-1.0, 1.0]), 1.0), (np.array([1.0, -2.0, 1.0]), 2.0))
TRIPLETS = LEVELS ** 3
PAIRS = LEVELS ** 2
#: features per image: 3 channels x residuals x triplets, plus 2 cross-channel pair histograms per residual
N_FEATURES = 3 * len(RESIDUALS) * TRIPLETS + 2 * len(RESIDUALS) * PAIRS


def _quantised(x: np.ndarray, kernel: np.ndarray, q: float, axis: int) -> np.ndarray:
    """The residual along ``axis`` (valid part), quantised and truncated to [-T, T], shifted to 0..2T."""
    n = x.shape[axis] - len(kernel) + 1
    r = sum(k * np.take(x, np.arange(i, i + n), axis=axis) for i, k in enumerate(kernel))
    return (np.clip(np.rint(r / q), -T, T) + T).astype(np.int64)


def _triplets(codes: np.ndarray, axis: int) -> np.ndarray:
    """Normalised histogram of three consecutive codes along ``axis``, folded with its sign mirror."""
    n = codes.shape[axis] - 2
    a, b, c = (np.take(codes, np.arange(i, i + n), axis=axis) for i in range(3))
    idx = (a * LEVELS + b) * LEVELS + c
    hist = np.bincount(idx.ravel(), minlength=TRIPLETS).astype(np.float64)
    mirror = ((2 * T - a) * LEVELS + (2 * T - b)) * LEVELS + (2 * T - c)
    hist += np.bincount(mirror.ravel(), minlength=TRIPLETS)
    return hist / max(hist.sum(), 1.0)


def _pairs(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Normalised joint histogram of two code maps of one shape."""
    hist = np.bincount((u * LEVELS + v).ravel(), minlength=PAIRS).astype(np.float64)
    return hist / max(hist.sum(), 1.0)


def cooccurrence_features(image: np.ndarray, max_side: int = 512) -> np.ndarray:
    """(N_FEATURES,) square-rooted co-occurrence histograms of an RGB uint8 image's centre region
    of at most ``max_side`` px a side (an image under 8 px a side is reflect-padded, never enlarged)."""
    x = pad_to(image, 8).astype(np.float64)
    h, w = min(x.shape[0], max_side), min(x.shape[1], max_side)
    top, left = (x.shape[0] - h) // 2, (x.shape[1] - w) // 2
    x = x[top:top + h, left:left + w, :3]
    parts = []
    for kernel, q in RESIDUALS:
        codes = []
        for ch in range(3):
            horizontal = _quantised(x[..., ch], kernel, q, axis=1)
            vertical = _quantised(x[..., ch], kernel, q, axis=0)
            parts.append((_triplets(horizontal, axis=1) + _triplets(vertical, axis=0)) / 2)
            codes.append(horizontal)
        parts.append(_pairs(codes[0], codes[1]))
        parts.append(_pairs(codes[2], codes[1]))
    return np.sqrt(np.concatenate(parts))
