"""An upload from a request: its type by content, its size and pixel count checked, kept in a temporary folder.

The file is saved under a name the service makes (``upload.<type>``), never one from the
request, in a folder of its own that is removed when the request is answered.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Iterator

from PIL import Image

from assay.core.errors import InputError, MediaError
from assay.core.media import SIGNATURES, sniff
from assay.core.videoio import VideoReader

READ_TYPES = "JPEG, PNG, WebP, BMP, TIFF, MP4/MOV, AVI, WebM"
VIDEO_TYPES = frozenset({"mp4", "avi", "webm"})


class Refused(InputError):
    """An upload the service will not read; ``status`` is the HTTP status that says why (413, 415, 422)."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status


@dataclass(frozen=True)
class Upload:
    """A checked upload: where it lies, what the client called it, its type, size and hash."""

    path: Path
    name: str
    media_type: str
    size: int
    sha256: str

    def describe(self) -> dict[str, object]:
        return {"name": self.name, "type": self.media_type, "bytes": self.size, "sha256": self.sha256}


def display_name(name: str | None) -> str:
    """The client's file name as a label only: its last part, letters, digits and ``._-``, at most 80 characters."""
    base = re.split(r"[\\/]", name or "")[-1]
    return re.sub(r"[^A-Za-z0-9_.-]", "_", base)[:80] or "upload"


def _check_image(path: Path, max_pixels: int) -> None:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as img:
                w, h = img.size
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise Refused(413, f"too many pixels (over {max_pixels}): refused as a possible decompression bomb") from None
    except Exception as exc:  # the header does not parse: truncated or not the type it starts as
        raise Refused(422, f"not a readable image: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}"
                      ) from None
    if w * h > max_pixels:
        raise Refused(413, f"{w}x{h} = {w * h} pixels is over the limit of {max_pixels} (decompression bomb guard)")


def _check_video(path: Path, max_pixels: int, max_s: float) -> None:
    try:
        info = VideoReader(path).info
    except MediaError as exc:
        raise Refused(422, f"not a readable video: {exc}") from None
    if info.width * info.height > max_pixels:
        raise Refused(413, f"video frames of {info.width}x{info.height} are over the limit of {max_pixels} pixels")
    if info.duration_s > max_s:
        raise Refused(413, f"video of {info.duration_s:.0f} s is longer than the limit of {max_s:g} s")


@contextlib.contextmanager
def received(source: BinaryIO, name: str | None, max_bytes: int, max_pixels: int, max_video_s: float
             ) -> Iterator[Upload]:
    """The upload in ``source`` saved and checked (:class:`Refused` says why not); its folder is removed on exit."""
    head = source.read(16)
    kind = sniff(head)
    if kind is None:
        raise Refused(415, f"not an image or video this service reads ({READ_TYPES}), whatever its name says")
    with tempfile.TemporaryDirectory(prefix="assay-serve-") as folder:
        path = Path(folder) / f"upload{dict(SIGNATURES)[kind]}"
        digest, size = hashlib.sha256(head), len(head)
        with open(path, "wb") as out:
            out.write(head)
            while chunk := source.read(1 << 20):
                size += len(chunk)
                if size > max_bytes:
                    raise Refused(413, f"upload over the limit of {max_bytes} bytes")
                digest.update(chunk)
                out.write(chunk)
        if kind in VIDEO_TYPES:
            _check_video(path, max_pixels, max_video_s)
        else:
            _check_image(path, max_pixels)
        yield Upload(path, display_name(name), kind, size, digest.hexdigest())
