"""Stamping MP4 video: the same labels as images, in the same order.

The visible mark is burned into the frames (the whole clip by default, never less than
the first 2 seconds), the watermark into every frame, then the frames are encoded as MP4
(``mp4v``); the XMP box is appended and the C2PA manifest (``video/mp4``, BMFF hard
binding) is signed last. The encode is lossy, so the watermark is read back from the
encoded frames at stamping time; when it does not decode there with some room to spare
(every bit's frame-averaged statistic at least ``DECODED_MARGIN`` on the right side, so
that a later re-encode does not flip it) it is embedded again with a larger margin
(``ssgrid``: 2, then 4, then 6). It is recorded as embedded only when it decodes from the
encoded file.
The implicit label fields also travel inside the signed manifest (``org.assay.labels``
-> ``implicit``), where no re-mux can drop them without breaking the signature.
Frames are streamed from the source file to the encoder one at a time, so a clip's length
is bounded by disk, not memory. Verify's side of video is :mod:`provenance.verify.video_scan`.
"""

from __future__ import annotations

import hashlib
import math
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np
from tqdm import tqdm

from assay.core.errors import VideoError
from assay.core.videoio import VideoReader
from assay.provenance import mp4, visible, watermark
from assay.provenance.keys.signing import SigningIdentity
from assay.provenance.payload import encode_payload
from assay.provenance.phash import phash
from assay.provenance.stamp.options import StampOptions, StampResult
from assay.provenance.stamp.seal import (
    new_record,
    parent_ingredient,
    seal,
    watermark_key,
)

#: a re-startable stream of RGB frames (the watermark search may need several passes)
FrameSource = Callable[[], Iterator[np.ndarray]]

#: ssgrid margins tried in turn until the watermark survives the encode (2 is the image default)
VIDEO_MARGINS = (2.0, 4.0, 6.0)
#: the weakest bit's frame-averaged statistic after the encode that ends the search
DECODED_MARGIN = 1.0
#: clips at least this long show a per-frame progress bar while stamping
PROGRESS_MIN_FRAMES = 240


def mark_frame_limit(fps: float, seconds: float | None) -> int | None:
    """How many leading frames get the visible mark: None for all, else ``seconds`` worth (at least 2 s)."""
    if seconds is None:
        return None
    if seconds < visible.MIN_MARK_SECONDS:
        raise ValueError(f"the visible mark must show for at least {visible.MIN_MARK_SECONDS:g} s of a video, "
                         f"got {seconds:g}")
    return math.ceil(seconds * fps)


def stamp_clip(clip: mp4.Clip, identity: SigningIdentity | None, options: StampOptions | None = None,
               content_id: str | None = None, source_type: str = "created", generator: dict[str, Any] | None = None,
               parent: tuple[bytes, str] | None = None, title: str | None = None) -> StampResult:
    """Label frames held in memory and return signed MP4 bytes (see the module text for the order).

    Raises :class:`SigningError` when C2PA is asked for and cannot be signed (no unsigned
    bytes come back), :class:`VideoError` when the frames cannot be encoded.
    """
    h, w = clip.frames.shape[1:3]
    return stamp_frames(lambda: iter(clip.frames), clip.fps, (w, h), identity, options, content_id, source_type,
                        generator, parent, title)


def stamp_frames(source: FrameSource, fps: float, size: tuple[int, int], identity: SigningIdentity | None,
                 options: StampOptions | None = None, content_id: str | None = None, source_type: str = "created",
                 generator: dict[str, Any] | None = None, parent: tuple[bytes, str] | None = None,
                 title: str | None = None, progress_total: int | None = None) -> StampResult:
    """Label a stream of frames of ``size`` (width, height) at ``fps`` and return signed MP4 bytes.

    ``progress_total`` (the expected frame count) shows a progress bar on stderr for each
    encode pass of clips of ``PROGRESS_MIN_FRAMES`` frames or more.
    """
    options = options or StampOptions()
    record = new_record(options, identity, content_id, source_type, generator, size, "mp4")
    content_id = record["content_id"]
    w, h = size
    mark_limit = mark_frame_limit(fps, options.video_mark_seconds)
    applied: list[str] = []
    skipped: dict[str, str] = {}
    style = options.mark if "visible" in options.labels else None

    def labelled(wm: watermark.WatermarkMethod | None = None, bits: np.ndarray | None = None) -> Iterator[np.ndarray]:
        frames = tqdm(source(), total=progress_total, desc=title or "video", unit="frame", leave=False,
                      file=sys.stderr, disable=(progress_total or 0) < PROGRESS_MIN_FRAMES)
        for i, frame in enumerate(frames):
            if style is not None and (mark_limit is None or i < mark_limit):
                frame, _ = visible.apply_mark(frame, style)
            yield wm.embed(frame, bits) if wm is not None else frame

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "stamped.mp4"
        if "watermark" in options.labels:
            back, record["watermark"] = _watermark_and_encode(labelled, fps, (w, h), content_id,
                                                              options.watermark_method, path, watermark_key(options))
        else:
            back = _encode_and_read_back(labelled(), fps, path)
        data = path.read_bytes()
    n = back.frames
    record["phash"] = back.phash
    record["video"] = {"fps": round(fps, 3), "frames": n, "duration_s": round(n / fps, 3), "codec": mp4.FOURCC}
    if style is not None:
        _, record["visible"] = visible.apply_mark(np.zeros((h, w, 3), np.uint8), style)
        marked = n if mark_limit is None else min(n, mark_limit)
        record["visible"]["frames"] = {"first": 0, "count": marked, "seconds": round(marked / fps, 3)}
        applied.append("visible")
    if "watermark" in record:
        if record["watermark"]["status"] == "embedded":
            applied.append("watermark")
        else:
            skipped["watermark"] = record["watermark"]["reason"]
    return seal(lambda xmp: mp4.add_xmp_box(data, xmp) if xmp else data, record, applied, skipped,
                back.pixel_sha256, options, identity, parent, title)


@dataclass
class _ReadBack:
    """What decoding the encoded file gave: frame count, pixel hash, frame-averaged watermark statistic,
    perceptual hash of the first frame."""

    frames: int
    pixel_sha256: str
    soft: np.ndarray | None
    phash: str | None


def _encode_and_read_back(frames: Iterator[np.ndarray], fps: float, path: Path,
                          wm: watermark.WatermarkMethod | None = None) -> _ReadBack:
    """Encode ``frames`` to ``path``, then decode it: the hash equals ``pixel_sha256`` of the stacked frames."""
    n = mp4.write_mp4(frames, fps, path)
    reader = VideoReader(path)
    digest = hashlib.sha256(repr(((n, reader.info.height, reader.info.width, 3), "uint8")).encode())
    total, count, first = None, 0, None
    for frame in reader.pixels():
        first = phash(frame) if first is None else first
        digest.update(frame.tobytes())
        count += 1
        if wm is not None:
            soft = wm.soft_bits(frame)
            total = soft if total is None else total + soft
    if count != n:
        raise VideoError(f"the encoded video decodes to {count} frames, {n} were written")
    return _ReadBack(n, digest.hexdigest(), None if total is None else total / n, first)


def _watermark_and_encode(labelled: Callable[..., Iterator[np.ndarray]], fps: float, size: tuple[int, int],
                          content_id: str, name: str, path: Path, key: int | None = None
                          ) -> tuple[_ReadBack, dict[str, Any]]:
    """Encode the labelled frames with the id embedded, raising the margin until it decodes from the file.

    Leaves the chosen encoding at ``path``; returns its read-back and the watermark record
    (``status`` embedded, too_small or lost_in_encode). Below the method's size the frames
    are encoded without a watermark. ``key``: the watermark key (None: the public one).
    """
    name = watermark.choose(name)  # ``auto`` is ssgrid for video
    wm = watermark.watermark_method(name, key=key)
    base = {"method": wm.name, "min_side": wm.min_side}
    if min(size) < wm.min_side:
        reason = f"too small for a watermark: {size[0]}x{size[1]} is below {wm.min_side} px"
        return _encode_and_read_back(labelled(), fps, path), {**base, "status": "too_small", "reason": reason}
    bits = encode_payload(content_id)
    sign = 2.0 * bits.astype(np.float32) - 1.0
    best: tuple[float, float | None] | None = None
    margins = VIDEO_MARGINS if hasattr(wm, "margin") else (None,)
    for margin in margins:
        method = watermark.watermark_method(name, key=key, margin=margin) if margin is not None else wm
        back, last = _encode_and_read_back(labelled(method, bits), fps, path, wm), margin
        room = float(np.min(back.soft * sign))
        if watermark.reading_from_soft(back.soft, name).content_id == content_id and (best is None or room > best[0]):
            best = (room, margin)
        if room >= DECODED_MARGIN:
            break
    if best is None:
        reason = f"the watermark did not survive the {mp4.FOURCC} encode (check code does not match)"
        return back, {**base, "status": "lost_in_encode", "reason": reason}
    room, margin = best
    if margin != last:  # an earlier margin did best: encode with it again
        back = _encode_and_read_back(labelled(watermark.watermark_method(name, key=key, margin=margin), bits), fps, path, wm)
    return back, {**base, "status": "embedded", "margin": margin, "decoded_margin": round(room, 3)}


def stamp_video(src: Path, out: Path, identity: SigningIdentity | None, options: StampOptions | None = None,
                source_type: str = "created", parent: Path | None = None,
                generator: dict[str, Any] | None = None) -> StampResult:
    """Stamp one video (MP4, MOV, AVI or WebM in; MP4 bytes out, for ``out``, which the caller writes).

    Frames are streamed from ``src``. Raises :class:`VideoError` for unreadable input,
    :class:`SigningError` when signing fails.
    """
    if out.suffix.lower() != ".mp4":
        raise ValueError(f"stamped video is written as .mp4, not {out.suffix!r}")
    reader = VideoReader(src)
    return stamp_frames(reader.pixels, reader.info.fps, (reader.info.width, reader.info.height), identity, options,
                        source_type=source_type, generator=generator, parent=parent_ingredient(parent),
                        title=out.name, progress_total=reader.info.frame_count)
