"""Image grids of generator output: progress grids, mixing grids, interpolation strips, eval figures."""

from __future__ import annotations

import numpy as np
import torch
from torchvision.utils import make_grid

from assay.core.imageio import encode
from assay.forge.data import to_float, to_uint8


def tile(images: torch.Tensor, nrow: int | None = None) -> np.ndarray:
    """H x W x 3 uint8 grid of N x 3 x S x S images in [-1, 1], ``nrow`` per row (default: square-ish)."""
    cols = nrow or max(1, int(len(images) ** 0.5))
    grid = make_grid(images.float().cpu(), nrow=cols, padding=2, normalize=False, pad_value=-1)
    return to_uint8(grid[None])[0]


def grid_image(images: torch.Tensor, cols: int | None = None) -> bytes:
    """PNG bytes of a grid (square-ish unless ``cols`` is given) of N x 3 x S x S images in [-1, 1]."""
    return encode(tile(images, cols), "png")


def grid_png(images: np.ndarray, cols: int | None = None) -> bytes:
    """PNG bytes of N x H x W x 3 uint8 images as a grid."""
    return grid_image(to_float(torch.from_numpy(np.ascontiguousarray(images)).permute(0, 3, 1, 2)), cols)
