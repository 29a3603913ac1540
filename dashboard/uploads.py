"""Uploaded media: size limit, type checked by content (not by name), kept in a temporary folder."""

from __future__ import annotations

import contextlib
import re
import tempfile
from pathlib import Path
from typing import Iterator, Sequence

MAX_UPLOAD_MB = 50
#: (signature test, suffix the file is saved under); the suffix is what the scanner reads the file as
SIGNATURES: tuple[tuple[str, str], ...] = (
    ("jpeg", ".jpg"), ("png", ".png"), ("webp", ".webp"), ("bmp", ".bmp"), ("tiff", ".tif"),
    ("mp4", ".mp4"), ("avi", ".avi"), ("webm", ".webm"),
)


def sniff(data: bytes) -> str | None:
    """The media type the bytes begin with (one of :data:`SIGNATURES`), or None."""
    head = data[:16]
    tests = {
        "jpeg": head.startswith(b"\xff\xd8\xff"),
        "png": head.startswith(b"\x89PNG\r\n\x1a\n"),
        "webp": head[:4] == b"RIFF" and head[8:12] == b"WEBP",
        "bmp": head.startswith(b"BM"),
        "tiff": head[:4] in (b"II*\x00", b"MM\x00*"),
        "mp4": head[4:8] == b"ftyp",
        "avi": head[:4] == b"RIFF" and head[8:12] == b"AVI ",
        "webm": head.startswith(b"\x1a\x45\xdf\xa3"),
    }
    return next((kind for kind, _ in SIGNATURES if tests[kind]), None)


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
