"""What every stamper (image, video) shares: options, result, the record, and the XMP + C2PA tail.

Labels go on in one order whatever the media: pixels first (visible mark, then the
invisible watermark, so the watermark's informed embedding sees the final pixels), then
the XMP metadata, and last the C2PA manifest, whose hard binding hashes the bytes written
before it. A stamper does the pixel labels and hands :func:`seal` a writer that turns an
XMP packet (or None) into file bytes; :func:`seal` does the rest.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

from assay.core import __version__
from assay.core.media import media_kind, read_media
from assay.provenance import implicit, manifest, visible, watermark
from assay.provenance.keys import SigningError, SigningIdentity
from assay.provenance.payload import random_content_id
from assay.provenance.secret import WorkspaceSecret

#: label names in the order they are applied
LABELS = ("visible", "watermark", "xmp", "c2pa")
#: image suffix -> stamped image format
FORMATS = {".png": "png", ".jpg": "jpg", ".jpeg": "jpg", ".webp": "webp"}
#: record entries copied into the signed ``org.assay.labels`` assertion (those the record has)
SIGNED_RECORD_KEYS = ("visible", "watermark", "created", "image_size", "video")

#: turns the XMP packet (None without the xmp label) into the file's bytes
Writer = Callable[[bytes | None], bytes]


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
    #: the workspace secret: keys the watermark and ReservedCode1 (None: public watermark key, no ReservedCode1)
    secret: WorkspaceSecret | None = field(default=None, repr=False)
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


def parent_ingredient(parent: Path | None) -> tuple[bytes, str] | None:
    """The original of an AI edit as (bytes, format) for the manifest: an image (png, jpg, webp) or a video (mp4)."""
    if parent is None:
        return None
    fmt = "mp4" if media_kind(parent) == "video" else FORMATS.get(parent.suffix.lower())
    if fmt is None:
        raise ValueError(f"parent {parent} is not png, jpg, webp or a video")
    return read_media(parent), fmt


def watermark_key(options: StampOptions) -> int | None:
    """The watermark key ``options`` carry (None: the public one)."""
    return options.secret.watermark_key if options.secret is not None else None


def seal(write: Writer, record: dict[str, Any], applied: list[str], skipped: dict[str, str], pixel_hash: str,
         options: StampOptions, identity: SigningIdentity | None, parent: tuple[bytes, str] | None = None,
         title: str | None = None) -> StampResult:
    """The tail of every stamp: XMP fields, the file's bytes from ``write``, then the C2PA manifest.

    ``record`` (from :func:`new_record`, with the pixel labels' entries) and ``applied``
    (the pixel labels applied) are completed in place. ``pixel_hash`` is the sha256 of the
    pixels a decoder gets from the written file; ``ReservedCode1`` binds to it. The signed ``org.assay.labels``
    assertion carries the record's :data:`SIGNED_RECORD_KEYS` and, under ``implicit``, the
    XMP fields, so that they survive a dropped XMP packet. Raises :class:`SigningError`
    when C2PA is asked for and cannot be signed: no unsigned bytes come back.
    """
    content_id, fmt = record["content_id"], record["format"]
    xmp = None
    if "xmp" in options.labels:
        code = options.secret.integrity_code(content_id, pixel_hash, options.provider) if options.secret else ""
        record["xmp"] = implicit.label_fields(options.provider, options.system_name, options.system_version,
                                              record["created"], content_id, manifest.SOURCE_TYPES[record["source_type"]],
                                              code)
        xmp = implicit.build_xmp(record["xmp"])
        applied.append("xmp")
    data = write(xmp)
    if "c2pa" in options.labels:
        labels_assertion = {k: record[k] for k in SIGNED_RECORD_KEYS if k in record}
        if "xmp" in record:
            labels_assertion["implicit"] = record["xmp"]
        labels_assertion["labels"] = applied + ["c2pa"]
        definition = manifest.build_definition(content_id, title or f"{content_id}.{fmt}", record["source_type"],
                                               record["generator"], labels_assertion, options.training_mining,
                                               options.extra_assertions)
        data = manifest.sign_bytes(data, fmt, definition, identity, parent, options.thumbnail)  # type: ignore[arg-type]
        applied.append("c2pa")
    record["labels"] = applied
    return StampResult(data, fmt, content_id, applied, skipped, record, pixel_hash)
