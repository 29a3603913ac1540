"""Verify's side of video: one streaming pass over a clip's start (the watermark statistic averaged over its
frames, the frames the mark check samples) and the check of the visible mark on those frames."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np

from assay.core.videoio import VideoReader
from assay.provenance import mp4, visible, watermark

#: frames verify samples for the visible mark within the first 2 seconds
MARK_SAMPLES = 5


def mark_sample_frames(n_frames: int, fps: float) -> list[int]:
    """Indices of the frames checked for the visible mark: spread over the first 2 seconds (or the clip)."""
    window = min(n_frames, max(1, math.ceil(visible.MIN_MARK_SECONDS * fps)))
    return sorted({int(round(i)) for i in np.linspace(0, window - 1, MARK_SAMPLES)})


def check_video_mark(frames: Mapping[int, np.ndarray], fps: float, total_frames: int,
                     record: dict[str, Any] | None) -> dict[str, str]:
    """Is the recorded mark on the frames of the first 2 seconds? pass / fail / absent with the reason.

    ``frames`` maps frame indices to decoded frames and must hold those of
    :func:`mark_sample_frames`. The record must say the mark was shown for 2 s (or the
    whole of a shorter clip), and the mark must be found on each sampled frame.
    """
    if not record:
        return {"status": "absent", "reason": "no visible mark recorded for this file"}
    needed = min(visible.MIN_MARK_SECONDS, total_frames / fps)
    shown = (record.get("frames") or {}).get("seconds", 0.0)
    if shown + 0.5 / fps < needed:
        return {"status": "fail", "reason": f"mark recorded for {shown:g} s only; at least {needed:g} s are required"}
    indices = [i for i in mark_sample_frames(total_frames, fps) if i in frames]
    results = [visible.check_mark(frames[i], record) for i in indices]
    missing = [i for i, r in zip(indices, results) if r["status"] != "pass"]
    window = min(total_frames, math.ceil(visible.MIN_MARK_SECONDS * fps)) / fps
    if missing:
        first = results[indices.index(missing[0])]["reason"]
        return {"status": "fail", "reason": f"mark missing on {len(missing)}/{len(indices)} sampled frames of the "
                                            f"first {window:.2f} s (frame {missing[0]}: {first})"}
    return {"status": "pass", "reason": f"{record['style']['text']!r} found on {len(indices)}/{len(indices)} sampled "
                                        f"frames of the first {window:.2f} s"}


@dataclass
class VideoScan:
    """One streaming pass over a video's start for verify: what it is, the watermark reading, the mark's frames."""

    info: dict[str, Any]
    reading: watermark.WatermarkReading
    samples: dict[int, np.ndarray]

    @property
    def total_frames(self) -> int:
        return int(self.info["frames"])


def scan_video(reader: VideoReader, method_name: str, key: int | None = None,
               max_seconds: float = mp4.MAX_VERIFY_SECONDS) -> VideoScan:
    """Decode the first ``max_seconds``: average the watermark statistic (read with ``key``, None: the public
    one), keep the frames the mark check needs."""
    wm = watermark.watermark_method(method_name, key=key)
    limit = max(1, round(max_seconds * reader.info.fps))
    wanted = set(mark_sample_frames(reader.info.frame_count, reader.info.fps))
    samples: dict[int, np.ndarray] = {}
    total, small, n = None, None, 0
    for n, frame in enumerate(reader.pixels(limit), 1):
        if n - 1 in wanted:
            samples[n - 1] = frame
        if small is None:
            try:
                soft = wm.soft_bits(frame)
                total = soft if total is None else total + soft
            except watermark.TooSmall as exc:
                small = f"too small for a watermark: {exc}"
    frames = n if n < limit else max(reader.info.frame_count, n)
    needed = mark_sample_frames(frames, reader.info.fps)
    if not set(needed) <= samples.keys():  # the container's frame count was wrong: fetch the right ones
        samples = {i: f for i, f in enumerate(reader.pixels(max(needed) + 1)) if i in needed}
    reading = (watermark.WatermarkReading("too_small", method_name, reason=small) if small is not None
               else watermark.reading_from_soft(total / n, method_name))
    info = {"fps": round(reader.info.fps, 3), "frames": frames, "duration_s": round(frames / reader.info.fps, 3),
            "width": reader.info.width, "height": reader.info.height, "frames_decoded": n}
    return VideoScan(info, reading, samples)
