"""The PostgreSQL catalog backend (for teams): the same tables and rules as SQLite, on a server.

``postgresql://user@host:port/dbname`` (any libpq URL; a password is better kept in
``PGPASSWORD`` or ``~/.pgpass`` than in the URL, and is never shown). The schema is
:data:`assay.core.catalog_sqlite.MIGRATIONS`, where a migration's SQLite text is not
portable replaced by its form in :data:`_OWN`, so a later portable migration is appended
once for both backends. Migrations run in one transaction under an advisory lock, so
processes that start at once wait for one another. Names are unique through the tables'
constraints, so writers on many machines never make a duplicate; an update locks its row.
One connection per backend and process (re-made in a forked child), used under a lock.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
from typing import Any, Callable, Iterator, Mapping, Sequence
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

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
from assay.core.catalog_sqlite import COLUMNS, PARAM_INDEX
from assay.core.catalog_sqlite import MIGRATIONS as SQLITE_MIGRATIONS
from assay.core.errors import CatalogError

try:
    import psycopg
    from psycopg.rows import dict_row
except ImportError:  # pragma: no cover - exercised where the extra is absent
    psycopg = None  # type: ignore[assignment]

#: PostgreSQL's text of the migrations whose SQLite text is not portable
_OWN: dict[int, str] = {
    # rejects come back in the order they were added: SQLite's rowid, here a sequence
    2: SQLITE_MIGRATIONS[1] + "\nALTER TABLE rejects ADD COLUMN seq BIGSERIAL;",
    # the backfill with PostgreSQL's JSON operators
    3: PARAM_INDEX + "".join(f"""
    INSERT INTO param_index (artefact, key, value)
        SELECT id, '{key}', params::jsonb ->> '{key}' FROM artefacts
        WHERE jsonb_typeof(params::jsonb -> '{key}') = 'string';""" for key in INDEXED_PARAMS),
    # the ledger's append-only triggers in PL/pgSQL (TRUNCATE refused too)
    4: SQLITE_MIGRATIONS[3].split("CREATE TRIGGER", 1)[0] + """
    CREATE FUNCTION ledger_append_only() RETURNS trigger LANGUAGE plpgsql AS
        $$ BEGIN RAISE EXCEPTION 'the ledger is append-only'; END $$;
    CREATE TRIGGER ledger_no_change BEFORE UPDATE OR DELETE ON ledger
        FOR EACH ROW EXECUTE FUNCTION ledger_append_only();
    CREATE TRIGGER ledger_no_truncate BEFORE TRUNCATE ON ledger
        FOR EACH STATEMENT EXECUTE FUNCTION ledger_append_only();""",
    # newest-first pages: SQLite breaks ties of created_at by rowid, here by an insertion sequence
    5: "".join(f"""
    ALTER TABLE {k} ADD COLUMN seq BIGSERIAL;
    CREATE INDEX {k}_created ON {k}(created_at COLLATE "C", seq);""" for k in KINDS),
}
MIGRATIONS: list[str] = [_OWN.get(n, sql) for n, sql in enumerate(SQLITE_MIGRATIONS, start=1)]
SCHEMA_VERSION = len(MIGRATIONS)
#: the advisory lock migrations run under (any constant; the same for every assay)
_MIGRATION_LOCK = 0x61737361_79636174
_VERSION_TABLE = "CREATE TABLE IF NOT EXISTS assay_schema (version INTEGER NOT NULL)"

_RELATED: dict[str, str] = {
    "children": "WITH linked(id) AS (SELECT child FROM lineage WHERE parent = %s)",
    "descendants": """WITH RECURSIVE linked(id) AS (
        SELECT child FROM lineage WHERE parent = %s
        UNION SELECT lineage.child FROM lineage JOIN linked ON lineage.parent = linked.id)""",
    "ancestors": """WITH RECURSIVE linked(id) AS (
        SELECT parent FROM lineage WHERE child = %s
        UNION SELECT lineage.parent FROM lineage JOIN linked ON lineage.child = linked.id)""",
}
#: byte order, as SQLite sorts, whatever the database's collation
_ORDER = ' ORDER BY created_at COLLATE "C", id COLLATE "C"'
#: connections left by a parent process: kept, never closed here (closing would end the parent's session)
_INHERITED: list[Any] = []


def redact(url: str) -> str:
    """``url`` without its password (in the user part or the query)."""
    parts = urlsplit(url)
    netloc = parts.netloc
    if parts.password is not None:
        netloc = netloc.replace(f":{parts.password}@", ":***@", 1)
    query = urlencode([(k, "***" if k == "password" else v) for k, v in parse_qsl(parts.query)])
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def _record(row: Mapping[str, Any]) -> Record:
    return Record(row["id"], row["kind"], row["name"], row["created_at"], json.loads(row["params"]),
                  json.loads(row["parents"]), row["path"], row["status"])


class PostgresBackend:
    """A catalog in a PostgreSQL database, created (migrated) on first use when writable.

    Read-only, its connection refuses writes (``default_transaction_read_only``), and a
    database at an older schema is refused rather than upgraded; a newer one is always refused.
    """

    def __init__(self, url: str, read_only: bool = False, migrate_to: int = SCHEMA_VERSION) -> None:
        if psycopg is None:
            raise CatalogError("a postgresql:// catalog needs psycopg: install 'assay[postgres]'")
        self.url = url
        self.location = redact(url)
        self.read_only = read_only
        self._lock = threading.RLock()
        self._conn: Any = None
        self._pid = 0
        current = self.schema_version()
        self._check_not_newer(current)
        if read_only and current < SCHEMA_VERSION:
            raise CatalogError(f"catalog {self.location} has schema {current}, older than this assay "
                               f"({SCHEMA_VERSION}), and is open read-only: run assay once with write access to it")
        if not read_only and current < migrate_to:
            self._migrate(migrate_to)

    def __repr__(self) -> str:
        return f"PostgresBackend({self.location!r}, read_only={self.read_only})"

    def __getstate__(self) -> dict[str, Any]:
        """Pickled without its connection or lock (a worker process makes its own)."""
        return {k: v for k, v in self.__dict__.items() if k not in ("_conn", "_lock")} | {"_conn": None, "_pid": 0}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state, _lock=threading.RLock())

    # -- connections and schema --------------------------------------------------
    def _connection(self) -> Any:
        if self._conn is not None and self._pid == os.getpid() and not self._conn.closed:
            return self._conn
        if self._conn is not None and self._pid != os.getpid():
            _INHERITED.append(self._conn)
        options = "-c default_transaction_read_only=on" if self.read_only else ""
        try:
            self._conn = psycopg.connect(self.url, autocommit=True, row_factory=dict_row, options=options,
                                         connect_timeout=30)
        except psycopg.Error as exc:
            raise CatalogError(f"cannot open catalog {self.location}: {_first_line(exc)}") from None
        self._pid = os.getpid()
        return self._conn

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[Any]:
        """A cursor inside one transaction, committed at the end, rolled back on any error."""
        with self._lock:
            conn = self._connection()
            try:
                with conn.transaction(), conn.cursor() as cur:
                    yield cur
            except psycopg.OperationalError as exc:
                if conn.closed or conn.broken:
                    self._conn = None
                raise CatalogError(f"catalog {self.location}: {_first_line(exc)}") from None

    @contextlib.contextmanager
    def _write(self) -> Iterator[Any]:
        if self.read_only:
            raise CatalogError(f"catalog {self.location} is open read-only")
        with self._transaction() as cur:
            yield cur

    @staticmethod
    def _version(cur: Any) -> int:
        # a scan of pg_tables sees what other sessions committed (the relation cache may not, under a lock)
        cur.execute("SELECT EXISTS (SELECT 1 FROM pg_tables WHERE schemaname = current_schema() "
                    "AND tablename = 'assay_schema') AS present")
        if not cur.fetchone()["present"]:
            return 0
        row = cur.execute("SELECT version FROM assay_schema").fetchone()
        return int(row["version"]) if row else 0

    def schema_version(self) -> int:
        with self._transaction() as cur:
            return self._version(cur)

    def _check_not_newer(self, current: int) -> None:
        if current > SCHEMA_VERSION:
            raise CatalogError(
                f"catalog {self.location} has schema {current}, newer than this assay ({SCHEMA_VERSION}): upgrade assay")

    def _migrate(self, to: int) -> None:
        """Run the missing migrations up to ``to`` in one transaction, under the migrations' advisory lock."""
        with self._write() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
            current = self._version(cur)  # another process may have run them while this one waited
            self._check_not_newer(current)
            cur.execute(_VERSION_TABLE)
            if not cur.execute("SELECT 1 FROM assay_schema").fetchone():
                cur.execute("INSERT INTO assay_schema (version) VALUES (0)")
            for number in range(current + 1, to + 1):
                cur.execute(MIGRATIONS[number - 1])
                cur.execute("UPDATE assay_schema SET version = %s", (number,))

    # -- writes ------------------------------------------------------------------
    @staticmethod
    def _index(cur: Any, records: Sequence[Record]) -> None:
        with cur.copy("COPY param_index (artefact, key, value) FROM STDIN") as copy:
            for r in records:
                for key, value in r.indexed():
                    copy.write_row((r.id, key, value))

    @classmethod
    def _insert(cls, cur: Any, records: Sequence[Record]) -> None:
        """Rows, lineage and index by COPY; parents must exist (earlier in ``records`` or stored)."""
        batch = {r.id for r in records}
        parents = list(dict.fromkeys(p for r in records for p in r.parents if p not in batch))
        if parents:
            found = {row["id"] for row in cur.execute("SELECT id FROM artefacts WHERE id = ANY(%s)", (parents,))}
            for parent in parents:
                if parent not in found:
                    raise missing(parent)
        for kind in dict.fromkeys(r.kind for r in records):
            with cur.copy(f"COPY {kind} ({COLUMNS}) FROM STDIN") as copy:
                for r in records:
                    if r.kind == kind:
                        copy.write_row((r.id, r.name, r.created_at, json.dumps(r.params, default=str),
                                        json.dumps(r.parents), r.path, r.status))
        with cur.copy("COPY lineage (child, parent) FROM STDIN") as copy:
            for r in records:
                for p in r.parents:
                    copy.write_row((r.id, p))
        cls._index(cur, records)

    @contextlib.contextmanager
    def _adding(self, records: Sequence[Record]) -> Iterator[Any]:
        """A write transaction adding ``records``; a name the unique constraints refuse is the usual error."""
        try:
            with self._write() as cur:
                yield cur
        except psycopg.errors.UniqueViolation as exc:
            raise self._duplicate(records, exc) from None

    def insert(self, records: Sequence[Record]) -> None:
        with self._adding(records) as cur:
            self._insert(cur, records)

    def load(self, records: Sequence[Record], rejects: Sequence[tuple[str, str, str, str]],
             ledger: Sequence[Mapping[str, Any]]) -> None:
        with self._adding(records) as cur:
            self._insert(cur, records)
            with cur.copy("COPY rejects (artefact, source, reason, created_at) FROM STDIN") as copy:
                for row in rejects:
                    copy.write_row(row)
            with cur.copy("COPY ledger (seq, created_at, entry, prev_hash, hash) FROM STDIN") as copy:
                for row in ledger:
                    copy.write_row((row["seq"], row["created_at"], json.dumps(row["entry"], sort_keys=True, default=str),
                                    row["prev_hash"], row["hash"]))

    def append_ledger(self, entry: dict[str, Any], created_at: str, artefact: Record | None) -> dict[str, Any]:
        records = [artefact] if artefact is not None else []
        with self._adding(records) as cur:
            cur.execute("LOCK TABLE ledger IN SHARE ROW EXCLUSIVE MODE")  # one appender at a time; readers go on
            last = cur.execute("SELECT seq, hash FROM ledger ORDER BY seq DESC LIMIT 1").fetchone()
            seq, prev = (last["seq"] + 1, last["hash"]) if last else (1, GENESIS)
            digest = chain_hash(prev, seq, created_at, entry)
            cur.execute("INSERT INTO ledger (seq, created_at, entry, prev_hash, hash) VALUES (%s, %s, %s, %s, %s)",
                        (seq, created_at, json.dumps(entry, sort_keys=True, default=str), prev, digest))
            if artefact is not None:
                artefact.params.update(ledger_seq=seq, ledger_hash=digest)
                self._insert(cur, records)
        return {"seq": seq, "created_at": created_at, "entry": entry, "prev_hash": prev, "hash": digest}

    def _duplicate(self, records: Sequence[Record], exc: Exception) -> CatalogError:
        """The error for a batch the unique constraints refused: the first name already taken."""
        seen: set[tuple[str, str]] = set()
        with self._transaction() as cur:
            for r in records:
                if (r.kind, r.name) in seen or cur.execute(f"SELECT 1 FROM {r.kind} WHERE name = %s",
                                                           (r.name,)).fetchone():
                    return duplicate(r.kind, r.name)
                seen.add((r.kind, r.name))
        return CatalogError(f"catalog {self.location} refused the rows: {_first_line(exc)}")

    def modify(self, artefact_ids: Sequence[str], change: Callable[[Record], None]) -> list[Record]:
        with self._write() as cur:
            found = {}
            for kind in dict.fromkeys(kind_of(a) for a in artefact_ids):
                ids = [a for a in artefact_ids if kind_of(a) == kind]
                rows = cur.execute(f"SELECT '{kind}' AS kind, {COLUMNS} FROM {kind} WHERE id = ANY(%s) ORDER BY id "
                                   "FOR UPDATE", (ids,)).fetchall()
                found.update((r.id, r) for r in map(_record, rows))
            records = apply_change(found, artefact_ids, change)
            for kind in dict.fromkeys(r.kind for r in records):
                cur.executemany(f"UPDATE {kind} SET params = %s, status = %s, path = %s WHERE id = %s",
                                [(json.dumps(r.params, default=str), r.status, r.path, r.id) for r in records
                                 if r.kind == kind])
            cur.execute("DELETE FROM param_index WHERE artefact = ANY(%s)", ([r.id for r in records],))
            self._index(cur, records)
        return records

    def add_rejects(self, rows: Sequence[tuple[str, str, str, str]]) -> None:
        with self._write() as cur, cur.copy("COPY rejects (artefact, source, reason, created_at) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)

    def integrity(self) -> list[str]:
        return []  # the server keeps its own consistency (there is no PRAGMA integrity_check to ask)

    def orphans(self, delete: bool = False) -> dict[str, int]:
        with self._write() if delete else self._transaction() as cur:
            found = {table: int(cur.execute(f"SELECT COUNT(*) AS n {where}").fetchone()["n"])
                     for table, where in ORPHANS.items()}
            if delete:
                for where in ORPHANS.values():
                    cur.execute(f"DELETE {where}")
        return found

    # -- reads -------------------------------------------------------------------
    def select(self, kinds: Sequence[str], ids: Sequence[str] = (), name: str | None = None,
               status: str | None = None) -> list[Record]:
        where, args = ["kind = ANY(%s)"], [list(kinds)]
        for column, value in (("id", list(ids) or None), ("name", name), ("status", status)):
            if value is not None:
                where.append(f"{column} = ANY(%s)" if isinstance(value, list) else f"{column} = %s")
                args.append(value)
        with self._transaction() as cur:
            return [_record(r) for r in cur.execute(f"SELECT * FROM artefacts WHERE {' AND '.join(where)}{_ORDER}", args)]

    def find(self, kinds: Sequence[str], params: Mapping[str, str]) -> list[Record]:
        match = " OR ".join(["(key = %s AND value = %s)"] * len(params))
        sql = (f"SELECT * FROM artefacts WHERE kind = ANY(%s) AND id IN (SELECT artefact FROM param_index "
               f"WHERE {match} GROUP BY artefact HAVING COUNT(*) = %s){_ORDER}")
        args = [list(kinds), *(x for kv in params.items() for x in kv), len(params)]
        with self._transaction() as cur:
            return [_record(r) for r in cur.execute(sql, args)]

    def related(self, artefact_id: str, direction: Direction) -> list[Record]:
        sql = f"{_RELATED[direction]} SELECT * FROM artefacts WHERE id IN (SELECT id FROM linked){_ORDER}"
        with self._transaction() as cur:
            return [_record(r) for r in cur.execute(sql, (artefact_id,))]

    def count(self, kind: str) -> int:
        with self._transaction() as cur:
            return int(cur.execute(f"SELECT COUNT(*) AS n FROM {kind}").fetchone()["n"])

    def page(self, kind: str, offset: int, limit: int) -> list[Record]:
        sql = (f"SELECT '{kind}' AS kind, {COLUMNS} FROM {kind} ORDER BY created_at COLLATE \"C\" DESC, seq DESC "
               "LIMIT %s OFFSET %s")
        with self._transaction() as cur:
            return [_record(r) for r in cur.execute(sql, (limit, offset))]

    def ledger(self) -> list[dict[str, Any]]:
        with self._transaction() as cur:
            rows = cur.execute("SELECT seq, created_at, entry, prev_hash, hash FROM ledger ORDER BY seq").fetchall()
        return [{**r, "entry": json.loads(r["entry"])} for r in rows]

    def rejects(self, artefact_id: str) -> list[dict[str, str]]:
        with self._transaction() as cur:
            return list(cur.execute("SELECT source, reason, created_at FROM rejects WHERE artefact = %s ORDER BY seq",
                                    (artefact_id,)))


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def open_postgres(url: str, read_only: bool = False, migrate_to: int = SCHEMA_VERSION) -> Catalog:
    """The catalog in the PostgreSQL database at ``url`` (see :class:`PostgresBackend`)."""
    return Catalog(PostgresBackend(url, read_only, migrate_to))
