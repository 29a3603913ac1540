"""Block-aligned 8 x 8 DCT statistics of the luma channel: the domain JPEG itself works in.

JPEG quantises each of the 64 frequencies of every 8 x 8 block of Y; re-encoding moves
coefficients to multiples of the quantiser but keeps, per frequency, how large they are, how
often they vanish and how a block's coefficient relates to its neighbour's. Those
per-frequency statistics are what :class:`detect.detectors.jpegdct.JpegDCTDetector` learns.

The block grid is found from the pixels (the phase with the strongest 8-periodic
discontinuity), so a crop of a JPEG that does not start on the codec's grid is read on the
codec's grid all the same.
"""

from __future__ import annotations

import numpy as np

from assay.detect.spectra import gray
from assay.detect.tiling import pad_to

BLOCK = 8
#: edges of the |coefficient| histogram bins (the last bin is open)
HIST_EDGES = np.array([0.0, 0.5, 1.5, 3.0, 6.0, 12.0, 24.0, 48.0])
#: features per frequency: log mean |c|, the histogram, correlation with the right and the lower block
PER_FREQUENCY = 1 + len(HIST_EDGES) + 2


def dct8() -> np.ndarray:
    """The orthonormal 8-point DCT-II matrix (the transform of baseline JPEG)."""
    k, i = np.arange(BLOCK)[:, None], np.arange(BLOCK)[None, :]
    d = np.cos(np.pi * (2 * i + 1) * k / (2 * BLOCK)) * np.sqrt(2.0 / BLOCK)
    d[0] /= np.sqrt(2.0)
    return d


_D = dct8()


def grid_phase(y: np.ndarray) -> tuple[int, int]:
    """(row, column) offset of the 8 x 8 grid: the phase whose block edges differ most from the rest."""
    def phase(diffs: np.ndarray) -> int:
        n = len(diffs) // BLOCK * BLOCK
        if n < BLOCK:
            return 0
        per = diffs[:n].reshape(-1, BLOCK).mean(axis=0)  # per[p]: mean jump between pixel p and p + 1 (mod 8)
        return int((np.argmax(per) + 1) % BLOCK)

    cols = np.abs(np.diff(y, axis=1)).mean(axis=0)
    rows = np.abs(np.diff(y, axis=0)).mean(axis=1)
    return phase(rows), phase(cols)


def block_coefficients(image: np.ndarray, max_side: int = 512) -> np.ndarray:
    """DCT of the 8 x 8 luma blocks on the image's JPEG grid: (rows, cols, 8, 8), centre region
    of at most ``max_side`` pixels a side (an image under 24 px a side is reflect-padded, never enlarged)."""
    y = gray(pad_to(image, 3 * BLOCK)) - 128.0
    dy, dx = grid_phase(y)
    y = y[dy:, dx:]  # at least 17 px remain: two blocks on each axis
    h, w = (min(s, max_side) // BLOCK * BLOCK for s in y.shape)
    top, left = ((y.shape[0] - h) // 2) & ~7, ((y.shape[1] - w) // 2) & ~7
    blocks = y[top:top + h, left:left + w].reshape(h // BLOCK, BLOCK, w // BLOCK, BLOCK).transpose(0, 2, 1, 3)
    return _D @ blocks @ _D.T


def _neighbour_correlation(c: np.ndarray, axis: int) -> np.ndarray:
    """Per frequency, the correlation of a block's coefficient with the next block's along ``axis``."""
    a = np.moveaxis(c, axis, 0)
    x, y = a[:-1].reshape(-1, 64), a[1:].reshape(-1, 64)
    x, y = x - x.mean(axis=0), y - y.mean(axis=0)
    return (x * y).mean(axis=0) / (x.std(axis=0) * y.std(axis=0) + 1e-6)


def block_dct_features(image: np.ndarray, max_side: int = 512) -> np.ndarray:
    """``64 * PER_FREQUENCY`` statistics of the block DCT, frequency by frequency."""
    c = block_coefficients(image, max_side)
    flat = np.abs(c.reshape(-1, 64))
    bins = np.searchsorted(HIST_EDGES, flat, side="right") - 1  # 0 .. len(HIST_EDGES) - 1
    hist = np.stack([(bins == b).mean(axis=0) for b in range(len(HIST_EDGES))], axis=1)
    energy = np.log1p(flat.mean(axis=0))[:, None]
    corr = np.stack([_neighbour_correlation(c, 1), _neighbour_correlation(c, 0)], axis=1)
    return np.concatenate([energy, hist, corr], axis=1).ravel()
