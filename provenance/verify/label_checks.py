"""The label checks of verify: C2PA manifest, signature, trust, data hash, source type,
implicit (XMP) fields, visible mark, watermark and the soft binding to the catalog record."""

from __future__ import annotations

from assay.provenance import implicit, manifest, visible
from assay.provenance.stamp.records import NOT_READY
from assay.provenance.verify.checks import (
    NO_MANIFEST,
    Check,
    CheckResult,
    check,
    result,
)
from assay.provenance.verify.evidence import Evidence
from assay.provenance.verify.video_scan import check_video_mark

_SIGNATURE_FAILURES = ("claimSignature.mismatch", "claimSignature.missing", "signingCredential.invalid",
                       "signingCredential.revoked", "signingCredential.expired", "timeStamp.mismatch")


def _failures(ev: Evidence) -> tuple[set[str], set[str]]:
    return manifest.status_codes(ev.store)  # type: ignore[arg-type]


def _signature_failures(ev: Evidence) -> list[str]:
    return sorted(c for c in _failures(ev)[1] if c in _SIGNATURE_FAILURES or c.startswith("claimSignature"))


@check("c2pa_manifest", label="c2pa")
def c2pa_manifest(ev: Evidence) -> CheckResult:
    if ev.manifest_error is not None:
        return result("fail", f"manifest unreadable (manifest.unreadable: {ev.manifest_error})")
    if ev.store is None:
        return result("absent", NO_MANIFEST)
    label = manifest.active_manifest(ev.store).get("label", "?")
    if ev.invalid:
        return result("fail", f"manifest {label} is invalid ({', '.join(ev.invalid)}): it was changed after signing, "
                              "and none of its fields is evidence")
    return result("pass", f"manifest {label} present and valid")


@check("c2pa_signature", needs=("manifest",), label="c2pa")
def c2pa_signature(ev: Evidence) -> CheckResult:
    bad = _signature_failures(ev)
    if bad:
        return result("fail", "signature invalid: " + ", ".join(bad))
    signer = manifest.active_manifest(ev.store).get("signature_info") or {}  # type: ignore[arg-type]
    return result("pass", f"signature valid ({signer.get('alg', '?')}, {signer.get('common_name', '?')} / "
                          f"{signer.get('issuer', '?')})")


@check("c2pa_trusted", needs=("manifest",), label="c2pa")
def c2pa_trusted(ev: Evidence) -> CheckResult:
    sig_bad = _signature_failures(ev)
    if ev.store.get("validation_state") == "Trusted":  # type: ignore[union-attr]
        return result("pass", "signer chains to a configured trust anchor")
    if "signingCredential.trusted" in _failures(ev)[0] and not sig_bad:
        return result("pass", "signer chains to a configured trust anchor (but the manifest is invalid: see the "
                              "other checks)")
    if sig_bad:
        return result("fail", "signature invalid, so the signer cannot be trusted")
    return result("fail", "valid, untrusted signer (not issued by a configured trust anchor)")


@check("c2pa_data_hash", needs=("manifest",), label="c2pa")
def c2pa_data_hash(ev: Evidence) -> CheckResult:
    ok, bad = _failures(ev)
    hash_bad = sorted(c for c in bad if "dataHash" in c or "bmffHash" in c or "boxesHash" in c)
    if hash_bad:
        return result("fail", "data hash mismatch: the file's bytes changed after signing (" + ", ".join(hash_bad)
                      + ")")
    if any("Hash.match" in c for c in ok):
        return result("pass", "data hash matches (pixels untouched since signing)")
    return result("fail", "no hard binding validated")


@check("c2pa_source_type", needs=("valid_manifest",), label="c2pa")
def c2pa_source_type(ev: Evidence) -> CheckResult:
    actions = (manifest.assertion(manifest.active_manifest(ev.store), "c2pa.actions") or {}).get("actions", [])  # type: ignore[arg-type]
    names = [a.get("action") for a in actions]
    ai = [a["digitalSourceType"] for a in actions if a.get("digitalSourceType") in manifest.AI_SOURCE_TYPES]
    if ai:
        return result("pass", f"{', '.join(names)}; {ai[-1].rsplit('/', 1)[-1]}")
    return result("fail", f"actions {names} declare no AI digitalSourceType")


def _implicitresult(regulation: str) -> Check:
    def run(ev: Evidence) -> CheckResult:
        found = implicit.check_fields(ev.implicit)[regulation]
        if ev.implicit_from == "manifest" and found["status"] != "absent":
            return result(found["status"], found["reason"] + " (from the signed manifest; no XMP)")
        return result(found["status"], found["reason"])

    run.__doc__ = f"The {regulation} implicit label fields, from the XMP or the manifest's signed copy."
    return run


check("gb45438_fields", label="xmp")(_implicitresult("gb45438"))
check("sb942_fields", label="xmp")(_implicitresult("sb942"))


@check("visible_mark", label="visible")
def visible_mark(ev: Evidence) -> CheckResult:
    mark = ev.recorded("visible")
    if ev.scan is not None:
        return check_video_mark(ev.scan.samples, ev.scan.info["fps"], ev.scan.total_frames, mark)
    return visible.check_mark(ev.rgb, mark)  # type: ignore[arg-type]


@check("watermark", label="watermark")
def watermarkresult(ev: Evidence) -> CheckResult:
    reading, recorded = ev.reading, ev.recorded("watermark")
    if reading.status == "found":
        if ev.manifest_id and reading.content_id != ev.manifest_id:
            return result("fail", f"watermark id {reading.content_id} differs from the manifest's {ev.manifest_id}")
        also = " and matches the manifest" if ev.manifest_id else ""
        return result("pass", f"invisible watermark read: content id {reading.content_id}{also} "
                              f"({reading.method} method)")
    if reading.status == "too_small" or recorded.get("status") in ("too_small", "lost_in_encode", "not_decodable"):
        return result("absent", recorded.get("reason") or reading.reason)
    if recorded.get("status") == "embedded":
        return result("fail", f"a watermark was embedded but does not decode ({reading.reason})")
    return result("absent", reading.reason)


@check("soft_binding", needs=("workspace",))
def soft_binding(ev: Evidence) -> CheckResult:
    if ev.record is not None and ev.record["status"] in NOT_READY:
        return result("fail", f"record {ev.record['id']} is {NOT_READY[ev.record['status']]}")
    if ev.record is not None:
        how = {"manifest": "manifest's content id", "watermark": "watermark's content id (soft binding)",
               "xmp": "XMP metadata's content id (unsigned)"}[ev.found_via or "manifest"]
        return result("pass", f"record {ev.record['id']} found through the {how}")
    if ev.content_id:
        return result("fail", f"content id {ev.content_id} is not in this workspace's catalog")
    return result("absent", "no content id to look up")


