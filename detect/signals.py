"""Provenance evidence for a scanned file, read apart from the detector's score.

A signed C2PA manifest saying ``trainedAlgorithmicMedia`` and a detector probability are
different kinds of evidence: scan results carry both side by side and never merge them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from assay.core.workspace import Workspace
from assay.provenance import AI_SOURCE_TYPES, verify_file, workspace_trust_anchors

#: verify's trust states of a valid manifest (any failure code but an untrusted signer or TSA makes it invalid)
VALID_TRUST = ("trusted", "untrusted")


def provenance_signals(path: str | Path, ws: Workspace | None = None, pixels: np.ndarray | None = None
                       ) -> dict[str, Any]:
    """C2PA presence and validity, its digitalSourceType, and the invisible watermark payload.

    Read with :func:`provenance.verify.verify_file` (trusting the workspace's development
    CA when it has one). Keys: ``checked`` (false only when the verifier could not read the
    file: ``error`` says why), ``c2pa_present``, ``c2pa_valid`` (None without a manifest; false for
    any failure code but an untrusted signer or TSA, and then ``digital_source_type`` is None),
    ``c2pa_state`` (the manifest's validation state), ``c2pa_trust`` (``trusted``, ``untrusted``:
    valid signature from a signer no trust anchor issued, ``invalid`` or ``absent``), ``digital_source_type``,
    ``watermark_payload`` (the decoded content id, or None), ``watermark_status``,
    and the catalog record a content id leads to (:func:`record_signals`). ``pixels``: the image's
    full-size decode where the caller holds it (read once, not twice).
    """
    report = verify_file(path, ws, workspace_trust_anchors(ws) if ws is not None else None, pixels=pixels)
    c2pa = report.get("c2pa") or {}
    mark = report.get("watermark") or {}
    present = bool(c2pa.get("present"))
    return {
        "checked": report["error"] is None,
        "error": report["error"],
        "c2pa_present": present,
        "c2pa_valid": c2pa.get("trust") in VALID_TRUST if present else None,
        "c2pa_state": c2pa.get("validation_state"),
        "c2pa_trust": c2pa.get("trust"),
        "digital_source_type": c2pa.get("digital_source_type"),
        "watermark_payload": mark.get("content_id"),
        "watermark_status": mark.get("status"),
        **record_signals(report),
    }


def record_signals(report: dict[str, Any]) -> dict[str, Any]:
    """The record a file's content id leads to, named only when verify's picture-match check passes.

    ``record_id``: the record whose picture this is; ``record_claim``: a record the file's id
    (an unsigned XMP id, a copied watermark) points to although the picture is not shown to be
    its (``record_note`` says why); ``found_via``: which id led to it.
    """
    record = report.get("record")
    match = (report.get("checks") or {}).get("record_match") or {}
    if record is None:
        return {"record_id": None, "record_claim": None, "record_note": None, "found_via": None}
    if match.get("status") == "pass":
        return {"record_id": record["id"], "record_claim": None, "record_note": match["reason"],
                "found_via": report.get("found_via")}
    via = {"xmp": "unsigned XMP id", "watermark": "watermark id", "manifest": "manifest id"}.get(
        report.get("found_via") or "", "content id")
    note = f"claim only: the {via} points to record {record['id']}, but {match.get('reason') or 'not compared'}"
    return {"record_id": None, "record_claim": record["id"], "record_note": note, "found_via": report.get("found_via")}


def declared_synthetic(signals: dict[str, Any]) -> bool:
    """Does a valid C2PA manifest from a trusted signer declare the file AI-generated (an IPTC
    ``digitalSourceType`` of trained or algorithmic media)? A declaration, not a detection: scan
    reports it beside the detector's verdict and never folds it into the probability."""
    return (signals.get("c2pa_valid") is True and signals.get("c2pa_trust") == "trusted"
            and signals.get("digital_source_type") in AI_SOURCE_TYPES)


#: the signals of a file whose provenance a scan was asked not to read (``ScanOptions.provenance``)
NOT_READ: dict[str, Any] = {
    "checked": False, "error": "not read (this scan reads no provenance)", "c2pa_present": None, "c2pa_valid": None,
    "c2pa_state": None, "c2pa_trust": None, "digital_source_type": None, "watermark_payload": None,
    "watermark_status": None, "record_id": None, "found_via": None,
}
