"""Stamping images: the visible mark and the watermark on the pixels, encoded with the XMP, then signed."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, PngImagePlugin

from assay.core.imageio import decode, pixel_sha256
from assay.provenance import implicit, visible, watermark
from assay.provenance.keys.signing import SigningIdentity
from assay.provenance.payload import encode_payload
from assay.provenance.phash import phash
from assay.provenance.stamp.options import FORMATS, StampOptions, StampResult
from assay.provenance.stamp.seal import (
    new_record,
    parent_ingredient,
    seal,
    watermark_key,
)


def encode_pixels(rgb: np.ndarray, fmt: str, xmp: bytes | None, quality: int) -> bytes:
    """``rgb`` encoded as ``fmt`` (png, jpg or webp), carrying the XMP packet ``xmp`` when given."""
    buf = io.BytesIO()
    img = Image.fromarray(rgb)
    if fmt == "png":
        info = PngImagePlugin.PngInfo()
        if xmp:
            info.add_itxt(implicit.PNG_XMP_KEY, xmp.decode("utf-8"), zip=False)
        img.save(buf, format="PNG", pnginfo=info, compress_level=6)
    elif fmt in ("jpg", "webp"):
        kwargs: dict[str, Any] = {"quality": quality}
        if xmp:
            kwargs["xmp"] = xmp
        img.save(buf, format="JPEG" if fmt == "jpg" else "WEBP", **kwargs)
    else:
        raise ValueError(f"unsupported format {fmt!r}; expected png, jpg or webp")
    return buf.getvalue()


def stamp_pixels(rgb: np.ndarray, fmt: str, identity: SigningIdentity | None, options: StampOptions | None = None,
                 content_id: str | None = None, source_type: str = "created", generator: dict[str, Any] | None = None,
                 parent: tuple[bytes, str] | None = None, title: str | None = None, own: bool = False) -> StampResult:
    """Label ``rgb`` and encode it as ``fmt`` ("png", "jpg" or "webp"); ``own``: the caller hands ``rgb`` over, so the
    visible mark is drawn on it rather than on a copy (a large image is then held once, not twice).

    ``source_type`` is "created" (generated) or "edited" (an AI edit of ``parent``,
    given as (bytes, format)). Raises :class:`SigningError` when C2PA is asked for and
    cannot be signed: no unsigned bytes come back in place of signed ones.
    """
    options = options or StampOptions()
    fmt = FORMATS.get("." + fmt.lower().lstrip("."), fmt.lower())
    record = new_record(options, identity, content_id, source_type, generator, (rgb.shape[1], rgb.shape[0]), fmt)
    applied: list[str] = []
    skipped: dict[str, str] = {}
    pixels = np.ascontiguousarray(rgb, dtype=np.uint8)
    if "visible" in options.labels:
        pixels, record["visible"] = visible.apply_mark(pixels, options.mark, in_place=own and pixels.flags.writeable)
        applied.append("visible")
    decoded = decoded_as_written(pixels, fmt, options.quality)
    if "watermark" in options.labels:
        marked, record["watermark"] = _watermark(pixels, fmt, record["content_id"], options)
        if record["watermark"]["status"] == "embedded":
            pixels, decoded = marked
            applied.append("watermark")
        else:
            skipped["watermark"] = record["watermark"]["reason"]
    record["phash"] = phash(decoded)
    return seal(lambda xmp: encode_pixels(pixels, fmt, xmp, options.quality), record, applied, skipped,
                pixel_sha256(decoded), options, identity, parent, title)


def decoded_as_written(rgb: np.ndarray, fmt: str, quality: int) -> np.ndarray:
    """The pixels a decoder gets from ``rgb`` written as ``fmt`` (the same array for lossless PNG)."""
    return rgb if fmt == "png" else decode(encode_pixels(rgb, fmt, None, quality))


def _watermark(rgb: np.ndarray, fmt: str, content_id: str, options: StampOptions
               ) -> tuple[tuple[np.ndarray, np.ndarray] | None, dict[str, Any]]:
    """Embed the id, then read it back from the pixels as written: ((pixels, decoded), record entry) when it
    decodes, (None, entry with status ``too_small`` or ``not_decodable`` and the reason) when not."""
    key = watermark_key(options)
    wm = watermark.watermark_method(options.watermark_method, rgb.shape, key)
    entry: dict[str, Any] = {"method": wm.name, "min_side": wm.min_side}
    try:
        marked = wm.embed(rgb, encode_payload(content_id))
    except watermark.TooSmall as exc:
        return None, {**entry, "status": "too_small", "reason": f"too small for a watermark: {exc}"}
    decoded = decoded_as_written(marked, fmt, options.quality)
    back = watermark.read_image_mark(decoded, entry, key)  # verify's own read, so the two cannot disagree
    if back.content_id != content_id:
        got = back.reason if back.content_id is None else f"it reads {back.content_id}"
        reason = f"the watermark does not decode after embedding ({got}), so it is not claimed"
        return None, {**entry, "status": "not_decodable", "reason": reason}
    return (marked, decoded), {**entry, "status": "embedded"}


def stamp_image(src: Path, out: Path, identity: SigningIdentity | None, options: StampOptions | None = None,
                source_type: str = "created", parent: Path | None = None,
                generator: dict[str, Any] | None = None) -> StampResult:
    """Stamp the image at ``src`` in the format ``out``'s suffix names (the caller writes it).

    Raises ``assay.core.imageio.ImageError`` for an unreadable image, ``ValueError`` for an
    output suffix that is not png, jpg or webp.
    """
    fmt = FORMATS.get(out.suffix.lower())
    if fmt is None:
        raise ValueError(f"cannot write {out.suffix!r}; expected one of {', '.join(sorted(FORMATS))}")
    return stamp_pixels(decode(src, work="stamp"), fmt, identity, options, source_type=source_type, generator=generator,
                        parent=parent_ingredient(parent), title=out.name, own=True)
