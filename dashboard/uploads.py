"""Uploaded media: size limit, type checked by content (not by name), kept in a temporary folder."""

from __future__ import annotations

import contextlib
import re
import tempfile
from pathlib import Path
from typing import Iterator, Sequence

from assay.core.media import SIGNATURES, sniff

MAX_UPLOAD_MB = 50


def check(name: str, data: bytes, max_mb: int = MAX_UPLOAD_MB) -> str:
    """The suffix to save an upload under; ValueError with a one-line reason when it is refused."""
    if len(data) > max_mb * 1024 * 1024:
        raise ValueError(f"{name}: {len(data) / 2**20:.1f} MB is over the {max_mb} MB limit")
    kind = sniff(data)
    if kind is None:
        raise ValueError(f"{name}: not an image or video this scan reads (JPEG, PNG, WebP, BMP, TIFF, MP4/MOV, "
                         "AVI, WebM), whatever its name says")
    return dict(SIGNATURES)[kind]


@contextlib.contextmanager
def saved(files: Sequence[tuple[str, bytes, str]]) -> Iterator[list[Path]]:
    """Write checked uploads (name, bytes, suffix) into a temporary folder, removed on exit."""
    with tempfile.TemporaryDirectory(prefix="assay-upload-") as folder:
        paths = []
        for i, (name, data, suffix) in enumerate(files):
            stem = re.sub(r"[^A-Za-z0-9_.-]", "_", Path(name).stem)[:60] or "upload"
            path = Path(folder) / f"{i:03d}-{stem}{suffix}"
            path.write_bytes(data)
            paths.append(path)
        yield paths
