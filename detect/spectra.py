"""Frequency features of images: the grayscale view and the azimuthally averaged log power spectrum
(Durall et al. 2020), shared by the spectral detector and the training-domain profile."""

from __future__ import annotations

import numpy as np


def gray(image: np.ndarray) -> np.ndarray:
    """Luma (BT.601) of an H x W x 3 image as float64."""
    return image[..., :3].astype(np.float64) @ np.array([0.299, 0.587, 0.114])


def azimuthal_spectrum(image: np.ndarray, bins: int = 64) -> np.ndarray:
    """Log power spectrum averaged over rings: ``bins`` values from 0 to the corner frequency.

    The profile is centred (its mean subtracted) so overall brightness and contrast do not
    count, only the shape across frequencies.
    """
    g = gray(image)
    g = g - g.mean()
    h, w = g.shape
    power = np.abs(np.fft.fft2(g)) ** 2
    fy = np.fft.fftfreq(h)[:, None]
    fx = np.fft.fftfreq(w)[None, :]
    radius = np.sqrt(fx ** 2 + fy ** 2) / np.sqrt(0.5)  # 0 .. 1 (corner)
    idx = np.minimum((radius * bins).astype(np.int64), bins - 1).ravel()
    sums = np.bincount(idx, weights=power.ravel(), minlength=bins)
    counts = np.bincount(idx, minlength=bins)
    centres = (np.arange(bins) + 0.5) / bins
    have = counts > 0
    profile = np.log(sums[have] / counts[have] + 1e-8)
    profile = np.interp(centres, centres[have], profile)  # small crops leave some rings empty
    return profile - profile.mean()
