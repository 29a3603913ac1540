"""Reading image sets (prepared real sets and forge sample sets) through one manifest convention.

Every image set artefact folder holds ``manifest.jsonl``: one JSON object per image with at
least ``file`` (path relative to the folder), ``sha256`` (of the decoded pixels), ``label``
(``"real"`` or ``"synthetic"``) and ``split`` (``train``/``val``/``test``). Prepared sets add
``source``, ``identity``, ``labels`` (e.g. age/gender/race), ``landmarks`` and ``embedding``;
sample sets add ``family``, ``run_id``, ``checkpoint_sha256``, ``seed``, ``latent_index`` and
``condition``.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from assay.core.catalog import Record
from assay.core.fileio import read_jsonl
from assay.core.imageio import decode
from assay.core.workspace import Workspace

MANIFEST = "manifest.jsonl"
IMAGE_SET_KINDS = ("datasets", "samples")


@dataclass
class ImageSet:
    """An image set artefact: its catalog record, folder and manifest rows."""

    record: Record
    root: Path
    rows: list[dict[str, Any]]

    def __len__(self) -> int:
        return len(self.rows)

    def select(self, split: str | Sequence[str] | None = None) -> list[dict[str, Any]]:
        """Manifest rows of one split (or several, or all)."""
        if split is None:
            return list(self.rows)
        wanted = {split} if isinstance(split, str) else set(split)
        return [r for r in self.rows if r.get("split") in wanted]

    def path(self, row: dict[str, Any]) -> Path:
        return self.root / row["file"]

    def load(self, rows: Sequence[dict[str, Any]] | None = None, workers: int = 4) -> np.ndarray:
        """Decode rows (default: all) into one N x H x W x 3 uint8 array."""
        rows = self.rows if rows is None else rows
        if not rows:
            return np.zeros((0, 0, 0, 3), dtype=np.uint8)
        with ThreadPoolExecutor(max_workers=workers) as pool:
            images = list(pool.map(lambda r: decode(self.path(r)), rows))
        return np.stack(images)

    @property
    def image_size(self) -> int | None:
        size = self.record.params.get("size")
        return int(size) if size else None


def open_set(ws: Workspace, ref: str) -> ImageSet:
    """Open a prepared data set or a sample set by id or name."""
    rec = ws.resolve(ref)
    if rec.kind not in IMAGE_SET_KINDS:
        raise ValueError(f"{ref!r} is a {rec.kind} artefact, not an image set (expected a data set or a sample set)")
    root = ws.path_of(rec)
    manifest = root / MANIFEST
    if not manifest.exists():
        raise FileNotFoundError(f"{rec.kind} {rec.id} has no {MANIFEST} at {manifest}")
    return ImageSet(rec, root, read_jsonl(manifest))


class ImageSetWriter:
    """Write an image set into a staging folder, then register it in one step.

    Images go to ``images/`` as they come (atomically each); the manifest and the catalog
    row appear only in :meth:`commit`, so an interrupted writer leaves no half-made set.
    """

    def __init__(self, ws: Workspace, kind: str, name: str) -> None:
        if kind not in IMAGE_SET_KINDS:
            raise ValueError(f"image sets are one of {IMAGE_SET_KINDS}, not {kind!r}")
        self.ws, self.kind, self.name = ws, kind, name
        self.staging = ws.staging_dir(kind, name)
        (self.staging / "images").mkdir(exist_ok=True)
        self.rows: list[dict[str, Any]] = []

    def add_bytes(self, data: bytes, row: dict[str, Any], filename: str) -> dict[str, Any]:
        """Store encoded image bytes as ``images/<filename>`` with its manifest row."""
        from assay.core.fileio import atomic_write_bytes

        rel = f"images/{filename}"
        atomic_write_bytes(self.staging / rel, data)
        row = {**row, "file": rel}
        self.rows.append(row)
        return row

    def add(self, image: np.ndarray, row: dict[str, Any], filename: str | None = None, fmt: str = "png",
            quality: int = 95) -> dict[str, Any]:
        """Encode and store an HxWx3 uint8 image; ``sha256`` of its pixels is added to the row."""
        from assay.core.imageio import encode, pixel_sha256

        sha = row.get("sha256") or pixel_sha256(image)
        filename = filename or f"{sha[:24]}.{fmt}"
        return self.add_bytes(encode(image, fmt, quality), {**row, "sha256": sha}, filename)

    def commit(self, params: dict[str, Any] | None = None, parents: Sequence[str] = ()) -> Record:
        """Write ``manifest.jsonl`` and register the set in the catalog."""
        from assay.core.fileio import atomic_write_jsonl

        atomic_write_jsonl(self.staging / MANIFEST, self.rows)
        params = {**(params or {}), "count": len(self.rows)}
        return self.ws.commit(self.kind, self.name, self.staging, params, parents)
