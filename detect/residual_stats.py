"""Noise-residual statistics at native pixels: how an image's finest detail is laid out.

The residual is the luma minus the mean of its four neighbours. From it: the residual energy at
each phase of a period-2, 4, 8 and 16 grid (sorted, so the grid's offset does not matter; an
up-sampling decoder leaves a phase-dependent energy, a camera does not), the mean signed
residual per phase (JPEG's 8 px blocks and a decoder's grid), the peaks of its power spectrum at
1/2, 1/4, 3/4, 1/8 and 3/8 cycles a pixel (averaged over 256 px windows), and its overall level.
Computed on the image as it is (never resized), on a centre region of at most ``max_side`` px.
"""

from __future__ import annotations

import numpy as np

from assay.detect.spectra import gray

PERIODS = (2, 4, 8, 16)
WINDOW = 256
PEAKS = (2, 4, 8, 8 / 3, 4 / 3)  # WINDOW / k: the spectral bins at these periods
#: features per image: sorted phase energies and a mean-residual value per period, 2 per peak, the level
N_FEATURES = sum(p * p + 1 for p in PERIODS) + 2 * len(PEAKS) + 1


def luma_residual(image: np.ndarray) -> np.ndarray:
    """Luma minus the mean of its four neighbours (valid part, 2 px shorter each way)."""
    g = gray(image)
    return g[1:-1, 1:-1] - 0.25 * (g[:-2, 1:-1] + g[2:, 1:-1] + g[1:-1, :-2] + g[1:-1, 2:])


def _peaks(r: np.ndarray) -> list[float]:
    """Log power at the PEAKS bins (axes and diagonal) above the median, over WINDOW px windows."""
    h, w = r.shape
    windows = [r[y:y + WINDOW, x:x + WINDOW] for y in range(0, h - WINDOW + 1, WINDOW)
               for x in range(0, w - WINDOW + 1, WINDOW)]
    if not windows:  # smaller than one window: the spectrum of the whole (cropped square)
        side = min(h, w)
        windows, n = [r[:side, :side]], side
    else:
        n = WINDOW
    s = np.log(np.mean([np.abs(np.fft.fft2(x)) ** 2 for x in windows], axis=0) + 1e-6)
    base = float(np.median(s))
    out = []
    for k in PEAKS:
        b = int(round(n / k)) % n
        out += [float(s[0, b] + s[b, 0] - 2 * base), float(s[b, b] - base)]
    return out


def residual_features(image: np.ndarray, max_side: int = 1024) -> np.ndarray:
    """(N_FEATURES,) residual statistics of an RGB uint8 image (at least 20 px a side)."""
    h, w = image.shape[:2]
    if min(h, w) < 20:
        raise ValueError(f"residual statistics need an image of at least 20 px a side, got {w}x{h}")
    hh, ww = min(h, max_side), min(w, max_side)
    top, left = ((h - hh) // 2) & ~15, ((w - ww) // 2) & ~15  # keep the 16 px grid's phase
    r = luma_residual(image[top:top + hh, left:left + ww])[1:, 1:]  # index 0 = pixel 2 of the region
    e = r * r
    level = float(e.mean()) + 1e-6
    out: list[float] = []
    for p in PERIODS:
        H, W = e.shape[0] // p * p, e.shape[1] // p * p
        energy = e[:H, :W].reshape(H // p, p, W // p, p).mean(axis=(0, 2)) / level
        out += np.sort(np.log(energy.ravel() + 1e-6)).tolist()
        mean = r[:H, :W].reshape(H // p, p, W // p, p).mean(axis=(0, 2))
        out.append(float(np.log(np.abs(mean).mean() / np.sqrt(level) + 1e-6)))
    out += _peaks(r)
    out.append(float(np.log(level)))
    return np.nan_to_num(np.asarray(out, np.float64))
