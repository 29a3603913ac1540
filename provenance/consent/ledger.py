"""The consent ledger: what each subject agreed to, when, and what was withdrawn.

Storage: the catalog's append-only, hash-chained ``ledger`` table (one entry per change,
never edited in place) plus one ``consents`` catalog row per record, written in the same
transaction, which gives a record its id and lets lineage point at it. The current state
of a record is the fold of its entries (grant, then perhaps revoke); a revoked record
stays visible with its revocation. Subjects are pseudonymous ids; the ledger holds no
names, no faces and no evidence files, only the evidence's SHA-256.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable

from assay.core.catalog import GENESIS, chain_hash
from assay.core.errors import AssayError, InputError
from assay.core.fileio import sha256_file
from assay.core.subjects import check_subject_id
from assay.core.workspace import Workspace

SCOPES = ("training", "generation", "editing", "publication")


class ConsentError(AssayError):
    """Consent that is missing, or does not cover what was asked; the message names the subjects."""


def utc(value: str | datetime | None = None) -> datetime:
    """A timezone-aware UTC datetime from ISO 8601 text (a date alone is midnight UTC), or now."""
    if value is None:
        return datetime.now(timezone.utc)
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            raise InputError(f"{value!r} is not an ISO 8601 date or time (e.g. 2025-09-01 or 2025-09-01T12:00:00Z)")
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


def iso(value: datetime) -> str:
    return value.isoformat(timespec="seconds")


def parse_scopes(value: str | Iterable[str]) -> list[str]:
    """Scopes from "training;generation" / "training,generation" or a list, checked and deduplicated."""
    items = value.replace(";", ",").split(",") if isinstance(value, str) else list(value)
    scopes = list(dict.fromkeys(s.strip() for s in items if s.strip()))
    unknown = [s for s in scopes if s not in SCOPES]
    if unknown or not scopes:
        raise InputError(f"scopes must be some of {', '.join(SCOPES)}; got {', '.join(unknown) or 'none'}")
    return scopes


@dataclass
class ConsentRecord:
    """The current state of one consent record (its grant, and its revocation if any)."""

    id: str
    subject_id: str
    scopes: list[str]
    jurisdiction: str
    purpose: str
    granted_at: str
    expires_at: str | None
    evidence_sha256: str | None
    hash: str
    revoked_at: str | None = None
    takedown: list[dict[str, Any]] = field(default_factory=list)

    def problem(self, scope: str, at: datetime) -> str | None:
        """Why this record does not allow ``scope`` at ``at`` (None when it does)."""
        if scope not in self.scopes:
            return f"{self.id} does not cover {scope} (only {', '.join(self.scopes)})"
        if at < utc(self.granted_at):
            return f"{self.id} was granted later ({self.granted_at})"
        if self.expires_at and at >= utc(self.expires_at):
            return f"{self.id} expired at {self.expires_at}"
        if self.revoked_at and at > utc(self.revoked_at):  # still valid in its last second (times are to the second)
            return f"{self.id} was revoked at {self.revoked_at}"
        return None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class Ledger:
    """The consent ledger of one workspace."""

    def __init__(self, ws: Workspace) -> None:
        self.ws = ws

    # -- writes ------------------------------------------------------------------
    def add(self, subject_id: str, scopes: str | Iterable[str], jurisdiction: str, purpose: str,
            granted_at: str | datetime | None = None, expires_at: str | datetime | None = None,
            evidence: str | Path | None = None, evidence_sha256: str | None = None) -> ConsentRecord:
        """Record a grant; ``evidence`` (a signed form, a recording) is hashed, never stored."""
        entry = grant_entry(subject_id, scopes, jurisdiction, purpose, granted_at, expires_at, evidence, evidence_sha256)
        record_id = self.ws.catalog.new_id("consents")
        entry = {"type": "grant", "record": record_id, **entry}
        row = self.ws.catalog.append_ledger(entry, ("consents", record_id, {k: v for k, v in entry.items()
                                                                            if k != "type"}))
        return _grant(entry, row["hash"])

    def revoke(self, record_id: str, takedown: list[dict[str, Any]], deadline: datetime,
               at: str | datetime | None = None) -> ConsentRecord:
        """Withdraw a record; ``takedown`` lists what was derived from its subject, due by ``deadline``."""
        record = self.get(record_id)
        if record.revoked_at:
            raise ConsentError(f"{record_id} was already revoked at {record.revoked_at}")
        when = utc(at)
        self.ws.catalog.append_ledger({"type": "revoke", "record": record_id, "revoked_at": iso(when),
                                       "deadline": iso(deadline), "items": takedown})
        return self.get(record_id)

    def mark_done(self, artefact_id: str, by: str, at: str | datetime | None = None) -> None:
        """Record that ``by`` took ``artefact_id`` down (closes its open takedown items)."""
        if not by.strip():
            raise InputError("who took the item down must be named (--by)")
        self.ws.catalog.append_ledger({"type": "takedown_done", "artefact": artefact_id, "by": by.strip(),
                                       "done_at": iso(utc(at))})

    # -- reads -------------------------------------------------------------------
    def entries(self) -> list[dict[str, Any]]:
        return self.ws.catalog.ledger()

    def records(self) -> dict[str, ConsentRecord]:
        """Every record's current state by id, oldest first; takedown items carry their status."""
        records: dict[str, ConsentRecord] = {}
        for row in self.entries():
            entry = row["entry"]
            kind = entry.get("type")
            if kind == "grant":
                records[entry["record"]] = _grant(entry, row["hash"])
            elif kind == "revoke" and entry.get("record") in records:
                rec = records[entry["record"]]
                rec.revoked_at = entry["revoked_at"]
                rec.takedown = [{**item, "deadline": entry["deadline"], "opened_at": entry["revoked_at"]}
                                for item in entry.get("items", [])]
            elif kind == "takedown_done":
                for rec in records.values():
                    for item in rec.takedown:
                        if item["artefact"] == entry["artefact"] and "done_at" not in item:
                            item.update(by=entry["by"], done_at=entry["done_at"])
        return records

    def get(self, record_id: str) -> ConsentRecord:
        records = self.records()
        if record_id not in records:
            raise ConsentError(f"no consent record {record_id!r} in this workspace's ledger")
        return records[record_id]

    def for_subject(self, subject_id: str) -> list[ConsentRecord]:
        return [r for r in self.records().values() if r.subject_id == subject_id]

    def verify(self) -> dict[str, Any]:
        """Recompute the hash chain and compare each ``consents`` row with its ledger entry."""
        problems: list[str] = []
        prev = GENESIS
        rows = self.entries()
        for row in rows:
            if row["prev_hash"] != prev:
                problems.append(f"entry {row['seq']}: links to {row['prev_hash'][:12]}, not to the entry before "
                                f"({prev[:12]}): an entry was removed or inserted")
            if chain_hash(row["prev_hash"], row["seq"], row["created_at"], row["entry"]) != row["hash"]:
                problems.append(f"entry {row['seq']}: content does not match its hash (edited after it was written)")
            prev = row["hash"]
        grants = {r["entry"]["record"]: r for r in rows if r["entry"].get("type") == "grant"}
        for rec in self.ws.catalog.list("consents"):
            entry = grants.get(rec.id)
            if entry is None or rec.params.get("ledger_hash") != entry["hash"]:
                problems.append(f"catalog record {rec.id} does not match a ledger entry")
        return {"ok": not problems, "entries": len(rows), "head": prev, "problems": problems}


def grant_entry(subject_id: str, scopes: str | Iterable[str], jurisdiction: str, purpose: str,
                granted_at: str | datetime | None = None, expires_at: str | datetime | None = None,
                evidence: str | Path | None = None, evidence_sha256: str | None = None) -> dict[str, Any]:
    """A checked grant (without its record id); InputError names the first bad field."""
    granted = utc(granted_at)
    expires = utc(expires_at) if expires_at else None
    if expires is not None and expires <= granted:
        raise InputError(f"expires_at {iso(expires)} is not after granted_at {iso(granted)}")
    if not jurisdiction.strip():
        raise InputError("jurisdiction is required (e.g. EU, CN, US-CA)")
    if not purpose.strip():
        raise InputError("purpose is required (what the face data is used for)")
    if evidence is not None:
        if not Path(evidence).is_file():
            raise InputError(f"evidence file {evidence} not found")
        evidence_sha256 = sha256_file(evidence)
    if evidence_sha256 is not None and (len(evidence_sha256) != 64 or not all(c in "0123456789abcdef"
                                                                               for c in evidence_sha256)):
        raise InputError(f"evidence_sha256 must be 64 lowercase hex digits, got {evidence_sha256!r}")
    return {"subject_id": check_subject_id(subject_id), "scopes": parse_scopes(scopes),
            "jurisdiction": jurisdiction.strip(), "purpose": purpose.strip(), "granted_at": iso(granted),
            "expires_at": iso(expires) if expires else None, "evidence_sha256": evidence_sha256}


def _grant(entry: dict[str, Any], digest: str) -> ConsentRecord:
    return ConsentRecord(entry["record"], entry["subject_id"], list(entry["scopes"]), entry["jurisdiction"],
                         entry["purpose"], entry["granted_at"], entry["expires_at"], entry["evidence_sha256"], digest)
