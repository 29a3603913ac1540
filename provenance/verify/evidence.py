"""What verify reads from one file, once: pixels or a video scan, the manifest, the XMP, the watermark, the record.

:func:`gather` decodes the file once, reads its manifest once and looks its content ids
up in the catalog once; every verify check is then a small function of the
:class:`Evidence`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from assay.core.errors import MediaError, oserror_reason
from assay.core.imageio import decode, pixel_sha256
from assay.core.media import media_kind, read_media
from assay.core.videoio import VideoReader
from assay.core.workspace import Workspace
from assay.provenance import implicit, manifest, mp4, watermark
from assay.provenance.keys.secret import WorkspaceSecret, workspace_secret
from assay.provenance.stamp.options import FORMATS
from assay.provenance.stamp.records import READY, find_by_content_ids
from assay.provenance.verify.video_scan import VideoScan, scan_video

#: the c2pa block of a file without a manifest
NO_C2PA: dict[str, Any] = {"present": False, "validation_state": None, "digital_source_type": None, "actions": [],
                           "signer": None, "claim_generator": None, "training_mining": None, "failures": []}


@dataclass
class Evidence:
    """Everything the checks look at, for one readable file."""

    path: Path
    kind: str  #: "image" or "video"
    fmt: str | None
    ws: Workspace | None
    store: dict[str, Any] | None  #: the C2PA manifest store, None without (or with an unreadable) manifest
    manifest_error: str | None  #: why the manifest could not be read
    labels: dict[str, Any]  #: the manifest's ``org.assay.labels`` assertion ({} without)
    implicit: dict[str, Any]  #: the implicit label fields (gb45438, sb942, ...) found
    implicit_from: str | None  #: "xmp", "manifest" (the signed copy) or None
    reading: watermark.WatermarkReading
    record: dict[str, Any] | None  #: the catalog record the content ids found
    found_via: str | None  #: which content id found it: "manifest", "watermark" or "xmp"
    rgb: np.ndarray | None = None  #: image pixels
    scan: VideoScan | None = None  #: video: the decoded start
    secret: WorkspaceSecret | None = field(default=None, repr=False)  #: the workspace's, when it has one
    #: the failure codes that make the manifest invalid ([] when it is valid or absent); an invalid manifest's
    #: fields are never used: ``labels`` is then empty and nothing is looked up by its content id
    invalid: list[str] = field(default_factory=list)
    #: what checks derive from the evidence and share (e.g. the consent inputs), made once per file
    memo: dict[str, Any] = field(default_factory=dict)

    @property
    def manifest_valid(self) -> bool:
        """A manifest was read and no failure code beyond an untrusted signer or TSA invalidates it."""
        return self.store is not None and not self.invalid

    @property
    def manifest_id(self) -> str | None:
        return self.labels.get("content_id")

    @property
    def content_id(self) -> str | None:
        """The manifest's content id, else the watermark's."""
        return self.manifest_id or self.reading.content_id

    @property
    def pixel_sha256(self) -> str | None:
        """sha256 of the image's decoded pixels (None for video), computed once."""
        if self.rgb is None:
            return None
        if "pixel_sha256" not in self.memo:
            self.memo["pixel_sha256"] = pixel_sha256(self.rgb)
        return self.memo["pixel_sha256"]

    def watermark_declared_by(self) -> str | None:
        """What says a watermark was embedded: "the C2PA manifest", "the XMP", "the record", or None."""
        if (self.labels.get("watermark") or {}).get("status") == "embedded" or \
                "watermark" in (self.labels.get("labels") or []):
            return "the C2PA manifest"
        if self.implicit.get("watermark"):
            return "the XMP" if self.implicit_from == "xmp" else "the C2PA manifest"
        if ((self.record or {}).get("params", {}).get("watermark") or {}).get("status") == "embedded":
            return f"record {self.record['id']}"  # type: ignore[index]
        return None

    def recorded(self, label: str) -> dict[str, Any]:
        """What stamping recorded for ``label`` ("visible", "watermark"): from the manifest, else the catalog record."""
        return self.labels.get(label) or (self.record or {}).get("params", {}).get(label) or {}


def sniff_format(path: Path, data: bytes, kind: str) -> str | None:
    """The file format from its first bytes, else from its suffix."""
    if kind == "video":
        return mp4.video_format(data, path)
    head = data[:12]
    if head.startswith(b"\x89PNG"):
        return "png"
    if head.startswith(b"\xff\xd8"):
        return "jpg"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    return FORMATS.get(path.suffix.lower())


def _read_manifest(data: bytes, fmt: str | None, trust_anchors: str | None) -> tuple[dict[str, Any] | None, str | None]:
    if fmt not in manifest.MIME:
        return None, None
    try:
        return manifest.read_manifest(data, fmt, trust_anchors), None
    except Exception as exc:  # a corrupt manifest is a failed check, not a crash
        return None, " ".join(str(exc).split())[:200]


def _lookup(ws: Workspace | None, candidates: list[tuple[str | None, str]]) -> tuple[dict[str, Any] | None, str | None]:
    """The newest record of the first candidate id (in order) the catalog holds, and how it was found: one lookup.

    A ready record is preferred; a pending (batch never committed) or retired (replaced)
    one is returned only when the id has no ready record, and soft binding says so.
    """
    ids = [cid for cid, _ in candidates if cid]
    if ws is None or not ids:
        return None, None
    hits = find_by_content_ids(ws, ids)
    for cid, via in candidates:
        if cid and hits[cid]:
            ready = [r for r in hits[cid] if r["status"] == READY]
            return (ready or hits[cid])[-1], via
    return None, None


def gather(path: Path, ws: Workspace | None = None, trust_anchors: str | None = None,
           pixels: np.ndarray | None = None) -> Evidence:
    """Read everything verify checks from one file; ``pixels``: an image's full-size decode, where the
    caller already holds it (not decoded again). Raises :class:`MediaError` with a one-line reason."""
    kind = media_kind(path)
    reader = rgb = None
    try:
        data = read_media(path, kind)  # regular files within the size limit only; read once
        if kind == "video":
            reader = VideoReader(path)
        else:
            rgb = decode(data, work="verify") if pixels is None else pixels
    except OSError as exc:
        raise MediaError(oserror_reason(exc)) from None
    fmt = sniff_format(path, data, kind)
    store, manifest_error = _read_manifest(data, fmt, trust_anchors)
    invalid = manifest.invalid_codes(store) if store is not None else []
    # the fields of an invalid manifest are no evidence of anything: not its labels, ids or implicit copy
    labels = manifest.assertion(manifest.active_manifest(store), manifest.LABELS_ASSERTION) if store and not invalid \
        else None
    labels = labels if isinstance(labels, dict) else {}

    packet = mp4.read_xmp_box(data) if kind == "video" else implicit.read_xmp(data)
    found, implicit_from = (implicit.parse_xmp(packet) if packet else {}), "xmp"
    if not found and isinstance(labels.get("implicit"), dict):
        found, implicit_from = labels["implicit"], "manifest"

    secret = workspace_secret(ws)
    key = secret.watermark_key if secret is not None else None
    recorded = labels.get("watermark") or ({"method": found["watermark"]} if found.get("watermark") else {})
    scan = scan_video(reader, recorded.get("method") or watermark.AUTO, key) if reader is not None else None
    reading = scan.reading if scan is not None else watermark.read_image_mark(rgb, recorded, key)

    xmp_id = (found.get("sb942") or {}).get("ContentID") or (found.get("gb45438") or {}).get("ProduceID")
    record, found_via = _lookup(ws, [(labels.get("content_id"), "manifest"), (reading.content_id, "watermark"),
                                     (xmp_id, "xmp")])
    return Evidence(path, kind, fmt, ws, store, manifest_error, labels, found, implicit_from if found else None,
                    reading, record, found_via, rgb, scan, secret, invalid)


def c2pa_summary(ev: Evidence) -> dict[str, Any]:
    """The result's ``c2pa`` block: what the manifest says and how it validated.

    Of an unreadable or invalid manifest only that it is present, its state and its failure codes are given.
    """
    if ev.manifest_error is not None:
        return {**NO_C2PA, "present": True, "validation_state": "Invalid", "failures": ["manifest.unreadable"]}
    if ev.store is None:
        return dict(NO_C2PA)
    if ev.invalid:
        return {**NO_C2PA, "present": True, "validation_state": "Invalid", "failures": ev.invalid}
    active = manifest.active_manifest(ev.store)
    actions = (manifest.assertion(active, "c2pa.actions") or {}).get("actions", [])
    source_types = [a.get("digitalSourceType") for a in actions if a.get("digitalSourceType")]
    signer = active.get("signature_info") or {}
    tm = manifest.assertion(active, manifest.TRAINING_MINING)
    return {"present": True, "validation_state": ev.store.get("validation_state"),
            "digital_source_type": source_types[-1] if source_types else None,
            "actions": [a.get("action") for a in actions],
            "signer": {k: signer.get(k) for k in ("issuer", "common_name", "alg", "time")},
            "claim_generator": (active.get("claim_generator_info") or [None])[0],
            "training_mining": tm.get("entries") if isinstance(tm, dict) else None,
            "failures": sorted(manifest.status_codes(ev.store)[1])}
