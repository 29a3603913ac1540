"""Verify's consent checks: is the consent a file's manifest points to real, and did it cover the file?

Each check is a small named function of the consent inputs (the consent assertion of the
manifest, or of the catalog record when the manifest is gone; the creation time; the
workspace's ledger), gathered once per file from verify's evidence, and is registered in
verify's check registry like the label checks.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable

from assay.core.workspace import Workspace
from assay.provenance import manifest
from assay.provenance.consent.ledger import ConsentRecord, Ledger, utc
from assay.provenance.verify.checks import CheckResult, check, result
from assay.provenance.verify.evidence import Evidence


@dataclass
class ConsentInputs:
    """What the consent checks look at, gathered once per file."""

    assertion: dict[str, Any] | None
    created: str | None
    ledger: dict[str, ConsentRecord] | None  # None: no workspace to look records up in
    now: datetime

    def records(self) -> list[tuple[dict[str, Any], ConsentRecord | None]]:
        refs = (self.assertion or {}).get("records") or []
        return [(ref, (self.ledger or {}).get(ref.get("id", ""))) for ref in refs]


#: the reason every consent check gives for a file that declares no subject's face data
NO_ASSERTION = "no consent assertion (no subject's face data declared)"
ConsentCheck = Callable[[ConsentInputs], CheckResult]
#: the consent checks' names, in the order they are reported
CONSENT_CHECKS: list[str] = []


def consent_check(name: str) -> Callable[[ConsentInputs], Callable[[ConsentInputs], CheckResult]]:
    """Register a consent check in verify's registry: it runs on the file's consent inputs."""
    def register(fn: ConsentCheck) -> ConsentCheck:
        check(name)(lambda ev: fn(inputs_of(ev)))
        CONSENT_CHECKS.append(name)
        return fn
    return register  # type: ignore[return-value]


def waived(assertion: dict[str, Any]) -> str | None:
    """Why a consent assertion's file was made from real people's faces without consent records, or None."""
    waiver = assertion.get("waiver")
    if not waiver:
        return None
    counts = [f"{waiver[k]} {what}" for k, what in (("unlinked_faces", "face(s) linked to no subject"),
                                                     ("subjects_without_record", "subject(s) with no record"))
              if waiver.get(k)]
    where = f" of training set {waiver['dataset']}" if waiver.get("dataset") else ""
    return (f"made from real people's faces without consent records ({', '.join(counts) or 'unrecorded'}{where}); "
            f"trained anyway because: {waiver.get('reason') or 'no reason given'}")


def _precondition(inputs: ConsentInputs) -> CheckResult | None:
    if not inputs.assertion:
        return result("absent", NO_ASSERTION)
    if (why := waived(inputs.assertion)) is not None:
        return result("fail", why)
    if inputs.ledger is None:
        return result("absent", "no workspace given to look the consent records up")
    return None


@consent_check("consent_record")
def consent_record(inputs: ConsentInputs) -> CheckResult:
    """Every record the assertion names is in the ledger with the same hash."""
    if (early := _precondition(inputs)) is not None:
        return early
    bad = [f"{ref.get('id')} not in the ledger" if rec is None else f"{rec.id} hash differs from the ledger's"
           for ref, rec in inputs.records() if rec is None or rec.hash != ref.get("sha256")]
    if bad or not inputs.records():
        return result("fail", "; ".join(bad) or "the consent assertion names no record")
    return result("pass", f"{len(inputs.records())} consent record(s) found, hashes match")


@consent_check("consent_at_creation")
def consent_at_creation(inputs: ConsentInputs) -> CheckResult:
    """The records covered the assertion's scope when the file was made."""
    if (early := _precondition(inputs)) is not None:
        return early
    if not inputs.created:
        return result("fail", "no creation time recorded to check the consent against")
    scope, created = inputs.assertion["scope"], utc(inputs.created)  # type: ignore[index]
    problems = [rec.problem(scope, created) if rec else f"{ref.get('id')} not in the ledger"
                for ref, rec in inputs.records()]
    problems = [p for p in problems if p]
    if problems:
        return result("fail", f"at creation ({inputs.created}): " + "; ".join(problems))
    return result("pass", f"{scope} consent valid at creation ({inputs.created})")


@consent_check("consent_purpose")
def consent_purpose(inputs: ConsentInputs) -> CheckResult:
    """Each record states the purpose the subject agreed to."""
    if (early := _precondition(inputs)) is not None:
        return early
    missing = [ref.get("id", "?") for ref, rec in inputs.records() if rec is None or not rec.purpose]
    if missing:
        return result("fail", f"no stated purpose for {', '.join(missing)}")
    purposes = sorted({rec.purpose for _, rec in inputs.records() if rec})
    return result("pass", f"purpose stated: {'; '.join(purposes)}")


@consent_check("consent_publication")
def consent_publication(inputs: ConsentInputs) -> CheckResult:
    """The records allow publication now (a later revocation makes a lawful creation unpublishable)."""
    if (early := _precondition(inputs)) is not None:
        return early
    problems = [rec.problem("publication", inputs.now) if rec else f"{ref.get('id')} not in the ledger"
                for ref, rec in inputs.records()]
    problems = [p for p in problems if p]
    if problems:
        lawful = consent_at_creation(inputs)["status"] == "pass"
        prefix = "creation was lawful, publication is not: " if lawful else ""
        return result("fail", prefix + "; ".join(problems))
    return result("pass", "publication consent valid now")


def gather(active: dict[str, Any] | None, record: dict[str, Any] | None, ws: Workspace | None,
           now: datetime | None = None) -> ConsentInputs:
    """The consent inputs from the active manifest, else from the catalog record verify found."""
    params = (record or {}).get("params") or {}
    assertion = manifest.assertion(active, manifest.CONSENT_ASSERTION) if active else None
    assertion = assertion or params.get("consent")
    labels = manifest.assertion(active, manifest.LABELS_ASSERTION) if active else None
    created = (labels or {}).get("created") or params.get("created")
    ledger = None if ws is None else (Ledger(ws).records() if assertion else {})
    return ConsentInputs(assertion, created, ledger, utc(now))


def inputs_of(ev: Evidence) -> ConsentInputs:
    """The consent inputs of one file, gathered on first use and shared by the consent checks."""
    if "consent" not in ev.memo:
        ev.memo["consent"] = gather(manifest.active_manifest(ev.store) if ev.manifest_valid else None, ev.record,  # type: ignore[arg-type]
                                   ev.ws)
    return ev.memo["consent"]
