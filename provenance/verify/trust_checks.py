"""The verify checks that tie a file to what this workspace made: the manifest's timestamp, the record
found by content id compared with the pixels, and the keyed GB 45438 ``ReservedCode1``."""

from __future__ import annotations

from assay.provenance import manifest
from assay.provenance.phash import TOLERANCE, distance, phash
from assay.provenance.verify.checks import CheckResult, check, result
from assay.provenance.verify.evidence import Evidence

NO_TIMESTAMP = ("no timestamp: the signature counts only while the signing certificate is valid, so the manifest "
                "reads Invalid once it expires (configure a timestamp authority)")


@check("c2pa_timestamp", needs=("manifest",))
def c2pa_timestamp(ev: Evidence) -> CheckResult:
    ok, bad = manifest.status_codes(ev.store)  # type: ignore[arg-type]
    failed = sorted(c for c in bad if c.startswith("timeStamp."))
    if failed:
        return result("fail", "timestamp invalid: " + ", ".join(failed))
    when = (manifest.active_manifest(ev.store).get("signature_info") or {}).get("time")  # type: ignore[arg-type]
    if "timeStamp.validated" not in ok or not when:
        return result("absent", NO_TIMESTAMP)
    if "timeStamp.trusted" in ok:
        return result("pass", f"RFC 3161 timestamp {when} from a trusted timestamp authority")
    return result("pass", f"RFC 3161 timestamp {when} (its authority does not chain to a trust anchor)")


@check("record_match", needs=("workspace",))
def record_match(ev: Evidence) -> CheckResult:
    """The record found by content id against the pixels: identical (images), else the perceptual hash (video:
    of the first frame) within :data:`TOLERANCE`."""
    record = ev.record
    if record is None:
        return result("absent", "no record to compare the image with")
    params = record.get("params") or {}
    if ev.pixel_sha256 is not None and params.get("pixel_sha256") == ev.pixel_sha256:
        return result("pass", f"pixels identical to record {record['id']}'s")
    if not params.get("phash"):
        return result("absent", f"record {record['id']} has no perceptual hash (stamped before they were kept) "
                                "and the pixels differ: not compared")
    d = distance(params["phash"], phash(ev.rgb if ev.scan is None else ev.scan.samples[0]))  # type: ignore[arg-type]
    if d <= TOLERANCE:
        what = "the picture" if ev.scan is None else "the first frame"
        return result("pass", f"{what} matches record {record['id']} "
                              f"(perceptual hash: {d} of 64 bits differ, tolerance {TOLERANCE})")
    return result("fail", f"the image is not the one record {record['id']} describes (perceptual hash: {d} of 64 "
                          f"bits differ, tolerance {TOLERANCE}): its content id was copied onto another picture")


@check("gb45438_integrity", media=("image",))
def gb45438_integrity(ev: Evidence) -> CheckResult:
    gb = ev.implicit.get("gb45438")
    code = gb.get("ReservedCode1") if isinstance(gb, dict) else None
    if not code:
        return result("absent", "no GB 45438 integrity code (the keyed field ReservedCode1)")
    if ev.secret is None:
        return result("absent", "no workspace secret to check the GB 45438 integrity code (ReservedCode1) with: only its producer can")
    expected = ev.secret.integrity_code(str(gb.get("ProduceID", "")), ev.pixel_sha256 or "",  # type: ignore[union-attr]
                                        str(gb.get("ContentProducer", "")))
    if code == expected:
        return result("pass", "the GB 45438 integrity code (ReservedCode1, keyed with the workspace secret) "
                              "matches the pixels, id and producer")
    return result("fail", "the GB 45438 integrity code (ReservedCode1) does not match: the pixels, id or producer "
                          "changed since stamping, or another workspace's key made it")
