"""What to stamp and how (:class:`StampOptions`), the label names and their order, and what a stamp gives back.

Labels go on in one order whatever the media: pixels first (visible mark, then the
invisible watermark, so the watermark's informed embedding sees the final pixels), then
the XMP metadata, and last the C2PA manifest, whose hard binding hashes the bytes written
before it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

from assay.core import __version__
from assay.core.errors import InputError
from assay.provenance import visible, watermark
from assay.provenance.keys.secret import WorkspaceSecret

#: label names in the order they are applied
LABELS = ("visible", "watermark", "xmp", "c2pa")
#: image suffix -> stamped image format
FORMATS = {".png": "png", ".jpg": "jpg", ".jpeg": "jpg", ".webp": "webp"}


def parse_labels(spec: str | Sequence[str]) -> tuple[str, ...]:
    """Labels from "c2pa,xmp,..." (or a sequence), checked and put in application order; :class:`InputError`
    names the unknown ones."""
    names = [s.strip() for s in (spec.split(",") if isinstance(spec, str) else spec) if s.strip()]
    unknown = sorted(set(names) - set(LABELS))
    if unknown:
        raise InputError(f"unknown label(s) {', '.join(unknown)}; expected some of {', '.join(LABELS)}")
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
