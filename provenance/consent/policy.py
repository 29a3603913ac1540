"""Consent policy: what forge (training, sampling, upscaling) and stamping may do with whose faces.

The workspace's ``consent-policy.json`` says whether missing consent refuses the work
(the default) or only warns, and how many hours a takedown may take (48 by default, the
removal time the US TAKE IT DOWN Act sets for platforms).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any, Iterable

from assay.core.clitools import say
from assay.core.errors import InputError
from assay.core.fileio import atomic_write_json, read_json
from assay.core.workspace import Workspace
from assay.provenance.consent.ledger import (
    ConsentError,
    ConsentRecord,
    Ledger,
    iso,
    utc,
)
from assay.provenance.manifest import CONSENT_ASSERTION

POLICY_FILE = "consent-policy.json"
MODES = ("refuse", "warn")
#: how many subject ids a refusal names before "and N more"
NAMED = 10


@dataclass
class ConsentPolicy:
    mode: str = "refuse"
    takedown_hours: float = 48.0

    def validate(self) -> "ConsentPolicy":
        if self.mode not in MODES:
            raise InputError(f"consent policy mode must be one of {', '.join(MODES)}, got {self.mode!r}")
        if not self.takedown_hours > 0:
            raise InputError(f"takedown hours must be positive, got {self.takedown_hours}")
        return self


def load_policy(ws: Workspace) -> ConsentPolicy:
    path = ws.root / POLICY_FILE
    return ConsentPolicy(**read_json(path)).validate() if path.exists() else ConsentPolicy()


def save_policy(ws: Workspace, policy: ConsentPolicy) -> None:
    atomic_write_json(ws.root / POLICY_FILE, asdict(policy.validate()))


#: why a subject lacks consent when the ledger holds no record for them at all
NO_RECORD = "no consent record"
#: the flag that lets training go on over faces without consent records, with the reason it is given
WAIVER_FLAG = "--no-consent-records"


@dataclass
class Consent:
    """Consent found for some subjects and one scope: the records used, the subjects left without, and the
    waiver (why the work went on over real people's faces without consent records; None when it did not)."""

    scope: str
    records: list[ConsentRecord]
    missing: dict[str, str]
    waiver: dict[str, Any] | None = None

    def declares(self) -> bool:
        """Whether outputs carry this consent: records to point to, or faces used without them."""
        return bool(self.records or self.waiver)

    def assertion(self) -> dict[str, Any]:
        """The ``org.assay.consent`` manifest assertion: record ids and hashes and any waiver, no subject ids."""
        data: dict[str, Any] = {"scope": self.scope, "records": [{"id": r.id, "sha256": r.hash} for r in self.records]}
        if self.waiver:
            data["waiver"] = self.waiver
        return {"label": CONSENT_ASSERTION, "data": data}

    def catalog_params(self) -> dict[str, Any]:
        """What a provenance record keeps in the catalog (subjects included, so a revocation finds it)."""
        return {"consent": {**self.assertion()["data"], "subjects": sorted({r.subject_id for r in self.records})}}


def require_consent(ws: Workspace, subjects: Iterable[str], scope: str, at: str | datetime | None = None,
                    policy: ConsentPolicy | None = None, what: str | None = None,
                    waiver: dict[str, Any] | None = None) -> Consent:
    """Each subject's valid record for ``scope`` at ``at`` (default now).

    Subjects without one are named in a :class:`ConsentError` (policy "refuse") or in a
    warning (policy "warn", which returns the consent found). A ``waiver`` (see
    :func:`require_training_consent`) lets subjects with no record at all through, never a
    refused, revoked or expired one; the returned consent carries it.
    """
    when = utc(at)
    policy = policy or load_policy(ws)
    by_subject: dict[str, list[ConsentRecord]] = {}
    for rec in Ledger(ws).records().values():
        by_subject.setdefault(rec.subject_id, []).append(rec)
    found, missing = [], {}
    for subject in sorted(set(subjects)):
        records = by_subject.get(subject, [])
        valid = [r for r in records if r.problem(scope, when) is None]
        if valid:
            found.append(max(valid, key=lambda r: r.granted_at))
        else:
            missing[subject] = "; ".join(r.problem(scope, when) or "" for r in records) or NO_RECORD
    blocking = {s: why for s, why in missing.items() if not (waiver and why == NO_RECORD)}
    consent = Consent(scope, found, missing, waiver)
    if blocking:
        named = [f"{s} ({why})" for s, why in list(blocking.items())[:NAMED]]
        more = f" and {len(blocking) - NAMED} more" if len(blocking) > NAMED else ""
        message = (f"{what or scope} needs valid {scope} consent at {iso(when)}; {len(blocking)} subject(s) lack it: "
                   + ", ".join(named) + more)
        if policy.mode == "refuse":
            raise ConsentError(message)
        say("consent", f"warning (policy warn): {message}")
        consent.waiver = waiver or {"reason": "the workspace's consent policy is warn", "subjects_without_consent":
                                    len(blocking)}
    return consent


def require_training_consent(ws: Workspace, dataset_id: str, no_consent_records: str | None = None,
                             at: str | datetime | None = None, policy: ConsentPolicy | None = None) -> Consent:
    """Training consent for a prepared set: every linked subject's valid record, and no face left unlinked.

    Faces not linked to a subject (a set prepared without ``--consent`` or
    ``--subjects-from-layout``) and subjects with no consent record are real people's faces
    without consent: training stops (:class:`ConsentError`), unless ``no_consent_records``
    gives the reason it goes on, or the workspace's policy is "warn". Either way the returned
    consent's ``waiver`` says so, for the run's lineage and for its outputs' manifests.
    """
    if no_consent_records is not None and not no_consent_records.strip():
        raise InputError(f"{WAIVER_FLAG} needs a reason (it is recorded in the run's lineage)")
    policy = policy or load_policy(ws)
    params = ws.catalog.get(dataset_id).params
    count = int(params.get("count", 0))
    unlinked = int(params.get("unlinked_faces", 0)) if "subjects" in params else count
    waiver = None
    if no_consent_records:
        waiver = {"reason": no_consent_records.strip(), "dataset": dataset_id, "unlinked_faces": unlinked}
    what = f"training on {dataset_id}"
    consent = require_consent(ws, params.get("subjects", []), "training", at, policy, what, waiver)
    if not unlinked and not consent.missing:
        consent.waiver = None  # every face has a valid record: nothing was waived
    elif unlinked and not waiver:
        how = ("prepared without --consent or --subjects-from-layout" if "subjects" not in params
               else "not matched by the consent file")
        message = (f"{what}: {unlinked} of its {count} faces are real people's faces linked to no consent record "
                   f"({how}); link them (assay data prepare --consent FILE, then assay provenance consent import) "
                   f"or train with {WAIVER_FLAG} REASON, which is recorded in the run's lineage")
        if policy.mode == "refuse":
            raise ConsentError(message)
        say("consent", f"warning (policy warn): {message}")
        consent.waiver = {**(consent.waiver or {}), "reason": "the workspace's consent policy is warn",
                          "unlinked_faces": unlinked}
    if consent.waiver:
        consent.waiver.setdefault("dataset", dataset_id)
        consent.waiver["subjects_without_record"] = sum(why == NO_RECORD for why in consent.missing.values())
    return consent


def dataset_subjects(ws: Workspace, dataset_id: str) -> list[str]:
    """The subjects a prepared set was linked to (empty when it was prepared without subject links)."""
    return list(ws.catalog.get(dataset_id).params.get("subjects", []))


def takedown_items(ws: Workspace, subject_id: str) -> list[dict[str, Any]]:
    """Every artefact derived from ``subject_id``: the prepared sets holding the subject's faces and
    provenance records stamped with the subject's consent, then everything made from them (lineage)."""
    roots = [r for r in ws.catalog.list("datasets") if subject_id in r.params.get("subjects", [])]
    roots += [r for r in ws.catalog.list("provenance")
              if subject_id in (r.params.get("consent") or {}).get("subjects", [])]
    found = {r.id: r for r in roots}
    for root in roots:
        found.update({d.id: d for d in ws.catalog.descendants(root.id)})
    return [{"artefact": r.id, "kind": r.kind, "name": r.name, "path": r.path}
            for r in sorted(found.values(), key=lambda r: (r.created_at, r.id))]


def revoke(ws: Workspace, record_id: str, at: str | datetime | None = None,
           policy: ConsentPolicy | None = None) -> ConsentRecord:
    """Revoke a record and open its takedown queue (due ``policy.takedown_hours`` after ``at``)."""
    ledger = Ledger(ws)
    record = ledger.get(record_id)
    when = utc(at)
    hours = (policy or load_policy(ws)).takedown_hours
    return ledger.revoke(record_id, takedown_items(ws, record.subject_id), when + timedelta(hours=hours), when)


def takedown_queue(ws: Workspace, overdue_only: bool = False, at: str | datetime | None = None
                   ) -> list[dict[str, Any]]:
    """Open and done takedown items of every revoked record, with status open / overdue / done."""
    when = utc(at)
    rows = []
    for rec in Ledger(ws).records().values():
        for item in rec.takedown:
            status = "done" if "done_at" in item else ("overdue" if when > utc(item["deadline"]) else "open")
            if overdue_only and status != "overdue":
                continue
            rows.append({"record": rec.id, "subject_id": rec.subject_id, **item, "status": status})
    return rows


def mark_done(ws: Workspace, artefact_id: str, by: str, at: str | datetime | None = None) -> int:
    """Close the open takedown items of ``artefact_id`` as done by ``by``; returns how many were closed."""
    open_items = [r for r in takedown_queue(ws, at=at) if r["artefact"] == artefact_id and r["status"] != "done"]
    if not open_items:
        raise ConsentError(f"no open takedown item for {artefact_id!r} (see `assay provenance takedowns`)")
    Ledger(ws).mark_done(artefact_id, by, at)
    return len(open_items)
