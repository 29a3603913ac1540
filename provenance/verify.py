"""Verification of every label on a file (image or MP4 video), with a stable JSON result (schema in docs/provenance.md).

Each check is a small function of the file's :class:`~provenance.evidence.Evidence`,
registered in :data:`VERIFY_CHECKS` with the media it applies to, what it needs and the
label it belongs to (for ``require``); :func:`verify_file` gathers the evidence once and
runs the checks in registration order. A need the file lacks (no manifest, no workspace)
gives the check its "absent" or "fail" without calling it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from assay.core.errors import MediaError
from assay.core.registry import Registry
from assay.core.workspace import Workspace
from provenance import implicit, manifest, visible
from provenance.evidence import Evidence, c2pa_summary, gather
from provenance.videostamp import check_video_mark

SCHEMA = "assay.provenance.verify/1"
MEDIA = ("image", "video")

CheckResult = dict[str, str]
Check = Callable[[Evidence], CheckResult]
#: check name -> check; meta: ``media`` (kinds it applies to), ``needs`` (names in NEEDS), ``label`` (or None)
VERIFY_CHECKS: Registry[Check] = Registry("verify check")
#: need -> what a check gets instead of running when the file lacks it (None: the file has it)
NEEDS: Registry[Callable[[Evidence], CheckResult | None]] = Registry("verify need")

_SIGNATURE_FAILURES = ("claimSignature.mismatch", "claimSignature.missing", "signingCredential.invalid",
                       "signingCredential.revoked", "signingCredential.expired", "timeStamp.mismatch")


def _check(status: str, reason: str) -> CheckResult:
    return {"status": status, "reason": reason}


def check(name: str, media: tuple[str, ...] = MEDIA, needs: tuple[str, ...] = (),
          label: str | None = None) -> Callable[[Check], Check]:
    """Register a verify check as ``name``, for the ``media`` kinds, needing ``needs``, part of ``label``."""
    unknown = sorted(set(needs) - set(NEEDS)) + sorted(set(media) - set(MEDIA))
    if unknown:
        raise ValueError(f"verify check {name!r}: unknown need or media {', '.join(unknown)}")
    return VERIFY_CHECKS.register(name, media=media, needs=needs, label=label)


@NEEDS.register("manifest")
def _has_manifest(ev: Evidence) -> CheckResult | None:
    if ev.manifest_error is not None:
        return _check("fail", "manifest unreadable")
    if ev.store is None:
        return _check("absent", "no C2PA manifest (never signed, or stripped by a re-save)")
    return None


@NEEDS.register("workspace")
def _has_workspace(ev: Evidence) -> CheckResult | None:
    return None if ev.ws is not None else _check("absent", "no workspace given to look the content id up")


def _failures(ev: Evidence) -> tuple[set[str], set[str]]:
    return manifest.status_codes(ev.store)  # type: ignore[arg-type]


def _signature_failures(ev: Evidence) -> list[str]:
    return sorted(c for c in _failures(ev)[1] if c in _SIGNATURE_FAILURES or c.startswith("claimSignature"))


@check("c2pa_manifest", label="c2pa")
def c2pa_manifest(ev: Evidence) -> CheckResult:
    if ev.manifest_error is not None:
        return _check("fail", f"manifest unreadable: {ev.manifest_error}")
    if ev.store is None:
        return _has_manifest(ev)  # type: ignore[return-value]
    return _check("pass", f"manifest {manifest.active_manifest(ev.store).get('label', '?')} present")


@check("c2pa_signature", needs=("manifest",), label="c2pa")
def c2pa_signature(ev: Evidence) -> CheckResult:
    bad = _signature_failures(ev)
    if bad:
        return _check("fail", "signature invalid: " + ", ".join(bad))
    signer = manifest.active_manifest(ev.store).get("signature_info") or {}  # type: ignore[arg-type]
    return _check("pass", f"signature valid ({signer.get('alg', '?')}, {signer.get('common_name', '?')} / "
                          f"{signer.get('issuer', '?')})")


@check("c2pa_trusted", needs=("manifest",), label="c2pa")
def c2pa_trusted(ev: Evidence) -> CheckResult:
    sig_bad = _signature_failures(ev)
    if ev.store.get("validation_state") == "Trusted":  # type: ignore[union-attr]
        return _check("pass", "signer chains to a configured trust anchor")
    if "signingCredential.trusted" in _failures(ev)[0] and not sig_bad:
        return _check("pass", "signer chains to a configured trust anchor (but the manifest is invalid: see the "
                              "other checks)")
    if sig_bad:
        return _check("fail", "signature invalid, so the signer cannot be trusted")
    return _check("fail", "valid, untrusted signer (not issued by a configured trust anchor)")


@check("c2pa_data_hash", needs=("manifest",), label="c2pa")
def c2pa_data_hash(ev: Evidence) -> CheckResult:
    ok, bad = _failures(ev)
    hash_bad = sorted(c for c in bad if "dataHash" in c or "bmffHash" in c or "boxesHash" in c)
    if hash_bad:
        return _check("fail", "data hash mismatch: the file's bytes changed after signing (" + ", ".join(hash_bad)
                      + ")")
    if any("Hash.match" in c for c in ok):
        return _check("pass", "data hash matches (pixels untouched since signing)")
    return _check("fail", "no hard binding validated")


@check("c2pa_source_type", needs=("manifest",), label="c2pa")
def c2pa_source_type(ev: Evidence) -> CheckResult:
    actions = (manifest.assertion(manifest.active_manifest(ev.store), "c2pa.actions") or {}).get("actions", [])  # type: ignore[arg-type]
    names = [a.get("action") for a in actions]
    ai = [a["digitalSourceType"] for a in actions if a.get("digitalSourceType") in manifest.AI_SOURCE_TYPES]
    if ai:
        return _check("pass", f"{', '.join(names)}; {ai[-1].rsplit('/', 1)[-1]}")
    return _check("fail", f"actions {names} declare no AI digitalSourceType")


def _implicit_check(regulation: str) -> Check:
    def run(ev: Evidence) -> CheckResult:
        result = implicit.check_fields(ev.implicit)[regulation]
        if ev.implicit_from == "manifest" and result["status"] != "absent":
            return _check(result["status"], result["reason"] + " (from the signed manifest; no XMP)")
        return _check(result["status"], result["reason"])

    run.__doc__ = f"The {regulation} implicit label fields, from the XMP or the manifest's signed copy."
    return run


check("gb45438_fields", label="xmp")(_implicit_check("gb45438"))
check("sb942_fields", label="xmp")(_implicit_check("sb942"))


@check("visible_mark", label="visible")
def visible_mark(ev: Evidence) -> CheckResult:
    mark = ev.recorded("visible")
    if ev.scan is not None:
        return check_video_mark(ev.scan.samples, ev.scan.info["fps"], ev.scan.total_frames, mark)
    return visible.check_mark(ev.rgb, mark)  # type: ignore[arg-type]


@check("watermark", label="watermark")
def watermark_check(ev: Evidence) -> CheckResult:
    reading, recorded = ev.reading, ev.recorded("watermark")
    if reading.status == "found":
        if ev.manifest_id and reading.content_id != ev.manifest_id:
            return _check("fail", f"watermark id {reading.content_id} differs from the manifest's {ev.manifest_id}")
        also = " and matches the manifest" if ev.manifest_id else ""
        return _check("pass", f"{reading.method} decoded id {reading.content_id}{also}")
    if reading.status == "too_small" or recorded.get("status") in ("too_small", "lost_in_encode"):
        return _check("absent", recorded.get("reason") or reading.reason)
    if recorded.get("status") == "embedded":
        return _check("fail", f"a watermark was embedded but does not decode ({reading.reason})")
    return _check("absent", reading.reason)


@check("soft_binding", needs=("workspace",))
def soft_binding(ev: Evidence) -> CheckResult:
    if ev.record is not None:
        how = {"manifest": "manifest's content id", "watermark": "watermark's content id (soft binding)",
               "xmp": "XMP metadata's content id (unsigned)"}[ev.found_via or "manifest"]
        return _check("pass", f"record {ev.record['id']} found through the {how}")
    if ev.content_id:
        return _check("fail", f"content id {ev.content_id} is not in this workspace's catalog")
    return _check("absent", "no content id to look up")


#: the built-in checks, in the order they are reported
CHECKS = tuple(VERIFY_CHECKS.ordered())


def required_checks(require: tuple[str, ...]) -> dict[str, tuple[str, ...]]:
    """For each label ``require`` names, the registered checks that must not be "absent"; ValueError for unknown labels."""
    by_label: dict[str, tuple[str, ...]] = {}
    for name in VERIFY_CHECKS.ordered():
        label = VERIFY_CHECKS.meta(name)["label"]
        if label is not None:
            by_label[label] = by_label.get(label, ()) + (name,)
    unknown = sorted(set(require) - set(by_label))
    if unknown:
        raise ValueError(f"unknown label(s) {', '.join(unknown)}; expected some of {', '.join(by_label)}")
    return {label: by_label[label] for label in require}


def run_checks(ev: Evidence) -> dict[str, CheckResult]:
    """Every registered check that applies to the file's kind, in order; a lacking need answers for its check."""
    results: dict[str, CheckResult] = {}
    for name in VERIFY_CHECKS.ordered():
        meta = VERIFY_CHECKS.meta(name)
        if ev.kind not in meta["media"]:
            continue
        lacking = next((r for r in (NEEDS.get(n)(ev) for n in meta["needs"]) if r is not None), None)
        results[name] = lacking or VERIFY_CHECKS.get(name)(ev)
    return results


def _result(path: str | Path, **fields: Any) -> dict[str, Any]:
    """A result with every schema field: null or empty unless given."""
    return {"schema": SCHEMA, "file": str(path), "format": None, "ok": False, "error": None, "labelled": False,
            "content_id": None, "c2pa": None, "watermark": None, "xmp": None, "record": None, "found_via": None,
            "implicit_from": None, "video": None, "checks": {}, **fields}


def error_result(path: str | Path, reason: str) -> dict[str, Any]:
    """The result for a file that could not be read: ``error`` says why, no checks."""
    return _result(path, error=reason)


def verify_file(path: str | Path, ws: Workspace | None = None, trust_anchors: str | None = None,
                require: tuple[str, ...] = ()) -> dict[str, Any]:
    """Check every label of one file; never raises for a bad file (``error`` says why).

    ``trust_anchors`` is a PEM bundle of root certificates (e.g. the dev CA from keygen).
    With a workspace, the content id (from the manifest, or from the watermark when the
    manifest is gone) is looked up in the catalog and the original record returned.
    ``require`` names labels (c2pa, xmp, visible, watermark) whose absence is a failure.
    """
    required = required_checks(require)
    try:
        ev = gather(Path(path), ws, trust_anchors)
    except MediaError as exc:
        return error_result(path, str(exc))
    checks = run_checks(ev)
    for label, names in required.items():
        for name in names:
            if name in checks and checks[name]["status"] == "absent":
                checks[name] = _check("fail", f"required {label} label missing: {checks[name]['reason']}")
    return _result(path, format=ev.fmt, content_id=ev.content_id, c2pa=c2pa_summary(ev),
                   watermark=ev.reading.to_dict(), xmp=ev.implicit or None, record=ev.record, found_via=ev.found_via,
                   implicit_from=ev.implicit_from, video=ev.scan.info if ev.scan is not None else None, checks=checks,
                   ok=not any(c["status"] == "fail" for c in checks.values()),
                   labelled=any(c["status"] == "pass" for c in checks.values()))
