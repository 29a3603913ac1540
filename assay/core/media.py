"""Which files are media, and finding them: one suffix table and one walker for every subsystem."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterator, Sequence

from assay.core.errors import oserror_reason

IMAGE_EXTS = frozenset({".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff"})
VIDEO_EXTS = frozenset({".mp4", ".mov", ".avi", ".webm"})
#: media kind -> the suffixes read as that kind
SUFFIXES: dict[str, frozenset[str]] = {"image": IMAGE_EXTS, "video": VIDEO_EXTS}
MEDIA_EXTS = IMAGE_EXTS | VIDEO_EXTS


def media_kind(path: str | Path) -> str:
    """``"video"`` for video suffixes, ``"image"`` otherwise (decoding says if it is not one)."""
    return "video" if Path(path).suffix.lower() in VIDEO_EXTS else "image"


def iter_media(paths: Sequence[str | Path], recursive: bool = False,
               exts: frozenset[str] = MEDIA_EXTS) -> Iterator[tuple[Path, str | None]]:
    """Yield (path, problem) for every file named in ``paths`` or found in its folders, in order.

    Files named explicitly are yielded whatever their suffix; folders contribute their files
    whose suffix is in ``exts`` (default: images and videos), sorted by name, and their
    sub-folders' when ``recursive``. A missing path, an unreadable folder or a folder that
    links back into itself is yielded with a one-line problem; it never stops the walk.
    """
    for raw in paths:
        path = Path(raw)
        if not path.exists() and not path.is_symlink():
            yield path, "no such file or directory"
        elif path.is_dir():
            yield from _walk(path, recursive, exts, set())
        else:
            yield path, None


def _walk(folder: Path, recursive: bool, exts: frozenset[str],
          seen: set[tuple[int, int]]) -> Iterator[tuple[Path, str | None]]:
    """The files of one folder (symlinked folders followed once; ``seen`` holds the folders walked)."""
    try:
        st = folder.stat()
    except OSError as exc:
        yield folder, oserror_reason(exc)
        return
    key = (st.st_dev, st.st_ino)
    if key in seen:
        yield folder, "symlink loop"
        return
    seen.add(key)
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError as exc:
        yield folder, oserror_reason(exc)
        return
    for entry in entries:
        path = Path(entry.path)
        try:
            is_dir = entry.is_dir(follow_symlinks=True)
        except OSError as exc:
            yield path, oserror_reason(exc)
            continue
        if is_dir:
            if recursive:
                yield from _walk(path, recursive, exts, seen)
        elif path.suffix.lower() in exts:
            yield path, None
