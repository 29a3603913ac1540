"""Video files for labelling: MP4 written through OpenCV, whole clips in memory, and MP4's XMP box.

Stamped video is written as MP4 with the ``mp4v`` (MPEG-4 Part 2) codec, the one this
OpenCV build can write without network codecs (``avc1``/H.264 has no encoder here). The
implicit label fields go into an XMP packet in a top-level ``uuid`` box with the XMP
UUID (``BE7ACFCB-97A9-42E8-9C71-999491E3AFAC``), where the XMP specification (part 3)
puts XMP in MP4; the box is appended after the existing boxes, so no sample offset moves.
"""

from __future__ import annotations

import os
import struct
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np

from assay.core.errors import VideoError
from assay.core.media import VIDEO_EXTS
from assay.core.videoio import VideoReader

FOURCC = "mp4v"
XMP_UUID = bytes.fromhex("BE7ACFCB97A942E89C71999491E3AFAC")
#: the frames verify decodes at most (watermark averaging and the mark check need the start only)
MAX_VERIFY_SECONDS = 10.0


@dataclass
class Clip:
    """Decoded frames (N x H x W x 3 uint8 RGB) and the frame rate; ``total_frames`` counts the whole file."""

    frames: np.ndarray
    fps: float
    total_frames: int


def video_format(data: bytes, path: str | Path) -> str | None:
    """"mp4" when the bytes start with an ISO BMFF ``ftyp`` box, else the video suffix (without the dot), else None."""
    if data[4:8] == b"ftyp":
        return "mp4"
    suffix = Path(path).suffix.lower()
    return suffix[1:] if suffix in VIDEO_EXTS else None


def read_clip(path: str | Path, max_seconds: float | None = None) -> Clip:
    """Decode a video's frames into memory (the first ``max_seconds`` when given). Raises :class:`VideoError`."""
    reader = VideoReader(path)
    limit = None if max_seconds is None else max(1, int(round(max_seconds * reader.info.fps)))
    frames = np.stack(list(reader.pixels(limit)))
    total = max(reader.info.frame_count, len(frames)) if limit is not None else len(frames)
    return Clip(frames, reader.info.fps, total)


def write_mp4(frames: Iterable[np.ndarray], fps: float, path: str | Path) -> int:
    """Encode RGB frames (all one size) as ``mp4v`` MP4 at ``path``; returns the frame count.

    Raises :class:`VideoError` when OpenCV cannot write it or there are no frames.
    """
    import cv2  # heavy: only loaded when video is written

    writer = None
    n = 0
    try:
        for frame in frames:
            if writer is None:
                h, w = frame.shape[:2]
                writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*FOURCC), float(fps), (int(w), int(h)))
                if not writer.isOpened():
                    raise VideoError(f"OpenCV cannot write {FOURCC} MP4 at {w}x{h}")
            writer.write(np.ascontiguousarray(frame[..., ::-1]))
            n += 1
    finally:
        if writer is not None:
            writer.release()
    if n == 0:
        raise VideoError("no frames to write")
    return n


def encode_mp4(frames: np.ndarray, fps: float) -> bytes:
    """MP4 bytes (``mp4v``) of RGB frames. Raises :class:`VideoError` when OpenCV cannot write it."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "clip.mp4"
        write_mp4(frames, fps, path)
        data = path.read_bytes()
    if len(data) < 16:
        raise VideoError("OpenCV wrote no video data")
    return data


def decode_mp4(data: bytes) -> Clip:
    """Decode MP4 bytes (through a temporary file, as OpenCV reads paths)."""
    fd, tmp = tempfile.mkstemp(suffix=".mp4")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        return read_clip(tmp)
    finally:
        os.unlink(tmp)


def top_level_boxes(data: bytes) -> Iterator[tuple[bytes, int, int]]:
    """(type, offset, size) of each top-level ISO BMFF box; stops at a malformed box."""
    pos = 0
    while pos + 8 <= len(data):
        size, kind = struct.unpack(">I4s", data[pos:pos + 8])
        if size == 1 and pos + 16 <= len(data):
            size = struct.unpack(">Q", data[pos + 8:pos + 16])[0]
        elif size == 0:
            size = len(data) - pos
        if size < 8 or pos + size > len(data):
            return
        yield kind, pos, size
        pos += size


def add_xmp_box(data: bytes, packet: bytes) -> bytes:
    """``data`` with an XMP ``uuid`` box appended (any earlier XMP box is dropped)."""
    if data[4:8] != b"ftyp":
        raise VideoError("not an ISO BMFF (MP4) file: no ftyp box")
    kept = b"".join(data[o:o + s] for kind, o, s in top_level_boxes(data)
                    if not (kind == b"uuid" and data[o + 8:o + 24] == XMP_UUID))
    return kept + struct.pack(">I4s", 24 + len(packet), b"uuid") + XMP_UUID + packet


def read_xmp_box(data: bytes) -> bytes | None:
    """The XMP packet of an MP4's top-level XMP ``uuid`` box, or None."""
    for kind, offset, size in top_level_boxes(data):
        if kind == b"uuid" and data[offset + 8:offset + 24] == XMP_UUID:
            return data[offset + 24:offset + size]
    return None
