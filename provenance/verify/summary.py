"""One plain line per verified file: what it declares, who signed it, and what failed, in words."""

from __future__ import annotations

from typing import Any

#: verify check name -> what it looks at, in plain words (a check not named here is shown by its name)
CHECK_TITLES = {
    "c2pa_manifest": "C2PA manifest",
    "c2pa_signature": "C2PA signature",
    "c2pa_trusted": "trusted signer",
    "c2pa_data_hash": "pixels unchanged since signing",
    "c2pa_source_type": "declared AI source",
    "c2pa_timestamp": "trusted timestamp",
    "gb45438_fields": "China GB 45438 metadata",
    "sb942_fields": "California SB 942 metadata",
    "visible_mark": "visible AI mark",
    "watermark": "invisible watermark",
    "soft_binding": "provenance record",
    "record_match": "pixels match the record",
    "gb45438_integrity": "GB 45438 integrity code",
    "consent_record": "consent records",
    "consent_at_creation": "consent at creation",
    "consent_purpose": "consent purpose",
    "consent_publication": "consent to publish",
}
#: the short names of the digital source types a summary line speaks of
SOURCE_WORDS = {"trainedAlgorithmicMedia": "AI-generated", "compositeWithTrainedAlgorithmicMedia": "AI-edited photo",
                "algorithmicMedia": "algorithmically made"}


def title(check: str) -> str:
    """A check's name in plain words."""
    return CHECK_TITLES.get(check, check)


#: a provenance record's source type -> the words for it
RECORD_SOURCES = {"created": "AI-generated", "edited": "AI-edited photo"}


def _declared(report: dict[str, Any]) -> str:
    c2pa = report.get("c2pa") or {}
    source = (c2pa.get("digital_source_type") or "").rsplit("/", 1)[-1]
    what = SOURCE_WORDS.get(source, source) if source else "no AI declaration"
    if c2pa.get("present"):
        signer = (c2pa.get("signer") or {}).get("common_name")
        trust = c2pa.get("trust") or ("trusted" if c2pa.get("validation_state") == "Trusted" else "untrusted")
        what = f"{what}, signed by {signer or 'an unnamed signer'} ({trust})"
    record = report.get("record") or {}
    if record and report.get("found_via") not in (None, "manifest"):
        kind = RECORD_SOURCES.get((record.get("params") or {}).get("source_type"), "labelled")
        what += f"; record {record['id']} ({kind}) found through the {report['found_via']}"
    return what


def restamp_note(report: dict[str, Any]) -> str:
    """For a file that can be re-stamped from its record: the sentence offering the command (else "")."""
    if not report.get("restamp"):
        return ""
    return f"; its labels can be restored from record {report['record']['id']}: {report['restamp']}"


def summary_line(report: dict[str, Any]) -> str:
    """``FILE: ok|FAILED|unreadable - ...``: the declaration and signer, then each failed check and why."""
    if report.get("error"):
        return f"{report['file']}: unreadable - {report['error']}"
    checks = report["checks"]
    counts = {s: sum(c["status"] == s for c in checks.values()) for s in ("pass", "fail", "absent")}
    tally = f"{counts['pass']} passed, {counts['fail']} failed, {counts['absent']} not present"
    failed = [f"{title(name)}: {c['reason']}" for name, c in checks.items() if c["status"] == "fail"]
    if not report["ok"] or failed:
        line = f"{report['file']}: FAILED - {_declared(report)}; " + "; ".join(failed) + f" ({tally})"
        return line + restamp_note(report)
    word = "ok" if report.get("labelled") or counts["pass"] else "unlabelled"
    return f"{report['file']}: {word} - {_declared(report)} ({tally})" + restamp_note(report)
