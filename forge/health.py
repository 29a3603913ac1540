"""Training health: detecting non-finite losses and mode collapse."""

from __future__ import annotations

import math

import torch

from assay.core.errors import AssayError


class TrainingError(AssayError, RuntimeError):
    """Training cannot go on; the message says why and what was tried."""


def finite(*values: float) -> bool:
    return all(math.isfinite(v) for v in values)


def diversity(images: torch.Tensor) -> float:
    """Mean pairwise RMS distance (per value, images in [-1, 1]) of a batch: near 0 means the
    generator maps different latents to the same image (mode collapse)."""
    flat = images.detach().float().flatten(1)
    if flat.shape[0] < 2:
        return float("nan")
    return float(torch.pdist(flat).mean() / math.sqrt(flat.shape[1]))


def collapse(score: float, peak: float, real: float, ratio: float, floor: float) -> str:
    """Why a sample batch of diversity ``score`` looks collapsed ("" if it does not): near-constant samples
    (below ``floor`` x ``real``, the training images' diversity), or below ``ratio`` x the run's ``peak``."""
    if real > 0 and score < floor * real:
        return (f"near-constant samples: fixed-batch diversity {score:.4f} is below {floor} x the training "
                f"images' {real:.4f}")
    if score < ratio * peak:
        return f"fixed-batch diversity {score:.4f} fell below {ratio} x its peak {peak:.4f}"
    return ""
