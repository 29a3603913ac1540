"""`assay provenance consent import`: bulk-load consent records from CSV or JSON, one row per subject."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from assay.core.errors import AssayError, InputError
from assay.core.subjects import read_rows, subject_id_for
from assay.provenance.consent.ledger import ConsentRecord, Ledger, grant_entry

#: columns a row may have; ``identity`` and ``files`` are for `data prepare --consent` and are never stored
COLUMNS = ("subject_id", "identity", "files", "scopes", "jurisdiction", "purpose", "granted_at", "expires_at",
           "evidence_sha256")


@dataclass
class ImportResult:
    loaded: list[ConsentRecord] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def import_file(ledger: Ledger, path: str | Path) -> ImportResult:
    """Validate every row first; load the good ones. ``errors`` are "row N: reason" lines."""
    result = ImportResult()
    good = []
    for number, row in read_rows(path):
        try:
            unknown = sorted(set(row) - set(COLUMNS))
            if unknown:
                raise InputError(f"unknown column(s) {', '.join(unknown)}; expected some of {', '.join(COLUMNS)}")
            subject = str(row.get("subject_id") or "").strip()
            identity = str(row.get("identity") or "").strip()
            if not subject and not identity:
                raise InputError("needs subject_id or identity")
            scopes = row.get("scopes") or ""
            good.append(grant_entry(subject or subject_id_for(ledger.ws.root, identity),
                                    scopes if isinstance(scopes, (str, list)) else str(scopes),
                                    str(row.get("jurisdiction") or ""), str(row.get("purpose") or ""),
                                    str(row.get("granted_at") or "") or None, str(row.get("expires_at") or "") or None,
                                    evidence_sha256=str(row.get("evidence_sha256") or "") or None))
        except AssayError as exc:
            result.errors.append(f"row {number}: {exc}")
    for entry in good:
        result.loaded.append(ledger.add(entry.pop("subject_id"), **entry))
    return result
