"""The workspace catalog: every artefact's id, name, parameters and lineage.

:class:`Catalog` is what the subsystems call. It keeps the catalog's rules (ids, names,
error messages) and stores through a :class:`CatalogBackend`, the one place that speaks a
database's language: SQLite in ``assay.core.catalog_sqlite`` (the embedded default); a
server database is another backend behind the same protocol.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import (
    Any,
    Callable,
    Iterable,
    Iterator,
    Literal,
    Mapping,
    Protocol,
    Sequence,
)
from urllib.parse import urlsplit

from assay.core.errors import CatalogError
from assay.core.registry import load_entry
from assay.core.workspace_paths import WorkspacePaths

#: artefact kind -> id prefix. The kind is also the table name.
KINDS: dict[str, str] = {
    "datasets": "ds",
    "runs": "run",
    "samples": "smp",
    "detectors": "det",
    "scans": "scan",
    "provenance": "prov",
    "consents": "cons",
}
PREFIX_TO_KIND = {v: k for k, v in KINDS.items()}
#: the first line of `assay catalog export`'s JSON lines
EXPORT_SCHEMA = "assay.catalog.export/1"
#: random bytes in a new id (hex digits after the prefix). With 4 bytes two of 100,000 rows of
#: one kind shared an id more often than not (the birthday bound); 6 bytes make it about 2e-5.
ID_BYTES = 6

#: parameters kept in an index, so that :meth:`Catalog.find` reads only the matching rows.
#: Only string values are indexed. A key added here needs a migration that backfills it.
INDEXED_PARAMS: tuple[str, ...] = ("content_id", "pixel_sha256", "file_sha256", "run_id", "subject_id")

#: how :meth:`CatalogBackend.related` follows the lineage from an artefact
Direction = Literal["children", "descendants", "ancestors"]

#: the ``prev_hash`` of the first ledger entry
GENESIS = "0" * 64

#: table -> the standard-SQL ``FROM ... WHERE`` of its rows that belong to no artefact (what ``catalog check`` counts
#: and, with ``--repair``, deletes); both backends run these as they are
ORPHANS: dict[str, str] = {
    "lineage": "FROM lineage WHERE child NOT IN (SELECT id FROM artefacts)",
    "param_index": "FROM param_index WHERE artefact NOT IN (SELECT id FROM artefacts)",
    "rejects": "FROM rejects WHERE artefact NOT IN (SELECT id FROM artefacts)",
}


def chain_hash(prev_hash: str, seq: int, created_at: str, entry: dict[str, Any]) -> str:
    """SHA-256 linking a ledger entry to the one before it (canonical JSON, so re-reading gives the same hash)."""
    body = json.dumps({"seq": seq, "created_at": created_at, "entry": entry}, sort_keys=True, separators=(",", ":"),
                      default=str)
    return hashlib.sha256(f"{prev_hash}\n{body}".encode()).hexdigest()


#: catalog URL scheme -> "module:function" opening it as ``function(url, read_only)``; the backend's
#: module (and its driver) is imported only when its scheme is used
BACKENDS: dict[str, str] = {
    "sqlite": "assay.core.catalog_sqlite:open_url",
    "postgresql": "assay.core.catalog_postgres:open_postgres",
    "postgres": "assay.core.catalog_postgres:open_postgres",
}


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


def kind_of(artefact_id: str) -> str:
    prefix = artefact_id.split("-", 1)[0]
    if prefix not in PREFIX_TO_KIND:
        raise CatalogError(f"{artefact_id!r} is not an artefact id (expected one of the prefixes {sorted(PREFIX_TO_KIND)})")
    return PREFIX_TO_KIND[prefix]


def check_kind(kind: str) -> str:
    if kind not in KINDS:
        raise CatalogError(f"unknown kind {kind!r}; expected one of: {', '.join(KINDS)}")
    return kind


def missing(artefact_id: str) -> CatalogError:
    """The error for an id that is not in the catalog."""
    return CatalogError(f"no {kind_of(artefact_id)} artefact with id {artefact_id!r}")


def apply_change(found: Mapping[str, Record], artefact_ids: Sequence[str], change: Callable[[Record], None]
                 ) -> list[Record]:
    """The rows of ``artefact_ids`` (from ``found``, by id) with ``change`` applied, in the order asked; a backend's
    ``modify`` calls it inside its transaction. An id not found: :func:`missing`, before any change."""
    absent = next((a for a in artefact_ids if a not in found), None)
    if absent is not None:
        raise missing(absent)
    records = [found[a] for a in artefact_ids]
    for rec in records:
        change(rec)
    return records


def duplicate(kind: str, name: str) -> CatalogError:
    """The error for a name already taken within its kind."""
    return CatalogError(f"a {kind[:-1] if kind.endswith('s') else kind} named {name!r} already exists")


@dataclass
class Record:
    """One catalog row."""

    id: str
    kind: str
    name: str
    created_at: str
    params: dict[str, Any] = field(default_factory=dict)
    parents: list[str] = field(default_factory=list)
    path: str | None = None
    status: str = "ready"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def indexed(self) -> list[tuple[str, str]]:
        """The (key, value) pairs of :data:`INDEXED_PARAMS` this row is found by."""
        return [(k, self.params[k]) for k in INDEXED_PARAMS if isinstance(self.params.get(k), str)]


class CatalogBackend(Protocol):
    """Storage of catalog rows, lineage edges, the parameter index and rejects.

    Rows come back as :class:`Record` s, oldest first (by ``created_at``, then id). A
    read-only backend refuses every write with a :class:`CatalogError`.
    """

    location: str
    read_only: bool

    def schema_version(self) -> int:
        """The migration number the store is at."""

    def insert(self, records: Sequence[Record]) -> None:
        """Add rows with their lineage and indexed parameters, all or none. Parents must exist
        (earlier in ``records`` or in the store): :func:`missing`; names are unique per kind:
        :func:`duplicate`."""

    def modify(self, artefact_ids: Sequence[str], change: Callable[[Record], None]) -> list[Record]:
        """Apply ``change`` to each row of ``artefact_ids`` inside one write transaction, all or none; store them
        (and their index) and return them in the order asked. A missing id: :func:`missing`, nothing changed."""

    def select(self, kinds: Sequence[str], ids: Sequence[str] = (), name: str | None = None,
               status: str | None = None) -> list[Record]:
        """Rows of ``kinds``, narrowed to ``ids`` (when given), a ``name`` and a ``status``."""

    def find(self, kinds: Sequence[str], params: Mapping[str, str]) -> list[Record]:
        """Rows of ``kinds`` whose indexed parameters hold every (key, value) of ``params``."""

    def related(self, artefact_id: str, direction: Direction) -> list[Record]:
        """Rows linked to ``artefact_id`` through the lineage (one query, however deep)."""

    def add_rejects(self, rows: Sequence[tuple[str, str, str, str]]) -> None:
        """Store (artefact, source, reason, created_at) rows."""

    def rejects(self, artefact_id: str) -> list[dict[str, str]]:
        """An artefact's rejects as {source, reason, created_at}, in the order they were added."""

    def count(self, kind: str) -> int:
        """How many rows of ``kind`` the store holds."""

    def page(self, kind: str, offset: int, limit: int) -> list[Record]:
        """``limit`` rows of ``kind`` from ``offset``, newest first (latest insert first among equal times)."""

    def append_ledger(self, entry: dict[str, Any], created_at: str, artefact: Record | None) -> dict[str, Any]:
        """Append ``entry`` to the hash-chained, append-only ledger (see :func:`chain_hash`) and
        return the stored row; ``artefact`` (its params completed with ``ledger_seq`` and
        ``ledger_hash``) is inserted in the same transaction."""

    def ledger(self) -> list[dict[str, Any]]:
        """Every ledger row (seq, created_at, entry, prev_hash, hash), oldest first, as stored."""

    def integrity(self) -> list[str]:
        """What the database's own consistency check finds wrong ([] when it finds nothing)."""

    def orphans(self, delete: bool = False) -> dict[str, int]:
        """How many rows of each :data:`ORPHANS` table belong to no artefact; ``delete`` removes them (one transaction)."""

    def load(self, records: Sequence[Record], rejects: Sequence[tuple[str, str, str, str]],
             ledger: Sequence[Mapping[str, Any]]) -> None:
        """Add exported rows, their rejects and ledger rows as they were stored (ids, times and
        hashes kept), all or none: what ``assay catalog import`` does."""


class Catalog:
    """The catalog of a workspace, over any :class:`CatalogBackend`."""

    def __init__(self, backend: CatalogBackend) -> None:
        self.backend = backend
        #: how paths are kept: relative to the workspace root once a workspace opens the catalog (see
        #: :mod:`assay.core.workspace_paths`); as given (absolute) without one
        self.paths: WorkspacePaths | None = None

    def _stored(self, path: str | Path | None) -> str | None:
        if not path:
            return None
        return self.paths.store(path) if self.paths is not None else str(path)

    def _resolved(self, records: list[Record]) -> list[Record]:
        """``records`` with their paths resolved against the workspace root (in place)."""
        if self.paths is not None:
            for rec in records:
                rec.path = self.paths.resolve(rec.path) if rec.path else rec.path
        return records

    def __repr__(self) -> str:
        return f"Catalog({self.backend.location!r}{', read-only' if self.read_only else ''})"

    @property
    def read_only(self) -> bool:
        return self.backend.read_only

    @property
    def version(self) -> int:
        return self.backend.schema_version()

    # -- writes ------------------------------------------------------------------
    def new_id(self, kind: str) -> str:
        return f"{KINDS[check_kind(kind)]}-{secrets.token_hex(ID_BYTES)}"

    def add(
        self,
        kind: str,
        name: str | None,
        params: dict[str, Any] | None = None,
        parents: Sequence[str] = (),
        path: str | Path | None = None,
        status: str = "ready",
        artefact_id: str | None = None,
    ) -> Record:
        """Insert a row; ``parents`` are ids of the artefacts it was made from."""
        return self.add_many(kind, [{"name": name, "params": params, "parents": parents, "path": path,
                                     "status": status, "artefact_id": artefact_id}])[0]

    def add_many(self, kind: str, entries: Iterable[Mapping[str, Any]]) -> list[Record]:
        """Insert many rows of one kind in one transaction; each entry holds :meth:`add`'s keyword arguments."""
        check_kind(kind)
        stamp = now()
        records = []
        for entry in entries:
            artefact_id = entry.get("artefact_id") or self.new_id(kind)
            path = entry.get("path")
            records.append(Record(artefact_id, kind, entry.get("name") or artefact_id, stamp,
                                  dict(entry.get("params") or {}), list(dict.fromkeys(entry.get("parents") or ())),
                                  self._stored(path), entry.get("status") or "ready"))
        self.backend.insert(records)
        return self._resolved(records)

    def update(self, artefact_id: str, params: dict[str, Any] | None = None, status: str | None = None,
               path: str | Path | None = None) -> Record:
        """Merge ``params`` into a row and/or set its status and path."""
        kind_of(artefact_id)

        def change(rec: Record) -> None:
            rec.params.update(params or {})
            rec.status = status or rec.status
            rec.path = self._stored(path) or rec.path

        return self._resolved(self.backend.modify([artefact_id], change))[0]

    def set_status(self, artefact_ids: Sequence[str], status: str) -> list[Record]:
        """Set the status of every row of ``artefact_ids`` in one transaction (all or none)."""
        for artefact_id in artefact_ids:
            kind_of(artefact_id)
        if not artefact_ids:
            return []

        def change(rec: Record) -> None:
            rec.status = status

        return self._resolved(self.backend.modify(list(dict.fromkeys(artefact_ids)), change))

    def add_rejects(self, artefact_id: str, rejects: Iterable[tuple[str, str]]) -> None:
        """Record (source, one-line reason) pairs for inputs an artefact could not use."""
        stamp = now()
        self.backend.add_rejects([(artefact_id, str(s), str(r), stamp) for s, r in rejects])

    def append_ledger(self, entry: dict[str, Any], artefact: tuple[str, str, dict[str, Any]] | None = None
                      ) -> dict[str, Any]:
        """Append ``entry`` to the hash-chained ledger; returns the stored row (seq, created_at, entry, hashes).

        ``artefact`` = (kind, id, params) adds that catalog row in the same transaction, its
        params completed with the entry's ``ledger_seq`` and ``ledger_hash``.
        """
        stamp = now()
        rec = None
        if artefact is not None:
            kind, artefact_id, params = artefact
            rec = Record(artefact_id, check_kind(kind), artefact_id, stamp, dict(params))
        return self.backend.append_ledger(entry, stamp, rec)

    # -- reads -------------------------------------------------------------------
    def ledger(self) -> list[dict[str, Any]]:
        """Every ledger row, oldest first, as stored (verification recomputes the hashes)."""
        return self.backend.ledger()

    def get(self, ref: str, kind: str | None = None) -> Record:
        """Find an artefact by id or by name (optionally only of one kind)."""
        kinds = [check_kind(kind)] if kind else list(KINDS)
        if ref.split("-", 1)[0] in PREFIX_TO_KIND and kind_of(ref) in kinds:
            found = self.backend.select([kind_of(ref)], ids=[ref])
            if found:
                return self._resolved(found)[0]
        found = self._resolved(self.backend.select(kinds, name=ref))
        if not found:
            what = f"{kind} artefact" if kind else "artefact"
            raise CatalogError(f"no {what} with id or name {ref!r} (see `assay catalog list`)")
        if len(found) > 1:
            ids = ", ".join(f"{r.id} ({r.kind})" for r in found)
            raise CatalogError(f"name {ref!r} is ambiguous: {ids}; use an id")
        return found[0]

    def list(self, kind: str | None = None, status: str | None = None) -> list[Record]:
        """Rows of one kind (or all kinds), oldest first."""
        return self._resolved(self.backend.select([check_kind(kind)] if kind else list(KINDS), status=status))

    def latest(self, kind: str, status: str = "ready") -> Record | None:
        rows = self.list(kind, status=status)
        return rows[-1] if rows else None

    def find(self, kind: str | None = None, **params: Any) -> list[Record]:
        """Rows (of one kind, or all) whose parameters equal ``params``, oldest first.

        At least one key must be in :data:`INDEXED_PARAMS` (with a string value): the index
        picks the rows, and any other keys then filter them.
        """
        kinds = [check_kind(kind)] if kind else list(KINDS)
        indexed = {k: v for k, v in params.items() if k in INDEXED_PARAMS}
        if not indexed:
            raise CatalogError(f"find needs one of the indexed parameters {', '.join(INDEXED_PARAMS)}; "
                               f"got {', '.join(params) or 'none'}")
        wrong = sorted(k for k, v in indexed.items() if not isinstance(v, str))
        if wrong:
            raise CatalogError(f"indexed parameters are looked up by string value; {', '.join(wrong)} is not a string")
        rest = {k: v for k, v in params.items() if k not in indexed}
        return self._resolved([r for r in self.backend.find(kinds, indexed)
                               if all(r.params.get(k) == v for k, v in rest.items())])

    def children(self, artefact_id: str) -> list[Record]:
        """The artefacts made directly from ``artefact_id``, oldest first."""
        return self._resolved(self.backend.related(artefact_id, "children"))

    def descendants(self, artefact_id: str) -> list[Record]:
        """Every artefact made, directly or not, from ``artefact_id``, oldest first."""
        return self._resolved(self.backend.related(artefact_id, "descendants"))

    def ancestors(self, artefact_id: str) -> list[Record]:
        """Every artefact ``artefact_id`` was made from, directly or not, oldest first."""
        return self._resolved(self.backend.related(artefact_id, "ancestors"))

    def rejects(self, artefact_id: str) -> list[dict[str, str]]:
        return self.backend.rejects(artefact_id)

    def count(self, kind: str) -> int:
        """How many artefacts of one kind the catalog holds."""
        return self.backend.count(check_kind(kind))

    def page(self, kind: str, offset: int = 0, limit: int = 50) -> list[Record]:
        """One page of a kind's rows, newest first: what a paginated table reads."""
        return self._resolved(self.backend.page(check_kind(kind), max(0, offset), max(0, limit)))

    # -- moving between backends ---------------------------------------------------
    def export(self) -> Iterator[dict[str, Any]]:
        """A header line, every row with its rejects (oldest first; paths as stored, relative to the workspace
        root), then the ledger's rows as stored: what :meth:`import_rows` reads."""
        yield {"schema": EXPORT_SCHEMA, "version": self.version, "from": self.backend.location}
        for rec in self.backend.select(list(KINDS)):
            yield {"record": rec.to_dict(), "rejects": self.rejects(rec.id)}
        for row in self.ledger():
            yield {"ledger": row}

    def import_rows(self, rows: Iterable[Mapping[str, Any]]) -> int:
        """Add the rows of an :meth:`export` (ids, names, times, lineage and the ledger's hashes
        kept), all in one transaction; a name or id already here refuses them all. Returns the
        number of artefacts."""
        lines = iter(rows)
        header = next(lines, {})
        if header.get("schema") != EXPORT_SCHEMA:
            raise CatalogError(f"not an assay catalog export: expected a first line with schema {EXPORT_SCHEMA!r}")
        records, rejects, ledger = [], [], []
        for line in lines:
            if "ledger" in line:
                ledger.append(line["ledger"])
                continue
            rec = Record(**line["record"])
            check_kind(rec.kind)
            records.append(rec)
            rejects += [(rec.id, r["source"], r["reason"], r["created_at"]) for r in line.get("rejects", ())]
        self.backend.load(records, rejects, ledger)
        return len(records)


def open_catalog(url: str, read_only: bool = False) -> Catalog:
    """The catalog at ``url`` (``sqlite:///path`` or ``postgresql://...``), by its scheme in :data:`BACKENDS`."""
    return load_entry(BACKENDS, urlsplit(url).scheme, "catalog URL scheme")(url, read_only=read_only)
