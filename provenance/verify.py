"""Verification of every label on a file (image or MP4 video), with a stable JSON result (schema in docs/provenance.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from assay.core.imageio import ImageError, decode
from assay.core.workspace import Workspace
from provenance import implicit, manifest, video, visible, watermark
from provenance.consent_checks import CONSENT_CHECKS, consent_checks
from provenance.stamp import FORMATS, find_by_content_id

SCHEMA = "assay.provenance.verify/1"
CHECKS = ("c2pa_manifest", "c2pa_signature", "c2pa_trusted", "c2pa_data_hash", "c2pa_source_type",
          "gb45438_fields", "sb942_fields", "visible_mark", "watermark", "soft_binding", *CONSENT_CHECKS.names())
#: label -> the checks that must not be "absent" when the label is required
LABEL_CHECKS = {"c2pa": ("c2pa_manifest", "c2pa_signature", "c2pa_trusted", "c2pa_data_hash", "c2pa_source_type"), "xmp": ("gb45438_fields", "sb942_fields"), "visible": ("visible_mark",),
                "watermark": ("watermark",)}
_SIGNATURE_FAILURES = ("claimSignature.mismatch", "claimSignature.missing", "signingCredential.invalid",
                       "signingCredential.revoked", "signingCredential.expired", "timeStamp.mismatch")


def _check(status: str, reason: str) -> dict[str, str]:
    return {"status": status, "reason": reason}


def _format_of(path: Path, data: bytes) -> str | None:
    head = data[:12]
    if head.startswith(b"\x89PNG"):
        return "png"
    if head.startswith(b"\xff\xd8"):
        return "jpg"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    return FORMATS.get(path.suffix.lower())


def _c2pa_checks(store: dict[str, Any] | None, checks: dict[str, dict[str, str]]) -> dict[str, Any]:
    """Fill the c2pa_* checks; returns the c2pa summary block."""
    if store is None:
        reason = "no C2PA manifest (never signed, or stripped by a re-save)"
        for name in ("c2pa_manifest", "c2pa_signature", "c2pa_trusted", "c2pa_data_hash", "c2pa_source_type"):
            checks[name] = _check("absent", reason)
        return {"present": False, "validation_state": None, "digital_source_type": None, "actions": [],
                "signer": None, "claim_generator": None, "training_mining": None, "failures": []}
    active = manifest.active_manifest(store)
    ok, bad = manifest.status_codes(store)
    state = store.get("validation_state")
    actions = (manifest.assertion(active, "c2pa.actions") or {}).get("actions", [])
    source_types = [a.get("digitalSourceType") for a in actions if a.get("digitalSourceType")]
    signer = active.get("signature_info") or {}
    checks["c2pa_manifest"] = _check("pass", f"manifest {active.get('label', '?')} present")
    sig_bad = sorted(c for c in bad if c in _SIGNATURE_FAILURES or c.startswith("claimSignature"))
    if sig_bad:
        checks["c2pa_signature"] = _check("fail", "signature invalid: " + ", ".join(sig_bad))
    else:
        checks["c2pa_signature"] = _check("pass", f"signature valid ({signer.get('alg', '?')}, "
                                                  f"{signer.get('common_name', '?')} / {signer.get('issuer', '?')})")
    if state == "Trusted":
        checks["c2pa_trusted"] = _check("pass", "signer chains to a configured trust anchor")
    elif "signingCredential.trusted" in ok and not sig_bad:
        checks["c2pa_trusted"] = _check("pass", "signer chains to a configured trust anchor (but the manifest is "
                                                "invalid: see the other checks)")
    elif sig_bad:
        checks["c2pa_trusted"] = _check("fail", "signature invalid, so the signer cannot be trusted")
    else:
        checks["c2pa_trusted"] = _check("fail", "valid, untrusted signer (not issued by a configured trust anchor)")
    hash_bad = sorted(c for c in bad if "dataHash" in c or "bmffHash" in c or "boxesHash" in c)
    if hash_bad:
        checks["c2pa_data_hash"] = _check("fail", "data hash mismatch: the file's bytes changed after signing ("
                                          + ", ".join(hash_bad) + ")")
    elif any("Hash.match" in c for c in ok):
        checks["c2pa_data_hash"] = _check("pass", "data hash matches (pixels untouched since signing)")
    else:
        checks["c2pa_data_hash"] = _check("fail", "no hard binding validated")
    ai = [t for t in source_types if t in manifest.AI_SOURCE_TYPES]
    names = [a.get("action") for a in actions]
    if ai:
        checks["c2pa_source_type"] = _check("pass", f"{', '.join(names)}; {ai[-1].rsplit('/', 1)[-1]}")
    else:
        checks["c2pa_source_type"] = _check("fail", f"actions {names} declare no AI digitalSourceType")
    tm = manifest.assertion(active, manifest.TRAINING_MINING)
    return {"present": True, "validation_state": state, "digital_source_type": source_types[-1] if source_types else None,
            "actions": names, "signer": {k: signer.get(k) for k in ("issuer", "common_name", "alg", "time")},
            "claim_generator": (active.get("claim_generator_info") or [None])[0],
            "training_mining": tm.get("entries") if isinstance(tm, dict) else None, "failures": sorted(bad)}


def verify_file(path: str | Path, ws: Workspace | None = None, trust_anchors: str | None = None,
                require: tuple[str, ...] = ()) -> dict[str, Any]:
    """Check every label of one file; never raises for a bad file (``error`` says why).

    ``trust_anchors`` is a PEM bundle of root certificates (e.g. the dev CA from keygen).
    With a workspace, the content id (from the manifest, or from the watermark when the
    manifest is gone) is looked up in the catalog and the original record returned.
    ``require`` names labels (c2pa, xmp, visible, watermark) whose absence is a failure.
    """
    unknown = sorted(set(require) - set(LABEL_CHECKS))
    if unknown:
        raise ValueError(f"unknown label(s) {', '.join(unknown)}; expected some of {', '.join(LABEL_CHECKS)}")
    path = Path(path)
    result: dict[str, Any] = {"schema": SCHEMA, "file": str(path), "format": None, "ok": False, "error": None,
                              "labelled": False, "content_id": None, "c2pa": None, "watermark": None, "xmp": None,
                              "record": None, "found_via": None, "implicit_from": None, "video": None, "checks": {}}
    reader = rgb = None
    try:
        if video.is_video_path(path):
            reader = video.VideoReader(path)
        else:
            rgb = decode(path)
        data = path.read_bytes()
    except (ImageError, video.VideoError) as exc:
        result["error"] = str(exc)
        return result
    except OSError as exc:
        result["error"] = f"unreadable: {exc.strerror or exc}"
        return result
    fmt = video.video_format(data, path) if reader is not None else _format_of(path, data)
    result["format"] = fmt
    checks: dict[str, dict[str, str]] = {}
    store = None
    if fmt in manifest.MIME:
        try:
            store = manifest.read_manifest(data, fmt, trust_anchors)
        except Exception as exc:  # a corrupt manifest is a failed check, not a crash
            checks["c2pa_manifest"] = _check("fail", f"manifest unreadable: {' '.join(str(exc).split())[:200]}")
    if "c2pa_manifest" in checks:
        for name in ("c2pa_signature", "c2pa_trusted", "c2pa_data_hash", "c2pa_source_type"):
            checks[name] = _check("fail", "manifest unreadable")
        result["c2pa"] = {"present": True, "validation_state": "Invalid", "digital_source_type": None, "actions": [],
                          "signer": None, "claim_generator": None, "training_mining": None, "failures": []}
    else:
        result["c2pa"] = _c2pa_checks(store, checks)
    labels = manifest.assertion(manifest.active_manifest(store), manifest.LABELS_ASSERTION) if store else None
    manifest_id = labels.get("content_id") if isinstance(labels, dict) else None

    packet = video.read_xmp_box(data) if reader is not None else implicit.read_xmp(data)
    found = implicit.parse_xmp(packet) if packet else {}
    result["implicit_from"] = "xmp" if found else None
    signed_fields = (labels or {}).get("implicit")
    if not found and isinstance(signed_fields, dict):
        found, result["implicit_from"] = signed_fields, "manifest"
    result["xmp"] = found or None
    field_checks = implicit.check_fields(found)
    for regulation in ("gb45438", "sb942"):
        check = field_checks[regulation]
        if result["implicit_from"] == "manifest" and check["status"] != "absent":
            check = _check(check["status"], check["reason"] + " (from the signed manifest; no XMP)")
        checks[f"{regulation}_fields"] = check

    recorded_wm = (labels or {}).get("watermark") or {}
    wm_method = recorded_wm.get("method") or watermark.choose(watermark.AUTO, None if rgb is None else rgb.shape)
    scan = None
    if reader is not None:
        from provenance.videostamp import scan_video

        try:
            scan = scan_video(reader, wm_method)
        except video.VideoError as exc:
            result["error"] = str(exc)
            return result
        result["video"] = scan.info
        reading = scan.reading
    else:
        reading = watermark.read_id(rgb, wm_method)
    result["watermark"] = reading.to_dict()
    record = None
    found_via = None
    if ws is not None:
        xmp_id = (found.get("sb942") or {}).get("ContentID") or (found.get("gb45438") or {}).get("ProduceID")
        for cid, via in ((manifest_id, "manifest"), (reading.content_id, "watermark"), (xmp_id, "xmp")):
            if cid and record is None:
                hits = find_by_content_id(ws, cid)
                if hits:
                    record, found_via = hits[-1], via
    recorded_wm = recorded_wm or ((record or {}).get("params", {}).get("watermark") or {})
    if reading.status == "found":
        if manifest_id and reading.content_id != manifest_id:
            checks["watermark"] = _check("fail", f"watermark id {reading.content_id} differs from the manifest's "
                                                 f"{manifest_id}")
        else:
            also = " and matches the manifest" if manifest_id else ""
            checks["watermark"] = _check("pass", f"{reading.method} decoded id {reading.content_id}{also}")
    elif reading.status == "too_small" or recorded_wm.get("status") in ("too_small", "lost_in_encode"):
        checks["watermark"] = _check("absent", recorded_wm.get("reason") or reading.reason)
    elif recorded_wm.get("status") == "embedded":
        checks["watermark"] = _check("fail", f"a watermark was embedded but does not decode ({reading.reason})")
    else:
        checks["watermark"] = _check("absent", reading.reason)

    if ws is None:
        checks["soft_binding"] = _check("absent", "no workspace given to look the content id up")
    elif record is not None:
        how = {"manifest": "manifest's content id", "watermark": "watermark's content id (soft binding)",
               "xmp": "XMP metadata's content id (unsigned)"}[found_via or "manifest"]
        checks["soft_binding"] = _check("pass", f"record {record['id']} found through the {how}")
    elif manifest_id or reading.content_id:
        checks["soft_binding"] = _check("fail", f"content id {manifest_id or reading.content_id} is not in this "
                                                "workspace's catalog")
    else:
        checks["soft_binding"] = _check("absent", "no content id to look up")

    mark_record = (labels or {}).get("visible") or ((record or {}).get("params", {}).get("visible"))
    if scan is not None:
        from provenance.videostamp import check_video_mark

        checks["visible_mark"] = check_video_mark(scan.samples, scan.info["fps"], scan.total_frames, mark_record)
    else:
        checks["visible_mark"] = visible.check_mark(rgb, mark_record)

    checks.update(consent_checks(manifest.active_manifest(store) if store else None, record, ws))
    result["content_id"] = manifest_id or reading.content_id
    result["record"] = record
    result["found_via"] = found_via
    for label in require:
        for name in LABEL_CHECKS[label]:
            if checks[name]["status"] == "absent":
                checks[name] = _check("fail", f"required {label} label missing: {checks[name]['reason']}")
    result["checks"] = {name: checks[name] for name in CHECKS}
    result["ok"] = not any(c["status"] == "fail" for c in result["checks"].values())
    result["labelled"] = any(c["status"] == "pass" for c in result["checks"].values())
    return result
