"""The tail every stamper (image, video) shares: the provenance record, the parent ingredient, the XMP fields
and the C2PA manifest.

A stamper does the pixel labels and hands :func:`seal` a writer that turns an XMP packet
(or None) into file bytes; :func:`seal` does the rest, in the order of :mod:`.options`.
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

from assay.core.media import media_kind, read_media
from assay.provenance import implicit, manifest
from assay.provenance.keys.signing import SigningError, SigningIdentity
from assay.provenance.payload import random_content_id
from assay.provenance.stamp.options import FORMATS, StampOptions, StampResult

#: record entries copied into the signed ``org.assay.labels`` assertion (those the record has)
SIGNED_RECORD_KEYS = ("visible", "watermark", "created", "image_size", "video")

#: turns the XMP packet (None without the xmp label) into the file's bytes
Writer = Callable[[bytes | None], bytes]


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
    if record.get("watermark", {}).get("status") == "embedded" and options.secret is not None:
        record["watermark"].setdefault("key_id", options.secret.watermark_key_id)  # who can read it back
    xmp = None
    if "xmp" in options.labels:
        code = options.secret.integrity_code(content_id, pixel_hash, options.provider) if options.secret else ""
        record["xmp"] = implicit.label_fields(options.provider, options.system_name, options.system_version,
                                              record["created"], content_id, manifest.SOURCE_TYPES[record["source_type"]],
                                              code, (record.get("watermark") or {}).get("method", "")
                                              if "watermark" in applied else "")
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
