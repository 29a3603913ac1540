"""Video decoding through OpenCV: frames in order or sampled at a rate, with one-line reasons."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np

from assay.core.errors import VideoError
from assay.core.media import file_problem

#: frame rate assumed when a container does not state one
FALLBACK_FPS = 25.0


@dataclass
class Frame:
    """One decoded frame: its index, time in seconds and H x W x 3 uint8 RGB pixels."""

    index: int
    time_s: float
    image: np.ndarray


@dataclass
class VideoInfo:
    """What the file says: frames per second, frame count (at least 1), size and duration."""

    fps: float
    frame_count: int
    width: int
    height: int

    @property
    def duration_s(self) -> float:
        return self.frame_count / self.fps


def _cv2():
    """OpenCV, imported on first use (heavy, and only video needs it)."""
    import cv2

    return cv2


class VideoReader:
    """A video file; opening checks that its first frame decodes. Raises :class:`VideoError` with a one-line reason.

    Only a regular file within the video size limit is opened (:func:`assay.core.media.file_problem`).

    :meth:`frames` starts a fresh pass each call, so a reader can be read several times.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        problem = file_problem(self.path, "video")  # a pipe would block OpenCV; a device would never end
        if problem:
            raise VideoError(problem)
        cv2 = _cv2()
        cap = self._open()
        try:
            fps = float(cap.get(cv2.CAP_PROP_FPS) or 0.0)
            stated = int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
            ok, first = cap.read()
        finally:
            cap.release()
        if not ok or first is None:
            raise VideoError("no decodable frames (truncated or corrupt video)")
        height, width = first.shape[:2]
        self.info = VideoInfo(fps if np.isfinite(fps) and fps > 0 else FALLBACK_FPS, max(stated, 1), width, height)

    def _open(self):
        cv2 = _cv2()
        # FFmpeg's own log lines (e.g. on a corrupt stream) would interleave with the results; the reason says it
        os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")
        level = cv2.utils.logging.getLogLevel()
        cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_SILENT)
        try:
            cap = cv2.VideoCapture(str(self.path), cv2.CAP_FFMPEG)
        finally:
            cv2.utils.logging.setLogLevel(level)
        if not cap.isOpened():
            raise VideoError("not a readable video (OpenCV cannot open it)")
        return cap

    def frames(self, every_s: float | None = None, max_frames: int | None = None) -> Iterator[Frame]:
        """Every frame in order, or with ``every_s`` the first frame at or after 0, ``every_s``, 2 * ``every_s``, ...

        At most ``max_frames`` are yielded; frames in between samples are skipped without
        decoding. Raises :class:`VideoError` when a frame changes size mid-stream or none decodes.
        """
        if every_s is not None and every_s <= 0:
            raise ValueError(f"frame interval must be positive, got {every_s}")
        cap = self._open()
        try:
            next_t, index, produced = 0.0, 0, 0
            while max_frames is None or produced < max_frames:
                if not cap.grab():
                    break
                t = index / self.info.fps
                if every_s is None or t + 1e-9 >= next_t:
                    ok, bgr = cap.retrieve()
                    if ok and bgr is not None:  # an undecodable frame is skipped; the next one is taken
                        if bgr.shape[:2] != (self.info.height, self.info.width):
                            raise VideoError(f"frame {index} changes size mid-stream")
                        yield Frame(index, t, np.ascontiguousarray(bgr[..., ::-1]))
                        produced += 1
                        if every_s is not None:
                            next_t = (np.floor(t / every_s + 1e-9) + 1) * every_s
                index += 1
        finally:
            cap.release()
        if produced == 0:
            raise VideoError("no decodable frames (truncated or corrupt video)")

    def pixels(self, max_frames: int | None = None) -> Iterator[np.ndarray]:
        """The RGB pixels of the first ``max_frames`` frames (all when None), in order."""
        return (frame.image for frame in self.frames(max_frames=max_frames))
