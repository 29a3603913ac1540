"""Scan inputs: finding image and video files, and sampling video frames at a rate (OpenCV)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np

from assay.core.errors import MediaError
from assay.core.imageio import IMAGE_EXTS, iter_image_files

VIDEO_EXTS = frozenset({".mp4", ".mov", ".avi", ".webm"})
MEDIA_EXTS = IMAGE_EXTS | VIDEO_EXTS
#: frame rate assumed when a container does not state one
FALLBACK_FPS = 25.0
AV_LOG_QUIET = -8


def media_kind(path: str | Path) -> str:
    """``"video"`` for video suffixes, ``"image"`` otherwise (decoding says if it is not one)."""
    return "video" if Path(path).suffix.lower() in VIDEO_EXTS else "image"


def iter_media(paths: Sequence[str | Path], recursive: bool = False) -> Iterator[tuple[Path, str | None]]:
    """Yield (path, problem) for every image or video named or found in folders, in order.

    Files named explicitly are yielded whatever their suffix; folders contribute their
    image and video files (and sub-folders' when ``recursive``). A missing path is yielded
    with a one-line problem.
    """
    for raw in paths:
        path = Path(raw)
        if not path.exists() and not path.is_symlink():
            yield path, "no such file or directory"
        elif path.is_dir():
            yield from iter_image_files(path, recursive=recursive, exts=MEDIA_EXTS)
        else:
            yield path, None


@dataclass
class VideoInfo:
    """What the container says: frames per second, frame count, size and duration."""

    fps: float
    frame_count: int
    width: int
    height: int

    @property
    def duration_s(self) -> float:
        return self.frame_count / self.fps if self.fps > 0 else 0.0


@dataclass
class Frame:
    """One sampled frame: its index, time in seconds and RGB pixels."""

    index: int
    time_s: float
    image: np.ndarray


class Video:
    """A video opened with OpenCV; iterate :meth:`frames` to sample it."""

    def __init__(self, path: str | Path) -> None:
        import cv2

        self.path = Path(path)
        try:
            size = self.path.stat().st_size
        except OSError as exc:
            raise MediaError(f"unreadable: {exc.strerror or exc}") from None
        if size == 0:
            raise MediaError("empty file (0 bytes)")
        # FFmpeg's own log lines would interleave with the results; our reason line says it instead
        os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", str(AV_LOG_QUIET))
        self._cap = cv2.VideoCapture(str(self.path))
        if not self._cap.isOpened():
            raise MediaError("cannot open video (corrupt or unsupported codec)")
        fps = float(self._cap.get(cv2.CAP_PROP_FPS) or 0.0)
        self.info = VideoInfo(
            fps=fps if np.isfinite(fps) and fps > 0 else FALLBACK_FPS,
            frame_count=max(0, int(self._cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)),
            width=int(self._cap.get(cv2.CAP_PROP_FRAME_WIDTH) or 0),
            height=int(self._cap.get(cv2.CAP_PROP_FRAME_HEIGHT) or 0),
        )

    def __enter__(self) -> "Video":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._cap.release()

    def frames(self, every_s: float = 1.0, max_frames: int | None = None) -> Iterator[Frame]:
        """Frames at times 0, ``every_s``, 2 * ``every_s``, ... (the first frame at or after each).

        Frames are grabbed in order and only the sampled ones are decoded. Raises
        :class:`MediaError` when not a single frame can be decoded.
        """
        import cv2

        if every_s <= 0:
            raise ValueError(f"frame interval must be positive, got {every_s}")
        next_t, index, produced = 0.0, 0, 0
        while max_frames is None or produced < max_frames:
            if not self._cap.grab():
                break
            t = index / self.info.fps
            if t + 1e-9 >= next_t:
                ok, bgr = self._cap.retrieve()
                if ok and bgr is not None:
                    yield Frame(index, t, np.ascontiguousarray(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)))
                    produced += 1
                    next_t = (np.floor(t / every_s + 1e-9) + 1) * every_s
            index += 1
        if produced == 0:
            raise MediaError("no decodable frames (corrupt or empty video)")
