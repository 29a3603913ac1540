"""Training batches from a prepared image set: held in memory as one uint8 tensor when it fits,
decoded from disk batch by batch otherwise. Batch indices are a pure function of (seed, step),
split across ranks like ``DistributedSampler``, so a resumed or distributed run draws the same data."""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import torch

from assay.core.imageio import ImageError, decode
from assay.core.imagesets import ImageSet
from assay.forge.conditions import ConditionKey, row_indices


def resize(img: np.ndarray, size: int) -> np.ndarray:
    if img.shape[0] == size and img.shape[1] == size:
        return img
    import cv2

    interp = cv2.INTER_AREA if img.shape[0] > size else cv2.INTER_CUBIC
    return cv2.resize(img, (size, size), interpolation=interp)


class FaceBatches:
    """The training rows of an image set at one size, with condition indices when the run has keys."""

    def __init__(self, imageset: ImageSet, size: int, keys: Sequence[ConditionKey] = (),
                 memory_budget_mb: int = 2048, split: str = "train") -> None:
        rows = imageset.select(split) or imageset.select(None)
        self.rejects: list[tuple[str, str]] = []
        cond: list[list[int]] = []
        if keys:
            kept = []
            for row in rows:
                idx = row_indices(row.get("labels"), keys)
                if idx is None:
                    self.rejects.append((row["file"], f"no usable {'/'.join(k.name for k in keys)} label: "
                                                      f"{row.get('labels')}"))
                    continue
                kept.append(row)
                cond.append(idx)
            if not kept:
                names = ", ".join(k.name for k in keys)
                raise ValueError(f"data set {imageset.record.id} has no rows with usable labels for {names}")
            rows = kept
        if not rows:
            raise ValueError(f"data set {imageset.record.id} has no images")
        self.imageset, self.rows, self.size = imageset, rows, size
        self.cond = torch.tensor(cond, dtype=torch.long) if keys else None
        self.in_memory = len(rows) * size * size * 3 <= memory_budget_mb * (1 << 20)
        self.images = self._load_all() if self.in_memory else None
        if not self.rows:
            raise ValueError(f"data set {imageset.record.id} has no readable images")

    def __len__(self) -> int:
        return len(self.rows)

    @property
    def skipped(self) -> int:
        """Rows left out: no usable condition label or an unreadable image (reasons in ``rejects``)."""
        return len(self.rejects)

    def _decode(self, row: dict[str, Any]) -> np.ndarray:
        return resize(decode(self.imageset.path(row)), self.size)

    def _try_decode(self, row: dict[str, Any]) -> np.ndarray | str:
        try:
            return self._decode(row)
        except ImageError as exc:
            return str(exc)

    def _load_all(self) -> torch.Tensor:
        """Decode every row into one uint8 tensor; unreadable images are dropped with their reasons."""
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=4) as pool:
            decoded = list(pool.map(self._try_decode, self.rows))
        keep = [i for i, d in enumerate(decoded) if not isinstance(d, str)]
        self.rejects += [(self.rows[i]["file"], d) for i, d in enumerate(decoded) if isinstance(d, str)]
        self.rows = [self.rows[i] for i in keep]
        if self.cond is not None:
            self.cond = self.cond[keep]
        if not keep:
            return torch.zeros(0, 3, self.size, self.size, dtype=torch.uint8)
        arr = np.stack([decoded[i] for i in keep])
        return torch.from_numpy(arr).permute(0, 3, 1, 2).contiguous()      # N x 3 x S x S uint8

    def indices(self, seed: int, draw: int, batch: int, rank: int = 0, world: int = 1) -> torch.Tensor:
        """Indices of the ``draw``-th batch: epochs are seeded permutations, each rank takes every world-th."""
        n = len(self.rows)
        per_draw = batch * world
        per_epoch = max(1, n // per_draw)
        epoch, pos = divmod(draw, per_epoch)
        g = torch.Generator().manual_seed(seed * 1_000_003 + epoch)
        perm = torch.randperm(n, generator=g)
        if n < per_draw:
            perm = perm.repeat((per_draw + n - 1) // n)
        chunk = perm[pos * per_draw:(pos + 1) * per_draw]
        return chunk[rank::world]

    def batch(self, idx: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """uint8 images N x 3 x S x S and condition indices (or None)."""
        if self.images is not None:
            images = self.images[idx]
        else:
            arr = np.stack([self._decode(self.rows[i]) for i in idx.tolist()])
            images = torch.from_numpy(arr).permute(0, 3, 1, 2)
        return images, (self.cond[idx] if self.cond is not None else None)


def to_float(images: torch.Tensor) -> torch.Tensor:
    """uint8 [0, 255] -> float [-1, 1]."""
    return images.float().div_(127.5).sub_(1.0)


def to_uint8(x: torch.Tensor) -> np.ndarray:
    """Float N x 3 x H x W in [-1, 1] -> N x H x W x 3 uint8."""
    return ((x.detach().float().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).permute(0, 2, 3, 1).cpu().numpy()
