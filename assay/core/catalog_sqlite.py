"""The SQLite catalog backend (the embedded default): all of the catalog's SQL.

WAL mode, so that readers never wait for a writer; one connection per call, so a backend
is safe across threads and processes. Schema changes are numbered :data:`MIGRATIONS`.
Opened read-only, a catalog is read through ``mode=ro`` connections and nothing is ever
written: no migration, no write transaction.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import time
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping, Sequence, TypeVar
from urllib.parse import unquote, urlsplit

from assay.core.catalog import (
    GENESIS,
    INDEXED_PARAMS,
    KINDS,
    ORPHANS,
    Catalog,
    Direction,
    Record,
    apply_change,
    chain_hash,
    duplicate,
    kind_of,
    missing,
)
from assay.core.errors import CatalogError


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


COLUMNS = "id, name, created_at, params, parents, path, status"

#: migration 3 without its backfill (standard SQL; the backfill's JSON functions are SQLite's)
PARAM_INDEX = (
    "CREATE VIEW artefacts AS "
    + " UNION ALL ".join(f"SELECT '{k}' AS kind, {COLUMNS} FROM {k}" for k in KINDS)
    + """;
    CREATE TABLE param_index (
        artefact TEXT NOT NULL,
        key TEXT NOT NULL,
        value TEXT NOT NULL,
        PRIMARY KEY (artefact, key)
    );
    CREATE INDEX param_index_key_value ON param_index(key, value);"""
)

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
    # 3: every kind in one view (cross-kind reads are one query), and an index of the
    # INDEXED_PARAMS, backfilled from the rows already there.
    PARAM_INDEX
    + "".join(f"""
    INSERT INTO param_index (artefact, key, value)
        SELECT id, '{key}', json_extract(params, '$.{key}') FROM artefacts
        WHERE json_type(params, '$.{key}') = 'text';""" for key in INDEXED_PARAMS),
    # 4: an append-only, hash-chained ledger (consent grants, revocations, takedowns); triggers refuse edits.
    """
    CREATE TABLE ledger (
        seq INTEGER PRIMARY KEY,
        created_at TEXT NOT NULL,
        entry TEXT NOT NULL,
        prev_hash TEXT NOT NULL,
        hash TEXT NOT NULL UNIQUE
    );
    CREATE TRIGGER ledger_no_update BEFORE UPDATE ON ledger BEGIN SELECT RAISE(ABORT, 'the ledger is append-only'); END;
    CREATE TRIGGER ledger_no_delete BEFORE DELETE ON ledger BEGIN SELECT RAISE(ABORT, 'the ledger is append-only'); END;""",
    # 5: newest-first pages of a kind (the dashboard's tables) read an index, not a sort of every row.
    "".join(f"CREATE INDEX {k}_created ON {k}(created_at);" for k in KINDS),
]
SCHEMA_VERSION = len(MIGRATIONS)

#: the ids each lineage direction reaches from ``?``: one query, however deep (UNION drops repeats)
_RELATED: dict[str, str] = {
    "children": "WITH linked(id) AS (SELECT child FROM lineage WHERE parent = ?)",
    "descendants": """WITH RECURSIVE linked(id) AS (
        SELECT child FROM lineage WHERE parent = ?
        UNION SELECT lineage.child FROM lineage JOIN linked ON lineage.parent = linked.id)""",
    "ancestors": """WITH RECURSIVE linked(id) AS (
        SELECT parent FROM lineage WHERE child = ?
        UNION SELECT lineage.parent FROM lineage JOIN linked ON lineage.child = linked.id)""",
}
_ORDER = " ORDER BY created_at, id"
#: ids per SELECT when many rows are read at once (SQLite bounds the variables of one statement)
_CHUNK = 500
#: SQLite's extended result codes (low byte) meaning "this file cannot be written or its WAL files made here"
_UNWRITABLE = (sqlite3.SQLITE_READONLY, sqlite3.SQLITE_CANTOPEN)
#: ... and, for a reader, where the WAL's side files cannot be made for want of space (a full disk)
_NO_SIDE_FILES = (*_UNWRITABLE, sqlite3.SQLITE_IOERR, sqlite3.SQLITE_FULL)


T = TypeVar("T")

#: the longest a process waits out others creating or upgrading the same catalog (a bound against a hang)
BUSY_WAIT_S = 120.0


def _while_busy(call: Callable[[], T]) -> T:
    """``call()``, tried again while another process holds a lock that SQLite's busy handler does not
    wait for (a new file switching to WAL, a migration under way), for at most :data:`BUSY_WAIT_S`."""
    delay, waited = 0.01, 0.0
    while True:
        try:
            return call()
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or waited >= BUSY_WAIT_S:
                raise
            time.sleep(delay)
            waited += delay
            delay = min(delay * 2, 1.0)


def _statements(script: str) -> Iterator[str]:
    """The statements of a migration script (a trigger body's ``;`` does not end its statement)."""
    buf = ""
    for piece in script.split(";"):
        buf += piece + ";"
        if sqlite3.complete_statement(buf):
            if buf.strip(" \n;"):
                yield buf
            buf = ""


def _marks(values: Sequence[object]) -> str:
    return ", ".join("?" * len(values))


def _record(row: sqlite3.Row) -> Record:
    return Record(row["id"], row["kind"], row["name"], row["created_at"], json.loads(row["params"]),
                  json.loads(row["parents"]), row["path"], row["status"])


@contextlib.contextmanager
def _transaction(conn: sqlite3.Connection) -> Iterator[None]:
    """A write transaction that takes the write lock at once; rolled back on any error."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def _reason(exc: sqlite3.Error) -> str:
    """A one-line reason for a database failure, with a hint for the common ones."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    hints = {"file is not a database": "not an assay catalog, or corrupt (restore it from a backup)",
             "database disk image is malformed": "corrupt (restore it from a backup)",
             "readonly database": "read-only (commands that write need write access)",
             "disk is full": "disk full (free space and run the command again)",
             "disk I/O error": "is the disk full or failing? (free space and run the command again)"}
    return next((f"{text}: {hint}" for key, hint in hints.items() if key in text), text)


def _unwritable(exc: sqlite3.Error, codes: tuple[int, ...] = _UNWRITABLE) -> bool:
    return (getattr(exc, "sqlite_errorcode", 0) & 0xFF) in codes


class SqliteBackend:
    """A catalog in one SQLite file.

    Writable, it is created when missing and migrated to ``migrate_to``. Read-only, it is
    opened with ``mode=ro``; where the WAL's side files cannot be made (a read-only file
    system or folder, a full disk, and no writer holding the catalog open), it is read as ``immutable``.
    An older schema is upgraded when the file can be written, and refused otherwise; a
    newer one is always refused.
    """

    def __init__(self, db_path: str | Path, read_only: bool = False, migrate_to: int = SCHEMA_VERSION) -> None:
        self.path = Path(db_path)
        self.location = str(self.path)
        self.read_only = read_only
        self._immutable = False
        if read_only and not self.path.is_file():
            raise CatalogError(f"no catalog at {self.path}: not an assay workspace (see --workspace, ASSAY_WORKSPACE)")
        if not read_only:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            try:
                current = _while_busy(self.schema_version)
            except sqlite3.OperationalError as exc:
                if not (read_only and _unwritable(exc, _NO_SIDE_FILES)):
                    raise
                self._immutable = True
                current = self.schema_version()
        except sqlite3.DatabaseError as exc:  # not a database, corrupt, cannot be opened
            raise CatalogError(f"cannot open catalog {self.path}: {_reason(exc)}") from None
        self._check_not_newer(current)
        target = SCHEMA_VERSION if read_only else migrate_to
        if current < target:
            self._migrate(current, target)

    def __repr__(self) -> str:
        return f"SqliteBackend({self.location!r}, read_only={self.read_only})"

    # -- connections and schema --------------------------------------------------
    def _uri(self, writable: bool) -> str:
        mode = "rwc" if writable else ("ro&immutable=1" if self._immutable else "ro")
        return f"{self.path.absolute().as_uri()}?mode={mode}"

    @contextlib.contextmanager
    def _open(self, writable: bool | None = None) -> Iterator[sqlite3.Connection]:
        """A raw connection, read-only when the backend is (``writable`` overrides that, for upgrading)."""
        conn = sqlite3.connect(self._uri(not self.read_only if writable is None else writable), uri=True,
                               timeout=60.0, isolation_level=None)
        conn.row_factory = sqlite3.Row
        try:
            yield conn
        finally:
            conn.close()

    @contextlib.contextmanager
    def _connect(self, writable: bool | None = None) -> Iterator[sqlite3.Connection]:
        """Like :meth:`_open`, with any database failure (disk full, corrupt file, read-only) as a :class:`CatalogError`."""
        try:
            with self._open(writable) as conn:
                yield conn
        except sqlite3.DatabaseError as exc:
            raise CatalogError(f"catalog {self.path}: {_reason(exc)}") from None

    @contextlib.contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        if self.read_only:
            raise CatalogError(f"catalog {self.path} is open read-only")
        with self._connect() as conn, _transaction(conn):
            yield conn

    def schema_version(self) -> int:
        with self._open() as conn:
            return int(conn.execute("PRAGMA user_version").fetchone()[0])

    def _check_not_newer(self, current: int) -> None:
        if current > SCHEMA_VERSION:
            raise CatalogError(
                f"catalog {self.path} has schema {current}, newer than this assay ({SCHEMA_VERSION}): upgrade assay")

    def _migrate(self, current: int, to: int) -> None:
        """Run migrations ``current + 1 .. to`` in one transaction (on a writable connection, even when read-only)."""
        def run() -> None:
            with self._open(writable=True) as conn:
                conn.execute("PRAGMA journal_mode = WAL")
                with _transaction(conn):
                    reached = int(conn.execute("PRAGMA user_version").fetchone()[0])  # another process may have run them
                    self._check_not_newer(reached)
                    for number in range(reached + 1, to + 1):
                        for statement in _statements(MIGRATIONS[number - 1]):
                            conn.execute(statement)
                        conn.execute(f"PRAGMA user_version = {number}")

        try:
            _while_busy(run)
        except sqlite3.OperationalError as exc:
            if not _unwritable(exc):
                raise CatalogError(f"cannot upgrade catalog {self.path}: {_reason(exc)}") from None
            raise CatalogError(f"catalog {self.path} has schema {current}, older than this assay ({to}), and cannot "
                               "be upgraded here (read-only): run assay once with write access to it") from None

    # -- writes ------------------------------------------------------------------
    @staticmethod
    def _index(conn: sqlite3.Connection, records: Sequence[Record]) -> None:
        conn.executemany("INSERT INTO param_index (artefact, key, value) VALUES (?, ?, ?)",
                         [(r.id, k, v) for r in records for k, v in r.indexed()])

    @staticmethod
    def _check_parents(conn: sqlite3.Connection, records: Sequence[Record]) -> None:
        batch = {r.id for r in records}
        for parent in dict.fromkeys(p for r in records for p in r.parents if p not in batch):
            if conn.execute(f"SELECT 1 FROM {kind_of(parent)} WHERE id = ?", (parent,)).fetchone() is None:
                raise missing(parent)

    def insert(self, records: Sequence[Record]) -> None:
        with self._write() as conn:
            self._check_parents(conn, records)
            self._insert(conn, records)

    def load(self, records: Sequence[Record], rejects: Sequence[tuple[str, str, str, str]],
             ledger: Sequence[Mapping[str, Any]]) -> None:
        with self._write() as conn:
            self._check_parents(conn, records)
            self._insert(conn, records)
            conn.executemany("INSERT INTO rejects (artefact, source, reason, created_at) VALUES (?, ?, ?, ?)", rejects)
            try:
                conn.executemany("INSERT INTO ledger (seq, created_at, entry, prev_hash, hash) VALUES (?, ?, ?, ?, ?)",
                                 [(r["seq"], r["created_at"], json.dumps(r["entry"], sort_keys=True, default=str),
                                   r["prev_hash"], r["hash"]) for r in ledger])
            except sqlite3.IntegrityError as exc:
                raise CatalogError(f"catalog {self.path} refused the ledger: {exc}") from None

    @classmethod
    def _insert(cls, conn: sqlite3.Connection, records: Sequence[Record]) -> None:
        for r in records:
            try:
                conn.execute(f"INSERT INTO {r.kind} ({COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)",
                             (r.id, r.name, r.created_at, json.dumps(r.params, default=str),
                              json.dumps(r.parents), r.path, r.status))
            except sqlite3.IntegrityError:
                raise duplicate(r.kind, r.name) from None
        conn.executemany("INSERT INTO lineage (child, parent) VALUES (?, ?)",
                         [(r.id, p) for r in records for p in r.parents])
        cls._index(conn, records)

    def append_ledger(self, entry: dict[str, Any], created_at: str, artefact: Record | None) -> dict[str, Any]:
        with self._write() as conn:
            last = conn.execute("SELECT seq, hash FROM ledger ORDER BY seq DESC LIMIT 1").fetchone()
            seq, prev = (last["seq"] + 1, last["hash"]) if last else (1, GENESIS)
            digest = chain_hash(prev, seq, created_at, entry)
            conn.execute("INSERT INTO ledger (seq, created_at, entry, prev_hash, hash) VALUES (?, ?, ?, ?, ?)",
                         (seq, created_at, json.dumps(entry, sort_keys=True, default=str), prev, digest))
            if artefact is not None:
                artefact.params.update(ledger_seq=seq, ledger_hash=digest)
                self._insert(conn, [artefact])
        return {"seq": seq, "created_at": created_at, "entry": entry, "prev_hash": prev, "hash": digest}

    def modify(self, artefact_ids: Sequence[str], change: Callable[[Record], None]) -> list[Record]:
        with self._write() as conn:
            kinds, found = list(dict.fromkeys(kind_of(a) for a in artefact_ids)), {}
            for start in range(0, len(artefact_ids), _CHUNK):  # within SQLite's bound on a statement's variables
                found.update((r.id, r) for r in self._select(conn, kinds, ids=artefact_ids[start:start + _CHUNK]))
            records = apply_change(found, artefact_ids, change)
            for rec in records:
                conn.execute(f"UPDATE {rec.kind} SET params = ?, status = ?, path = ? WHERE id = ?",
                             (json.dumps(rec.params, default=str), rec.status, rec.path, rec.id))
            conn.executemany("DELETE FROM param_index WHERE artefact = ?", [(r.id,) for r in records])
            self._index(conn, records)
        return records

    def integrity(self) -> list[str]:
        with self._connect() as conn:
            return [row[0] for row in conn.execute("PRAGMA integrity_check") if row[0] != "ok"]

    def orphans(self, delete: bool = False) -> dict[str, int]:
        with self._write() if delete else self._connect() as conn:
            found = {table: int(conn.execute(f"SELECT COUNT(*) {where}").fetchone()[0]) for table, where in ORPHANS.items()}
            if delete:
                for where in ORPHANS.values():
                    conn.execute(f"DELETE {where}")
        return found

    def add_rejects(self, rows: Sequence[tuple[str, str, str, str]]) -> None:
        with self._write() as conn:
            conn.executemany("INSERT INTO rejects (artefact, source, reason, created_at) VALUES (?, ?, ?, ?)", rows)

    # -- reads -------------------------------------------------------------------
    @staticmethod
    def _select(conn: sqlite3.Connection, kinds: Sequence[str], ids: Sequence[str] = (), name: str | None = None,
                status: str | None = None) -> list[Record]:
        where, args = [f"kind IN ({_marks(kinds)})"], list(kinds)
        for column, values in (("id", ids), ("name", [name] if name is not None else []),
                               ("status", [status] if status is not None else [])):
            if values:
                where.append(f"{column} IN ({_marks(values)})")
                args += values
        return [_record(r) for r in conn.execute(f"SELECT * FROM artefacts WHERE {' AND '.join(where)}{_ORDER}", args)]

    def select(self, kinds: Sequence[str], ids: Sequence[str] = (), name: str | None = None,
               status: str | None = None) -> list[Record]:
        with self._connect() as conn:
            return self._select(conn, kinds, ids, name, status)

    def find(self, kinds: Sequence[str], params: Mapping[str, str]) -> list[Record]:
        match = " OR ".join(["(key = ? AND value = ?)"] * len(params))
        sql = (f"SELECT * FROM artefacts WHERE kind IN ({_marks(kinds)}) AND id IN (SELECT artefact FROM param_index "
               f"WHERE {match} GROUP BY artefact HAVING COUNT(*) = ?){_ORDER}")
        args = [*kinds, *(x for kv in params.items() for x in kv), len(params)]
        with self._connect() as conn:
            return [_record(r) for r in conn.execute(sql, args)]

    def related(self, artefact_id: str, direction: Direction) -> list[Record]:
        sql = f"{_RELATED[direction]} SELECT * FROM artefacts WHERE id IN (SELECT id FROM linked){_ORDER}"
        with self._connect() as conn:
            return [_record(r) for r in conn.execute(sql, (artefact_id,))]

    def count(self, kind: str) -> int:
        with self._connect() as conn:
            return int(conn.execute(f"SELECT COUNT(*) FROM {kind}").fetchone()[0])

    def page(self, kind: str, offset: int, limit: int) -> list[Record]:
        sql = (f"SELECT '{kind}' AS kind, {COLUMNS} FROM {kind} ORDER BY created_at DESC, rowid DESC "
               "LIMIT ? OFFSET ?")
        with self._connect() as conn:
            return [_record(r) for r in conn.execute(sql, (limit, offset))]

    def ledger(self) -> list[dict[str, Any]]:
        with self._connect() as conn:
            rows = conn.execute("SELECT seq, created_at, entry, prev_hash, hash FROM ledger ORDER BY seq").fetchall()
        return [{**dict(r), "entry": json.loads(r["entry"])} for r in rows]

    def rejects(self, artefact_id: str) -> list[dict[str, str]]:
        with self._connect() as conn:
            rows = conn.execute("SELECT source, reason, created_at FROM rejects WHERE artefact = ? ORDER BY rowid",
                                (artefact_id,)).fetchall()
        return [dict(r) for r in rows]


def open_sqlite(db_path: str | Path, read_only: bool = False, migrate_to: int = SCHEMA_VERSION) -> Catalog:
    """The catalog in the SQLite file ``db_path`` (see :class:`SqliteBackend`)."""
    return Catalog(SqliteBackend(db_path, read_only, migrate_to))


def open_url(url: str, read_only: bool = False) -> Catalog:
    """The catalog at ``sqlite:///absolute/path`` (or ``sqlite:relative/path``)."""
    return open_sqlite(unquote(urlsplit(url).path), read_only)
