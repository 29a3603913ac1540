"""The workspace catalog: every artefact's id, name, parameters and lineage.

All SQL lives in this module (SQLite in WAL mode, numbered migrations), so that another
database can be put behind the same methods later without touching the subsystems.
"""

from __future__ import annotations

import contextlib
import json
import secrets
import sqlite3
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable, Iterator, Sequence

from assay.core.errors import CatalogError

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


def _artefact_table(kind: str) -> str:
    return f"""
    CREATE TABLE {kind} (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        created_at TEXT NOT NULL,
        params TEXT NOT NULL DEFAULT '{{}}',
        parents TEXT NOT NULL DEFAULT '[]',
        path TEXT
    );"""


def _add_status(kind: str) -> str:
    return f"ALTER TABLE {kind} ADD COLUMN status TEXT NOT NULL DEFAULT 'ready';"


#: Numbered migrations; ``PRAGMA user_version`` records how many have run. Append only.
MIGRATIONS: list[str] = [
    # 1: one table per artefact kind, plus a lineage edge table for "what was made from X".
    "\n".join(_artefact_table(k) for k in KINDS)
    + """
    CREATE TABLE lineage (child TEXT NOT NULL, parent TEXT NOT NULL, PRIMARY KEY (child, parent));
    CREATE INDEX lineage_parent ON lineage(parent);""",
    # 2: artefact status (running / ready / failed) and per-input rejects with their reasons.
    "\n".join(_add_status(k) for k in KINDS)
    + """
    CREATE TABLE rejects (
        artefact TEXT NOT NULL,
        source TEXT NOT NULL,
        reason TEXT NOT NULL,
        created_at TEXT NOT NULL
    );
    CREATE INDEX rejects_artefact ON rejects(artefact);""",
]
SCHEMA_VERSION = len(MIGRATIONS)


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


class Catalog:
    """SQLite catalog of a workspace. Each call opens its own connection: safe across threads and processes."""

    def __init__(self, db_path: str | Path, migrate_to: int = SCHEMA_VERSION) -> None:
        self.db_path = Path(db_path)
        self.db_path.parent.mkdir(parents=True, exist_ok=True)
        self.migrate(migrate_to)

    # -- connection and schema -------------------------------------------------
    @contextlib.contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        conn = sqlite3.connect(self.db_path, timeout=60.0, isolation_level=None)
        conn.row_factory = sqlite3.Row
        try:
            conn.execute("PRAGMA busy_timeout = 60000")
            conn.execute("PRAGMA foreign_keys = ON")
            yield conn
        finally:
            conn.close()

    @contextlib.contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        with self._connect() as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    @property
    def version(self) -> int:
        with self._connect() as conn:
            return int(conn.execute("PRAGMA user_version").fetchone()[0])

    def migrate(self, to: int = SCHEMA_VERSION) -> int:
        """Bring the schema up to migration ``to``; returns the version reached."""
        with self._connect() as conn:
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("BEGIN IMMEDIATE")
            try:
                current = int(conn.execute("PRAGMA user_version").fetchone()[0])
                if current > SCHEMA_VERSION:
                    raise CatalogError(
                        f"catalog {self.db_path} has schema {current}, newer than this assay ({SCHEMA_VERSION}): upgrade assay"
                    )
                for number in range(current + 1, to + 1):
                    for statement in MIGRATIONS[number - 1].split(";"):
                        if statement.strip():
                            conn.execute(statement)
                    conn.execute(f"PRAGMA user_version = {number}")
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            return max(current, to)

    # -- writes ------------------------------------------------------------------
    def new_id(self, kind: str) -> str:
        return f"{KINDS[check_kind(kind)]}-{secrets.token_hex(4)}"

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
        check_kind(kind)
        artefact_id = artefact_id or self.new_id(kind)
        name = name or artefact_id
        rec = Record(artefact_id, kind, name, now(), dict(params or {}), list(dict.fromkeys(parents)),
                     str(path) if path else None, status)
        with self._write() as conn:
            for parent in rec.parents:
                self._require(conn, parent)
            try:
                conn.execute(
                    f"INSERT INTO {kind} (id, name, created_at, params, parents, path, status) VALUES (?,?,?,?,?,?,?)",
                    (rec.id, rec.name, rec.created_at, json.dumps(rec.params, default=str),
                     json.dumps(rec.parents), rec.path, rec.status),
                )
            except sqlite3.IntegrityError:
                raise CatalogError(f"a {kind[:-1] if kind.endswith('s') else kind} named {name!r} already exists") from None
            conn.executemany("INSERT OR IGNORE INTO lineage (child, parent) VALUES (?, ?)",
                             [(rec.id, p) for p in rec.parents])
        return rec

    def add_many(self, kind: str, rows: Sequence[tuple[str | None, dict[str, Any]]],
                 parents: Sequence[str] = ()) -> list[Record]:
        """Insert many (name, params) rows of one kind with the same parents in one transaction."""
        check_kind(kind)
        parents = list(dict.fromkeys(parents))
        recs = []
        for name, params in rows:
            artefact_id = self.new_id(kind)
            recs.append(Record(artefact_id, kind, name or artefact_id, now(), dict(params), parents))
        with self._write() as conn:
            for parent in parents:
                self._require(conn, parent)
            try:
                conn.executemany(
                    f"INSERT INTO {kind} (id, name, created_at, params, parents, path, status) VALUES (?,?,?,?,?,?,?)",
                    [(r.id, r.name, r.created_at, json.dumps(r.params, default=str), json.dumps(r.parents), None,
                      r.status) for r in recs])
            except sqlite3.IntegrityError as exc:
                raise CatalogError(f"cannot add {len(recs)} {kind} rows: {exc}") from None
            conn.executemany("INSERT OR IGNORE INTO lineage (child, parent) VALUES (?, ?)",
                             [(r.id, p) for r in recs for p in parents])
        return recs

    def update(self, artefact_id: str, params: dict[str, Any] | None = None, status: str | None = None,
               path: str | Path | None = None) -> Record:
        """Merge ``params`` into a row and/or set its status and path."""
        kind = kind_of(artefact_id)
        with self._write() as conn:
            rec = self._require(conn, artefact_id)
            if params:
                rec.params.update(params)
            rec.status = status or rec.status
            rec.path = str(path) if path else rec.path
            conn.execute(f"UPDATE {kind} SET params = ?, status = ?, path = ? WHERE id = ?",
                         (json.dumps(rec.params, default=str), rec.status, rec.path, artefact_id))
        return rec

    def add_rejects(self, artefact_id: str, rejects: Iterable[tuple[str, str]]) -> None:
        """Record (source, one-line reason) pairs for inputs an artefact could not use."""
        stamp = now()
        with self._write() as conn:
            conn.executemany("INSERT INTO rejects (artefact, source, reason, created_at) VALUES (?,?,?,?)",
                             [(artefact_id, str(s), str(r), stamp) for s, r in rejects])

    # -- reads -------------------------------------------------------------------
    @staticmethod
    def _row(kind: str, row: sqlite3.Row) -> Record:
        return Record(row["id"], kind, row["name"], row["created_at"], json.loads(row["params"]),
                      json.loads(row["parents"]), row["path"], row["status"])

    def _require(self, conn: sqlite3.Connection, artefact_id: str) -> Record:
        kind = kind_of(artefact_id)
        row = conn.execute(f"SELECT * FROM {kind} WHERE id = ?", (artefact_id,)).fetchone()
        if row is None:
            raise CatalogError(f"no {kind} artefact with id {artefact_id!r}")
        return self._row(kind, row)

    def get(self, ref: str, kind: str | None = None) -> Record:
        """Find an artefact by id or by name (optionally only of one kind)."""
        kinds = [check_kind(kind)] if kind else list(KINDS)
        with self._connect() as conn:
            if ref.split("-", 1)[0] in PREFIX_TO_KIND:
                ref_kind = kind_of(ref)
                if ref_kind in kinds:
                    row = conn.execute(f"SELECT * FROM {ref_kind} WHERE id = ?", (ref,)).fetchone()
                    if row is not None:
                        return self._row(ref_kind, row)
            found = []
            for k in kinds:
                row = conn.execute(f"SELECT * FROM {k} WHERE name = ?", (ref,)).fetchone()
                if row is not None:
                    found.append(self._row(k, row))
        if not found:
            what = f"{kind} artefact" if kind else "artefact"
            raise CatalogError(f"no {what} with id or name {ref!r} (see `assay catalog list`)")
        if len(found) > 1:
            ids = ", ".join(f"{r.id} ({r.kind})" for r in found)
            raise CatalogError(f"name {ref!r} is ambiguous: {ids}; use an id")
        return found[0]

    def list(self, kind: str | None = None, status: str | None = None) -> list[Record]:
        """Rows of one kind (or all kinds), oldest first."""
        kinds = [check_kind(kind)] if kind else list(KINDS)
        out: list[Record] = []
        with self._connect() as conn:
            for k in kinds:
                sql = f"SELECT * FROM {k}" + (" WHERE status = ?" if status else "")
                out += [self._row(k, r) for r in conn.execute(sql, (status,) if status else ())]
        return sorted(out, key=lambda r: (r.created_at, r.id))

    def latest(self, kind: str, status: str = "ready") -> Record | None:
        rows = self.list(kind, status=status)
        return rows[-1] if rows else None

    def children(self, artefact_id: str) -> list[Record]:
        with self._connect() as conn:
            ids = [r[0] for r in conn.execute("SELECT child FROM lineage WHERE parent = ?", (artefact_id,))]
        return [self.get(i) for i in ids]

    def descendants(self, artefact_id: str) -> list[Record]:
        """Every artefact made, directly or not, from ``artefact_id`` (breadth first)."""
        seen: dict[str, Record] = {}
        frontier = [artefact_id]
        while frontier:
            nxt = []
            for parent in frontier:
                for child in self.children(parent):
                    if child.id not in seen:
                        seen[child.id] = child
                        nxt.append(child.id)
            frontier = nxt
        return list(seen.values())

    def rejects(self, artefact_id: str) -> list[dict[str, str]]:
        with self._connect() as conn:
            rows = conn.execute("SELECT source, reason, created_at FROM rejects WHERE artefact = ? ORDER BY rowid",
                                (artefact_id,)).fetchall()
        return [dict(r) for r in rows]

    def count(self, kind: str) -> int:
        """How many artefacts of one kind the catalog holds."""
        with self._connect() as conn:
            return int(conn.execute(f"SELECT COUNT(*) FROM {check_kind(kind)}").fetchone()[0])

    def page(self, kind: str, offset: int = 0, limit: int = 50) -> list[Record]:
        """One page of a kind's rows, newest first: what a paginated table reads."""
        kind = check_kind(kind)
        with self._connect() as conn:
            rows = conn.execute(f"SELECT * FROM {kind} ORDER BY created_at DESC, rowid DESC LIMIT ? OFFSET ?",
                                (max(0, limit), max(0, offset))).fetchall()
        return [self._row(kind, r) for r in rows]
