"""Stamping: every label an image gets, in the order that keeps the C2PA signature valid.

Pixels first (visible mark, then the invisible watermark, so the watermark's informed
embedding sees the final pixels), then the XMP metadata, and last the C2PA manifest,
whose hard binding hashes the bytes written before it.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from assay.core import __version__
from assay.core.fileio import atomic_write_bytes, sha256_file
from assay.core.imageio import decode, pixel_sha256
from assay.core.workspace import Workspace
from provenance import implicit, manifest, visible, watermark
from provenance.keys import SigningError, SigningIdentity
from provenance.payload import random_content_id

#: label names in the order they are applied
LABELS = ("visible", "watermark", "xmp", "c2pa")
FORMATS = {".png": "png", ".jpg": "jpg", ".jpeg": "jpg", ".webp": "webp"}


def parse_labels(spec: str | tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """Labels from "c2pa,xmp,..." (or a sequence), checked and put in application order."""
    names = [s.strip() for s in (spec.split(",") if isinstance(spec, str) else spec) if s.strip()]
    unknown = sorted(set(names) - set(LABELS))
    if unknown:
        raise ValueError(f"unknown label(s) {', '.join(unknown)}; expected some of {', '.join(LABELS)}")
    return tuple(n for n in LABELS if n in names)


@dataclass
class StampOptions:
    """What to label and how; the defaults label in every way."""

    labels: tuple[str, ...] = LABELS
    mark: visible.MarkStyle = field(default_factory=visible.MarkStyle)
    watermark_method: str = watermark.DEFAULT_METHOD
    provider: str = "assay"
    system_name: str = "assay"
    system_version: str = __version__
    training_mining: str = "notAllowed"
    thumbnail: bool = False
    quality: int = 95
    #: seconds of a video that carry the visible mark (None: the whole clip; at least 2)
    video_mark_seconds: float | None = None
    #: further manifest assertions, e.g. ``{"label": "org.assay.consent", "data": {...}}`` from the consent work
    extra_assertions: list[dict[str, Any]] = field(default_factory=list)
    #: further fields of the file's catalog record only (never in the file), e.g. the consent's subjects
    catalog_params: dict[str, Any] = field(default_factory=dict)


@dataclass
class StampResult:
    """The stamped file's bytes and what was done to it."""

    data: bytes
    fmt: str
    content_id: str
    labels_applied: list[str]
    labels_skipped: dict[str, str]
    record: dict[str, Any]
    pixel_sha256: str


def _encode(rgb: np.ndarray, fmt: str, xmp: bytes | None, quality: int) -> bytes:
    from PIL import Image, PngImagePlugin

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


def new_record(options: StampOptions, identity: SigningIdentity | None, content_id: str | None, source_type: str,
               generator: dict[str, Any] | None, size: tuple[int, int], fmt: str) -> dict[str, Any]:
    """Start the provenance record of one file to stamp (``size`` is width, height).

    Refuses up front, with :class:`SigningError`, a C2PA label that no identity can sign.
    """
    if "c2pa" in options.labels and identity is None:
        raise SigningError("C2PA label asked for but no signing identity given (run `assay provenance keygen`)")
    return {"content_id": content_id or random_content_id(), "source_type": source_type,
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "image_size": {"width": int(size[0]), "height": int(size[1])}, "format": fmt,
            "generator": {k: v for k, v in (generator or {}).items() if v is not None}, **options.catalog_params}


def stamp_pixels(rgb: np.ndarray, fmt: str, identity: SigningIdentity | None, options: StampOptions | None = None,
                 content_id: str | None = None, source_type: str = "created", generator: dict[str, Any] | None = None,
                 parent: tuple[bytes, str] | None = None, title: str | None = None) -> StampResult:
    """Label ``rgb`` and encode it as ``fmt`` ("png", "jpg" or "webp").

    ``source_type`` is "created" (generated) or "edited" (an AI edit of ``parent``,
    given as (bytes, format)). Raises :class:`SigningError` when C2PA is asked for and
    cannot be signed: no unsigned bytes come back in place of signed ones.
    """
    options = options or StampOptions()
    fmt = FORMATS.get("." + fmt.lower().lstrip("."), fmt.lower())
    record = new_record(options, identity, content_id, source_type, generator, (rgb.shape[1], rgb.shape[0]), fmt)
    content_id, created, generator = record["content_id"], record["created"], record["generator"]
    applied: list[str] = []
    skipped: dict[str, str] = {}
    pixels = np.ascontiguousarray(rgb, dtype=np.uint8)
    if "visible" in options.labels:
        pixels, record["visible"] = visible.apply_mark(pixels, options.mark)
        applied.append("visible")
    if "watermark" in options.labels:
        wm = watermark.method(options.watermark_method, pixels.shape)
        try:
            pixels = watermark.embed_id(pixels, content_id, wm.name)
            record["watermark"] = {"status": "embedded", "method": wm.name, "min_side": wm.min_side}
            applied.append("watermark")
        except watermark.TooSmall as exc:
            reason = f"too small for a watermark: {exc}"
            record["watermark"] = {"status": "too_small", "method": wm.name, "min_side": wm.min_side, "reason": reason}
            skipped["watermark"] = reason
    xmp = None
    if "xmp" in options.labels:
        fields = implicit.label_fields(options.provider, options.system_name, options.system_version, created,
                                       content_id, manifest.SOURCE_TYPES[source_type])
        xmp = implicit.build_xmp(fields)
        record["xmp"] = fields
        applied.append("xmp")
    data = _encode(pixels, fmt, xmp, options.quality)
    if "c2pa" in options.labels:
        labels_assertion = {k: record[k] for k in ("visible", "watermark", "created", "image_size") if k in record}
        labels_assertion["labels"] = applied + ["c2pa"]
        definition = manifest.build_definition(content_id, title or f"{content_id}.{fmt}", source_type, generator,
                                               labels_assertion, options.training_mining, options.extra_assertions)
        data = manifest.sign_bytes(data, fmt, definition, identity, parent, options.thumbnail)  # type: ignore[arg-type]
        applied.append("c2pa")
    record["labels"] = applied
    return StampResult(data, fmt, content_id, applied, skipped, record, pixel_sha256(pixels))


def add_record(ws: Workspace, result: StampResult, path: Path | None, parents: list[str] | tuple[str, ...] = (),
               source: str | None = None) -> str:
    """Register a stamped file as a ``provenance`` artefact; returns its id. Unknown parents are dropped."""
    known = []
    for parent in parents:
        try:
            known.append(ws.catalog.get(parent).id)
        except Exception:  # a parent outside this workspace is kept in params, not as lineage
            continue
    params = dict(result.record)
    params.update({"pixel_sha256": result.pixel_sha256, "source": source, "requested_parents": list(parents),
                   "file_sha256": sha256_file(path) if path else None})
    rec = ws.catalog.add("provenance", None, params, known, path=path)
    return rec.id


def find_by_content_id(ws: Workspace, content_id: str) -> list[dict[str, Any]]:
    """Provenance records carrying ``content_id`` (the soft binding), oldest first; one indexed lookup."""
    if not isinstance(content_id, str):  # an id read from a tampered file matches nothing
        return []
    return [r.to_dict() for r in ws.catalog.find("provenance", content_id=content_id)]


def output_path(src: Path, out_dir: Path, fmt: str | None) -> Path:
    """Where ``src`` is written under ``out_dir``: images in ``fmt`` (default: theirs), videos always as .mp4."""
    from provenance.video import is_video_path

    if is_video_path(src):
        return out_dir / (src.stem + ".mp4")
    suffix = "." + fmt if fmt else src.suffix.lower()
    return out_dir / (src.stem + suffix)


def stamp_file(src: Path, out: Path, identity: SigningIdentity | None, options: StampOptions | None = None,
               ws: Workspace | None = None, source_type: str = "created", parent: Path | None = None,
               generator: dict[str, Any] | None = None) -> tuple[StampResult, str | None]:
    """Stamp one file into ``out`` (written atomically, only when every asked label succeeded).

    Videos (.mp4, .mov, .avi, .webm) go to :func:`provenance.videostamp.stamp_video_file`.
    Returns the result and the provenance record id (None without a workspace).
    Raises ``assay.core.imageio.ImageError`` (``VideoError`` for video) for unreadable input,
    :class:`SigningError` when signing fails.
    """
    from provenance.video import is_video_path

    if is_video_path(src):
        from provenance.videostamp import stamp_video_file

        return stamp_video_file(src, out, identity, options, ws, source_type, parent, generator)
    fmt = FORMATS.get(out.suffix.lower())
    if fmt is None:
        raise ValueError(f"cannot write {out.suffix!r}; expected one of {', '.join(sorted(FORMATS))}")
    rgb = decode(src)
    parent_data = None
    if parent is not None:
        parent_fmt = FORMATS.get(parent.suffix.lower())
        if parent_fmt is None:
            raise ValueError(f"parent {parent} is not png, jpg or webp")
        parent_data = (parent.read_bytes(), parent_fmt)
    result = stamp_pixels(rgb, fmt, identity, options, source_type=source_type, generator=generator,
                          parent=parent_data, title=out.name)
    atomic_write_bytes(out, result.data)
    record_id = add_record(ws, result, out, source=str(src)) if ws is not None else None
    return result, record_id
