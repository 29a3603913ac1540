"""Which files are media, finding them and opening them: one suffix table, one walker and one opener for all.

Only regular files are read, and only up to a size limit per media kind (:data:`MAX_FILE_BYTES`,
overridden by ``ASSAY_MAX_IMAGE_BYTES`` / ``ASSAY_MAX_VIDEO_BYTES``): a named pipe, a device
(a link to ``/dev/zero``), a socket or an oversized file gets a one-line reason before a byte
of it is read. The walker checks with ``stat``; :func:`open_media` checks again on the open
file, so a file swapped in between is caught too.
"""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path
from typing import BinaryIO, Iterator, Sequence

from assay.core.errors import (
    ImageError,
    InputError,
    MediaError,
    VideoError,
    media_oserror,
    oserror_reason,
)

IMAGE_EXTS = frozenset({".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff"})
VIDEO_EXTS = frozenset({".mp4", ".mov", ".avi", ".webm"})
#: media kind -> the suffixes read as that kind
SUFFIXES: dict[str, frozenset[str]] = {"image": IMAGE_EXTS, "video": VIDEO_EXTS}
MEDIA_EXTS = IMAGE_EXTS | VIDEO_EXTS


MiB = 1 << 20
#: media kind -> the largest file read, in bytes (images are decoded whole; video is streamed by OpenCV,
#: but provenance reads a video's bytes for its manifest)
MAX_FILE_BYTES: dict[str, int] = {"image": 256 * MiB, "video": 2048 * MiB}
#: media kind -> the error raised for a file of that kind that cannot be used
ERRORS: dict[str, type[MediaError]] = {"image": ImageError, "video": VideoError}
#: what a file that is not a regular file is, by its ``stat`` type test
_NOT_REGULAR = ((stat.S_ISFIFO, "a named pipe"), (stat.S_ISCHR, "a character device"),
                (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"))


#: (media type, suffix a file of that type is saved under) in the order :func:`sniff` tests them
SIGNATURES: tuple[tuple[str, str], ...] = (
    ("jpeg", ".jpg"), ("png", ".png"), ("webp", ".webp"), ("bmp", ".bmp"), ("tiff", ".tif"),
    ("mp4", ".mp4"), ("avi", ".avi"), ("webm", ".webm"),
)


def sniff(data: bytes) -> str | None:
    """The media type the bytes begin with (one of :data:`SIGNATURES`), or None: the type by content, not by name."""
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


def media_kind(path: str | Path) -> str:
    """``"video"`` for video suffixes, ``"image"`` otherwise (decoding says if it is not one)."""
    return "video" if Path(path).suffix.lower() in VIDEO_EXTS else "image"


def limit_env(kind: str) -> str:
    """The environment variable overriding the size limit of ``kind`` files."""
    return f"ASSAY_MAX_{kind.upper()}_BYTES"


def max_file_bytes(kind: str) -> int:
    """The largest ``kind`` file read: ``ASSAY_MAX_<KIND>_BYTES`` when set, else :data:`MAX_FILE_BYTES`."""
    raw = os.environ.get(limit_env(kind), "").strip()
    if not raw:
        return MAX_FILE_BYTES[kind]
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value <= 0:
        raise InputError(f"{limit_env(kind)} must be a positive number of bytes, got {raw!r}")
    return value


def stat_problem(st: os.stat_result, kind: str) -> str | None:
    """Why a file with this ``stat`` is not read as ``kind`` (not a regular file, empty, too large), or None."""
    if stat.S_ISDIR(st.st_mode):
        return "is a directory"
    if not stat.S_ISREG(st.st_mode):
        what = next((name for test, name in _NOT_REGULAR if test(st.st_mode)), "not a regular file")
        return f"{what}, not a regular file: only regular files are read"
    if st.st_size == 0:
        return "empty file (0 bytes)"
    limit = max_file_bytes(kind)
    if st.st_size > limit:
        return (f"too large: {st.st_size} bytes > the {kind} limit of {limit} bytes "
                f"(raise it with {limit_env(kind)})")
    return None


def file_problem(path: str | Path, kind: str | None = None) -> str | None:
    """Why ``path`` is not read (missing, a loop, not a regular file, empty, too large), or None; reads nothing."""
    try:
        st = os.stat(path)
    except OSError as exc:
        return oserror_reason(exc)
    return stat_problem(st, kind or media_kind(path))


@contextlib.contextmanager
def open_media(path: str | Path, kind: str | None = None) -> Iterator[BinaryIO]:
    """``path`` open for binary reading, once the open file is known to be regular and within the size limit.

    The open never blocks (a named pipe is opened non-blocking, then refused). Raises the
    kind's :data:`ERRORS` class with a one-line reason, or an ``EnvironmentFault`` for a
    fault of the machine (I/O error).
    """
    kind = kind or media_kind(path)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise media_oserror(exc, ERRORS[kind]) from None
    try:
        problem = stat_problem(os.fstat(fd), kind)
        if problem:
            raise ERRORS[kind](problem)
        os.set_blocking(fd, True)
        fh = os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise
    with fh:
        yield fh


def read_media(path: str | Path, kind: str | None = None) -> bytes:
    """The bytes of a media file, read through :func:`open_media` (so at most the kind's size limit)."""
    kind = kind or media_kind(path)
    with open_media(path, kind) as fh:
        try:
            return fh.read()
        except OSError as exc:
            raise media_oserror(exc, ERRORS[kind]) from None


def iter_media(paths: Sequence[str | Path], recursive: bool = False,
               exts: frozenset[str] = MEDIA_EXTS) -> Iterator[tuple[Path, str | None]]:
    """Yield (path, problem) for every file named in ``paths`` or found in its folders, in order.

    Files named explicitly are yielded whatever their suffix; folders contribute their files
    whose suffix is in ``exts`` (default: images and videos), sorted by name, and their
    sub-folders' when ``recursive``. A missing path, an unreadable folder, a folder that
    links back into itself, a link loop, and a file that is not read (not a regular file,
    empty, over the size limit: :func:`file_problem`) are yielded with a one-line problem;
    nothing stops the walk.
    """
    for raw in paths:
        path = Path(raw)
        if not path.exists() and not path.is_symlink():
            yield path, "no such file or directory"
        elif path.is_dir():
            yield from _walk(path, recursive, exts, set())
        else:
            yield path, file_problem(path)


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
            yield path, file_problem(path)
