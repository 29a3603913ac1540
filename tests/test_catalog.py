import hashlib
import json
import os
import shutil
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from assay.cli import app
from assay.core import catalog_sqlite
from assay.core.catalog import INDEXED_PARAMS, CatalogError, open_catalog
from assay.core.catalog_sqlite import SCHEMA_VERSION, open_sqlite
from assay.core.errors import UnknownNameError
from assay.core.workspace import CATALOG_FILE, Workspace
from assay.provenance.stamp.files import stamp_file
from assay.provenance.stamp.options import StampOptions
from assay.provenance.stamp.records import find_by_content_id

REPO = Path(__file__).resolve().parents[1]
BACKENDS = ["sqlite", "postgresql"]


# -- both backends: every behavioural test runs on SQLite and on PostgreSQL ----------
@pytest.fixture(params=BACKENDS)
def catalog_url(request, tmp_path) -> str:
    """A new, empty catalog's URL: a SQLite file, or a fresh database on the session's PostgreSQL server."""
    if request.param == "sqlite":
        return f"sqlite://{tmp_path / 'ws' / CATALOG_FILE}"
    return request.getfixturevalue("pg_server").create_database()


@pytest.fixture
def ws(tmp_path, catalog_url) -> Workspace:
    """A workspace whose catalog is on the backend under test."""
    return Workspace(tmp_path / "ws", catalog_url=None if catalog_url.startswith("sqlite") else catalog_url)


def raw_sql(url: str, sql: str, args: tuple = ()) -> list[tuple]:
    """Run one statement on the store behind ``url`` outside the catalog (``?`` placeholders), committed."""
    if url.startswith("sqlite"):
        con = sqlite3.connect(url.removeprefix("sqlite://"))
        try:
            rows = con.execute(sql, args).fetchall()
            con.commit()
            return rows
        finally:
            con.close()
    import psycopg

    with psycopg.connect(url, autocommit=True) as con:
        cur = con.execute(sql.replace("?", "%s"), args)
        return cur.fetchall() if cur.description else []


def set_version(url: str, version: int) -> None:
    if url.startswith("sqlite"):
        raw_sql(url, f"PRAGMA user_version = {version}")
    else:
        raw_sql(url, "UPDATE assay_schema SET version = ?", (version,))


@pytest.fixture
def statements(catalog_url, monkeypatch) -> list[str]:
    """The statements the catalog runs from now on (PostgreSQL: those run through a cursor)."""
    log: list[str] = []
    if catalog_url.startswith("sqlite"):
        connect = sqlite3.connect

        def traced(database, *args, **kwargs):
            conn = connect(database, *args, **kwargs)
            conn.set_trace_callback(log.append)
            return conn

        monkeypatch.setattr(catalog_sqlite.sqlite3, "connect", traced)
    else:
        import psycopg

        execute = psycopg.Cursor.execute
        monkeypatch.setattr(psycopg.Cursor, "execute", lambda cur, query, *a, **k: log.append(str(query))
                            or execute(cur, query, *a, **k))
    return log


def test_add_get_by_id_and_name_and_lineage(ws):
    cat = ws.catalog
    ds = cat.add("datasets", "faces", {"size": 64})
    run = cat.add("runs", "dcgan-1", {"model": "dcgan"}, parents=[ds.id])
    smp = cat.add("samples", "dcgan-1-samples", parents=[run.id, ds.id])
    assert ds.id.startswith("ds-") and run.id.startswith("run-") and len(ds.id) == len("ds-") + 12
    assert cat.get("faces").id == ds.id
    assert cat.get(run.id).params == {"model": "dcgan"}
    assert cat.get("dcgan-1", kind="runs").parents == [ds.id]
    assert {r.id for r in cat.descendants(ds.id)} == {run.id, smp.id}
    assert [r.id for r in cat.list("runs")] == [run.id]
    assert len(cat.list()) == 3


def test_errors_say_what_was_expected(ws):
    cat = ws.catalog
    cat.add("datasets", "faces")
    with pytest.raises(CatalogError, match="already exists"):
        cat.add("datasets", "faces")
    with pytest.raises(CatalogError, match="unknown kind"):
        cat.list("photos")
    with pytest.raises(CatalogError, match="no artefact with id or name 'nope'"):
        cat.get("nope")
    with pytest.raises(CatalogError, match="no runs artefact"):
        cat.add("samples", "s", parents=["run-00000000"])
    cat.add("runs", "faces")
    with pytest.raises(CatalogError, match="ambiguous"):
        cat.get("faces")


def test_update_merges_params_and_status(ws):
    rec = ws.catalog.add("runs", "r", {"a": 1}, status="running")
    ws.catalog.update(rec.id, {"b": 2}, status="ready")
    got = ws.catalog.get(rec.id)
    assert got.params == {"a": 1, "b": 2} and got.status == "ready"
    assert ws.catalog.latest("runs").id == rec.id


def test_set_status_changes_many_rows_in_one_transaction_all_or_none(ws):
    recs = [ws.catalog.add("provenance", None, {"content_id": f"{i:08x}"}, status="pending") for i in range(3)]
    run = ws.catalog.add("runs", "r", status="running")
    with pytest.raises(CatalogError, match="no provenance artefact"):
        ws.catalog.set_status([recs[0].id, "prov-0000000000000000", recs[1].id], "ready")
    assert [ws.catalog.get(r.id).status for r in recs] == ["pending"] * 3  # the missing id changed nothing
    done = ws.catalog.set_status([r.id for r in recs] + [run.id], "ready")
    assert [r.id for r in done] == [r.id for r in recs] + [run.id]
    assert {ws.catalog.get(r.id).status for r in recs + [run]} == {"ready"}
    assert [r.id for r in ws.catalog.find("provenance", content_id="00000001")] == [recs[1].id]  # index kept
    assert ws.catalog.set_status([], "ready") == []


def test_wal_mode(tmp_path):
    Workspace(tmp_path)
    con = sqlite3.connect(tmp_path / CATALOG_FILE)
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_rejects_keep_their_order(ws):
    rec = ws.catalog.add("datasets", "d")
    ws.catalog.add_rejects(rec.id, [("a.jpg", "empty file (0 bytes)"), ("0.jpg", "no face found")])
    ws.catalog.add_rejects(rec.id, [("b.jpg", "truncated")])
    assert [r["source"] for r in ws.catalog.rejects(rec.id)] == ["a.jpg", "0.jpg", "b.jpg"]
    assert ws.catalog.rejects(rec.id)[0]["reason"] == "empty file (0 bytes)"


def _open(url: str, **kwargs):
    """The catalog at ``url`` with :func:`open_sqlite` / ``open_postgres``'s keyword arguments."""
    if url.startswith("sqlite"):
        return open_sqlite(url.removeprefix("sqlite://"), **kwargs)
    from assay.core.catalog_postgres import open_postgres

    return open_postgres(url, **kwargs)


def test_old_workspace_is_migrated(catalog_url):
    old = _open(catalog_url, migrate_to=1)
    assert old.version == 1
    raw_sql(catalog_url, "INSERT INTO datasets (id, name, created_at) VALUES ('ds-0000abcd', 'old', '2025-01-01')")
    cat = open_catalog(catalog_url)
    assert cat.version == SCHEMA_VERSION == 5
    rec = cat.get("old")
    assert rec.status == "ready" and rec.params == {}
    cat.add_rejects(rec.id, [("x", "y")])
    assert cat.rejects(rec.id)[0]["source"] == "x"
    assert cat.append_ledger({"type": "note"})["seq"] == 1  # migration 4 (with its triggers) ran


@pytest.mark.parametrize("read_only", [False, True])
def test_newer_schema_is_refused(catalog_url, read_only):
    open_catalog(catalog_url)
    set_version(catalog_url, 99)
    with pytest.raises(CatalogError, match="has schema 99, newer than this assay"):
        open_catalog(catalog_url, read_only=read_only)


WRITER = """
import sys
from assay.core.catalog import open_catalog
cat = open_catalog(sys.argv[1])
for i in range(int(sys.argv[2])):
    rec = cat.add("runs", f"run{i}", {"step": i, "blob": "x" * 2000}, status="running")
    cat.update(rec.id, {"loss": i * 0.5}, status="ready")
print("writer done")
"""

READER = """
import sys
from assay.core.catalog import open_catalog
cat = open_catalog(sys.argv[1], read_only=True)
counts = []
while not counts or counts[-1] < int(sys.argv[2]):
    rows = cat.list("runs")
    assert all(r.params["blob"] == "x" * 2000 for r in rows)
    counts.append(len(rows))
    if len(counts) == 1:
        print("reading", flush=True)           # the writer starts now: every later read races it
print(*counts)
"""


def _python(*args: str, **kwargs) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(REPO)}, **kwargs)


def test_reader_does_not_fail_while_writer_commits(catalog_url):
    """A read-only reader keeps reading, never failing, while a writer commits: the reader reads
    before the writer starts and until it has seen every row (no deadline a busy machine could miss)."""
    db = catalog_url
    open_catalog(db)
    n = 150
    reader = _python(READER, db, str(n))
    assert reader.stdout.readline().strip() == "reading", reader.stderr.read()
    writer = _python(WRITER, db, str(n))
    w_out, _ = writer.communicate(timeout=600)                     # bounds against a hang, not a speed
    r_out, r_err = reader.communicate(timeout=600)
    assert writer.returncode == 0 and "writer done" in w_out
    assert reader.returncode == 0, r_err
    counts = [int(c) for c in r_out.split()]
    assert counts[0] == 0 and counts[-1] == n and counts == sorted(counts)   # whole commits, in order
    assert len(open_catalog(db).list("runs", status="ready")) == n


MIGRATOR = """
import sys
from assay.core.catalog import open_catalog
sys.stdin.readline()  # every process waits here until all have started
print(open_catalog(sys.argv[1]).version)
"""

NAMER = """
import sys
from assay.core.catalog import CatalogError, open_catalog
cat = open_catalog(sys.argv[1])
sys.stdin.readline()
won = []
for i in range(40):
    try:
        won.append(cat.add("runs", f"shared-{i}", {"by": sys.argv[2]}).id)
    except CatalogError as exc:
        assert "already exists" in str(exc), exc
    cat.add("runs", f"own-{sys.argv[2]}-{i}")
print(len(won))
"""


def _at_once(script: str, *args_per_process: tuple[str, ...]) -> list[str]:
    """Start one process per argument tuple, release them together, return their outputs."""
    procs = [_python(script, *args, stdin=subprocess.PIPE) for args in args_per_process]
    for proc in procs:
        proc.stdin.write("go\n")
        proc.stdin.flush()
    outs = [proc.communicate(timeout=180) for proc in procs]
    assert all(p.returncode == 0 for p in procs), [err[-2000:] for _, err in outs]
    return [out.strip() for out, _ in outs]


def test_migrations_are_safe_when_processes_start_at_once(catalog_url):
    assert _at_once(MIGRATOR, *[(catalog_url,)] * 4) == [str(SCHEMA_VERSION)] * 4
    assert open_catalog(catalog_url).list() == []


def test_many_writers_no_lost_rows_and_no_duplicate_names(catalog_url):
    open_catalog(catalog_url)
    wins = _at_once(NAMER, *[(catalog_url, str(w)) for w in range(3)])
    cat = open_catalog(catalog_url)
    rows = cat.list("runs")
    assert sum(map(int, wins)) == 40                              # each shared name won exactly once
    assert sorted(r.name for r in rows if r.name.startswith("shared-")) == sorted(f"shared-{i}" for i in range(40))
    assert len([r for r in rows if r.name.startswith("own-")]) == 3 * 40  # no row lost


# -- indexed lookups and lineage ---------------------------------------------------
@pytest.fixture
def sql_log(monkeypatch):
    """Every SQLite connection the catalog opens: its URI and the statements it ran."""
    log = {"uris": [], "statements": []}
    connect = sqlite3.connect

    def traced(database, *args, **kwargs):
        conn = connect(database, *args, **kwargs)
        log["uris"].append(str(database))
        conn.set_trace_callback(log["statements"].append)
        return conn

    monkeypatch.setattr(catalog_sqlite.sqlite3, "connect", traced)
    return log


def _old_catalog(url: str | Path) -> None:
    """A schema-2 catalog (before the parameter index) with rows written by that version."""
    url = url if isinstance(url, str) else f"sqlite://{url}"
    _open(url, migrate_to=2)
    rows = [("provenance", "prov-00000001", {"content_id": "c0ffee01", "pixel_sha256": "ab" * 32}),
            ("provenance", "prov-00000002", {"content_id": "c0ffee02", "file_sha256": 7}),
            ("samples", "smp-00000001", {"run_id": "run-00000009", "family": "dcgan"}),
            ("datasets", "ds-00000001", {"size": 64})]
    for kind, artefact_id, params in rows:
        raw_sql(url, f"INSERT INTO {kind} (id, name, created_at, params) VALUES (?, ?, '2025-01-01', ?)",
                (artefact_id, artefact_id, json.dumps(params)))


def test_migration_backfills_the_parameter_index(catalog_url):
    _old_catalog(catalog_url)
    cat = open_catalog(catalog_url)
    assert cat.version == SCHEMA_VERSION
    index = sorted(tuple(row) for row in raw_sql(catalog_url, "SELECT artefact, key, value FROM param_index"))
    assert index == [("prov-00000001", "content_id", "c0ffee01"), ("prov-00000001", "pixel_sha256", "ab" * 32),
                     ("prov-00000002", "content_id", "c0ffee02"), ("smp-00000001", "run_id", "run-00000009")]
    assert [r.id for r in cat.find(run_id="run-00000009")] == ["smp-00000001"]
    assert [r.id for r in cat.find("provenance", content_id="c0ffee02")] == ["prov-00000002"]


def test_content_id_lookup_reads_only_the_matching_rows(ws, statements, monkeypatch):
    cat = ws.catalog
    cat.add_many("provenance", [{"params": {"content_id": f"{i:08x}", "pixel_sha256": f"{i:064x}"}}
                                for i in range(2000)])
    first = cat.add("provenance", None, {"content_id": "deadbeef", "labels": ["xmp"]})
    second = cat.add("provenance", None, {"content_id": "deadbeef", "labels": ["c2pa"]})
    decoded = []
    module = sys.modules[type(cat.backend).__module__]
    record = module._record
    monkeypatch.setattr(module, "_record", lambda row: decoded.append(row["id"]) or record(row))
    statements.clear()
    hits = find_by_content_id(ws, "deadbeef")
    oldest_first = [r.id for r in sorted([first, second], key=lambda r: (r.created_at, r.id))]  # same ms: by id
    assert [h["id"] for h in hits] == oldest_first
    assert {h["id"]: h["params"]["labels"] for h in hits}[second.id] == ["c2pa"]
    assert decoded == oldest_first and len(statements) == 1
    assert find_by_content_id(ws, "00000000")[0]["params"]["pixel_sha256"] == f"{0:064x}"
    assert find_by_content_id(ws, "0badc0de") == [] and find_by_content_id(ws, 12) == []
    assert [r.id for r in cat.find(content_id="deadbeef", labels=["c2pa"])] == [second.id]
    cat.update(first.id, {"content_id": "feedface"})
    assert [r.id for r in cat.find("provenance", content_id="feedface")] == [first.id]
    assert [h["id"] for h in find_by_content_id(ws, "deadbeef")] == [second.id]
    assert cat.find("runs", content_id="deadbeef") == []
    with pytest.raises(CatalogError, match="needs one of the indexed parameters"):
        cat.find("provenance", labels=["xmp"])
    with pytest.raises(CatalogError, match="run_id is not a string"):
        cat.find(run_id=3)
    assert set(INDEXED_PARAMS) >= {"content_id", "pixel_sha256", "run_id"}


def test_bulk_add_is_all_or_nothing(ws):
    ds = ws.catalog.add("datasets", "faces")
    with pytest.raises(CatalogError, match="a run named 'twice' already exists"):
        ws.catalog.add_many("runs", [{"name": "once", "parents": [ds.id]}, {"name": "twice"}, {"name": "twice"}])
    with pytest.raises(CatalogError, match="no runs artefact with id 'run-00000000'"):
        ws.catalog.add_many("samples", [{"name": "s", "parents": ["run-00000000"]}])
    assert ws.catalog.list("runs") == [] and ws.catalog.children(ds.id) == []


def test_lineage_of_a_diamond_is_one_query_each_way(ws, statements):
    cat = ws.catalog
    ds = cat.add("datasets", "faces")
    other = cat.add("datasets", "unrelated")
    run_a = cat.add("runs", "a", parents=[ds.id])
    run_b = cat.add("runs", "b", parents=[ds.id, other.id])
    smp = cat.add("samples", "both", parents=[run_a.id, run_b.id])
    prov = cat.add("provenance", None, parents=[smp.id])
    checks = [
        (lambda: cat.descendants(ds.id), [run_a.id, run_b.id, smp.id, prov.id]),
        (lambda: cat.ancestors(prov.id), [ds.id, other.id, run_a.id, run_b.id, smp.id]),
        (lambda: cat.ancestors(smp.id), [ds.id, other.id, run_a.id, run_b.id]),
        (lambda: cat.descendants(other.id), [run_b.id, smp.id, prov.id]),
        (lambda: cat.children(ds.id), [run_a.id, run_b.id]),
        (lambda: cat.ancestors(ds.id), []),
        (lambda: cat.descendants(prov.id), []),
    ]
    for call, expected in checks:
        statements.clear()
        assert [r.id for r in call()] == expected
        assert len(statements) == 1


# -- read-only opening ---------------------------------------------------------------
def _fingerprint(root: Path) -> dict[str, tuple[int, str]]:
    """Each file under ``root`` with its mtime and content hash; the WAL's side files only when they hold data."""
    out = {}
    for path in sorted(root.rglob("*")):
        if path.is_file() and not (path.name.endswith("-shm") or (path.name.endswith("-wal") and not path.stat().st_size)):
            out[str(path.relative_to(root))] = (path.stat().st_mtime_ns, hashlib.sha256(path.read_bytes()).hexdigest())
    return out


def _chmod_tree(root: Path, read_only: bool) -> None:
    for path in [root, *root.rglob("*")]:
        mode = path.stat().st_mode
        path.chmod(mode & ~0o222 if read_only else mode | stat.S_IWUSR)


def _sample_workspace(root: Path) -> dict[str, str]:
    ws = Workspace(root)
    ds = ws.catalog.add("datasets", "faces", {"size": 64})
    run = ws.catalog.add("runs", "dcgan-1", parents=[ds.id])
    ws.catalog.add_rejects(ds.id, [("bad.jpg", "empty file (0 bytes)")])
    return {"ds": ds.id, "run": run.id}


def test_read_only_workspace_lists_and_shows_and_never_writes(tmp_path, sql_log):
    root = tmp_path / "ws"
    ids = _sample_workspace(root)
    assert not (root / (CATALOG_FILE + "-wal")).exists()  # the last writer checkpointed and removed it
    _chmod_tree(root, read_only=True)
    before = _fingerprint(root)
    sql_log["uris"].clear()
    try:
        env = {"ASSAY_WORKSPACE": str(root)}
        listed = CliRunner().invoke(app, ["catalog", "list", "--json"], env=env)
        shown = CliRunner().invoke(app, ["catalog", "show", "faces", "--json"], env=env)
        ro = Workspace(root, read_only=True)
        with pytest.raises(CatalogError, match="is open read-only"):
            ro.catalog.add("datasets", "more")
        with pytest.raises(CatalogError, match="is open read-only"):
            ro.staging_dir("datasets", "more")
    finally:
        _chmod_tree(root, read_only=False)
    assert listed.exit_code == 0, listed.output
    assert [r["id"] for r in json.loads(listed.stdout)] == [ids["ds"], ids["run"]]
    assert shown.exit_code == 0, shown.output
    row = json.loads(shown.stdout)
    assert row["children"] == [ids["run"]] and row["rejects"][0]["reason"] == "empty file (0 bytes)"
    assert sql_log["uris"] and all(u.endswith("?mode=ro") for u in sql_log["uris"])
    assert _fingerprint(root) == before
    with pytest.raises(CatalogError, match="no catalog at"):
        Workspace(tmp_path / "nowhere", read_only=True)
    assert not (tmp_path / "nowhere").exists()


def test_read_only_open_of_an_older_schema(tmp_path, monkeypatch):
    db = tmp_path / CATALOG_FILE
    _old_catalog(db)
    connect = sqlite3.connect
    # as if the file could not be written: every connection is opened read-only by SQLite
    monkeypatch.setattr(catalog_sqlite.sqlite3, "connect",
                        lambda database, *a, **k: connect(database.replace("mode=rwc", "mode=ro"), *a, **k))
    with pytest.raises(CatalogError, match="has schema 2, older than this assay .* cannot be upgraded here"):
        open_sqlite(db, read_only=True)
    monkeypatch.undo()
    assert sqlite3.connect(db).execute("PRAGMA user_version").fetchone()[0] == 2
    cat = open_sqlite(db, read_only=True)  # a writable file is upgraded first
    assert cat.version == SCHEMA_VERSION and cat.read_only
    assert [r.id for r in cat.find(content_id="c0ffee01")] == ["prov-00000001"]


RO_MOUNT_CHECK = """
import json, sys
from pathlib import Path
from typer.testing import CliRunner
from assay.cli import app
from assay.core.catalog import CatalogError
from assay.core.workspace import Workspace

root, old = sys.argv[1], sys.argv[2]
try:
    Path(root, "probe").touch()
    sys.exit("the mount is writable")
except OSError:
    pass
out = {"list": CliRunner().invoke(app, ["--workspace", root, "catalog", "list", "--json"]).stdout,
       "show": CliRunner().invoke(app, ["--workspace", root, "catalog", "show", "faces", "--json"]).stdout}
try:
    Workspace(old, read_only=True)
except CatalogError as exc:
    out["old"] = str(exc)
print(json.dumps(out))
"""


@pytest.mark.skipif(not shutil.which("unshare"), reason="needs unshare(1) for a private read-only mount")
def test_read_only_mount(tmp_path):
    """On a read-only file system (a bind mount in a private mount namespace): reads work, an old schema is refused."""
    root, old = tmp_path / "ws", tmp_path / "old"
    ids = _sample_workspace(root)
    old.mkdir()
    _old_catalog(old / CATALOG_FILE)
    mounts = " && ".join(f'mount --bind "{p}" "{p}" && mount -o remount,ro,bind "{p}" "{p}"' for p in (root, old))
    script = f'{mounts} || exit 77; exec "$0" -c "$1" "{root}" "{old}"'
    proc = subprocess.run(["unshare", "-m", "sh", "-c", script, sys.executable, RO_MOUNT_CHECK], capture_output=True,
                          text=True, env={**os.environ, "PYTHONPATH": str(REPO)}, timeout=600)
    if proc.returncode in (1, 77) and "mount" in proc.stderr + str(proc.returncode):
        pytest.skip(f"no private read-only mount here: {proc.stderr.strip()[:200]}")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert [r["id"] for r in json.loads(out["list"])] == [ids["ds"], ids["run"]]
    assert json.loads(out["show"])["children"] == [ids["run"]]
    assert "schema 2, older than this assay" in out["old"] and "read-only" in out["old"]
    assert sorted(p.name for p in root.iterdir()) == [CATALOG_FILE]


def test_scan_and_verify_read_the_catalog_of_a_read_only_workspace(tmp_path, sql_log):
    import numpy as np

    from assay.core.imageio import save
    from assay.detect.base import DETECTORS
    from assay.detect.scan import scan_paths

    rng = np.random.default_rng(0)
    images = [rng.integers(0, 255, (64, 64, 3), dtype=np.uint8) for _ in range(8)]
    detector = DETECTORS.create("spectral").fit(images, np.array([0, 1] * 4))
    root = tmp_path / "ws"
    src = tmp_path / "src.png"
    save(images[0], src)
    result, record_id = stamp_file(src, tmp_path / "stamped.png", None, StampOptions(labels=("xmp",)),
                                   ws=Workspace(root))
    _chmod_tree(root, read_only=True)
    before = _fingerprint(root)
    sql_log["uris"].clear()
    try:
        ro = Workspace(root, read_only=True)
        [scanned] = scan_paths(ro, [tmp_path / "stamped.png"], detector=detector, record=False)
        verified = CliRunner().invoke(app, ["--workspace", str(root), "provenance", "verify",
                                            str(tmp_path / "stamped.png"), "--format", "json"])
    finally:
        _chmod_tree(root, read_only=False)
    assert scanned["status"] == "ok"
    assert scanned["provenance"]["record_id"] == record_id and scanned["provenance"]["found_via"] == "xmp"
    [report] = json.loads(verified.stdout)
    assert report["record"]["id"] == record_id and report["content_id"] is None
    assert report["checks"]["soft_binding"]["status"] == "pass"
    assert sql_log["uris"] and all(u.endswith("?mode=ro") for u in sql_log["uris"])
    assert _fingerprint(root) == before


def test_the_ledger_is_append_only_on_every_backend(ws, catalog_url):
    first = ws.catalog.append_ledger({"type": "grant"})
    second = ws.catalog.append_ledger({"type": "revoke"}, ("consents", "cons-0000000a", {"subject": "s"}))
    assert [r["seq"] for r in ws.catalog.ledger()] == [1, 2] and second["prev_hash"] == first["hash"]
    assert ws.catalog.get("cons-0000000a").params["ledger_seq"] == 2
    for sql in ("UPDATE ledger SET entry = '{}'", "DELETE FROM ledger"):
        with pytest.raises(Exception, match="append-only"):
            raw_sql(catalog_url, sql)
    assert ws.catalog.ledger()[0] == first


def test_count_and_page_newest_first(ws):
    ids = [ws.catalog.add("provenance", f"p{i}").id for i in range(5)]
    assert ws.catalog.count("provenance") == 5
    assert ws.catalog.count("runs") == 0
    assert [r.id for r in ws.catalog.page("provenance", 0, 2)] == ids[::-1][:2]
    assert [r.id for r in ws.catalog.page("provenance", 4, 10)] == ids[:1]


# -- PostgreSQL specifics and moving between backends --------------------------------
def test_postgres_url_password_is_never_shown(pg_server, tmp_path, capsys):
    url = pg_server.create_database()
    password = url.split(":")[2].split("@")[0]
    ws = Workspace(tmp_path / "ws", catalog_url=url)
    rec = ws.catalog.add("datasets", "faces")
    shown = CliRunner().invoke(app, ["--workspace", str(ws.root), "--catalog-url", url, "catalog", "export",
                                     str(tmp_path / "cat.jsonl")])
    wrong = url.replace(password, "not-the-password")
    with pytest.raises(CatalogError, match="cannot open catalog") as refused:
        open_catalog(wrong)
    texts = [repr(ws.catalog), repr(ws.catalog.backend), ws.catalog.backend.location, shown.output,
             (tmp_path / "cat.jsonl").read_text(), str(refused.value)]
    assert shown.exit_code == 0 and rec.id in texts[4]
    assert all(password not in t and "not-the-password" not in t for t in texts)
    assert ":***@127.0.0.1" in ws.catalog.backend.location


def test_postgres_read_only_refuses_writes_in_the_database_too(pg_server, tmp_path):
    import psycopg

    url = pg_server.create_database()
    Workspace(tmp_path / "ws", catalog_url=url).catalog.add("datasets", "faces")
    ro = Workspace(tmp_path / "ws", read_only=True, catalog_url=url)
    assert [r.name for r in ro.catalog.list()] == ["faces"]
    with pytest.raises(CatalogError, match="is open read-only"):
        ro.catalog.add("datasets", "more")
    with pytest.raises(psycopg.errors.ReadOnlySqlTransaction), ro.catalog.backend._transaction() as cur:
        cur.execute("INSERT INTO lineage (child, parent) VALUES ('a', 'b')")
    _old_catalog(old := pg_server.create_database())
    with pytest.raises(CatalogError, match="has schema 2, older than this assay .* read-only"):
        open_catalog(old, read_only=True)


def test_postgres_without_psycopg_says_what_to_install(monkeypatch):
    from assay.core import catalog_postgres

    monkeypatch.setattr(catalog_postgres, "psycopg", None)
    with pytest.raises(CatalogError, match=r"install 'assay\[postgres\]'"):
        open_catalog("postgresql://nobody@127.0.0.1:1/none")
    with pytest.raises(UnknownNameError, match="unknown catalog URL scheme 'mysql'; known: sqlite, postgresql"):
        open_catalog("mysql://x/y")


def test_export_import_moves_a_catalog_between_backends(pg_server, tmp_path):
    root = tmp_path / "ws"
    ids = _sample_workspace(root)
    smp = Workspace(root).catalog.add("samples", "s", {"run_id": ids["run"]}, parents=[ids["run"], ids["ds"]])
    grant = Workspace(root).catalog.append_ledger({"type": "grant", "subject": "s1"}, ("consents", "cons-00000001", {}))
    url = pg_server.create_database()
    runner = CliRunner()

    def cli(*args: str, catalog: str | None = None):
        result = runner.invoke(app, ["--workspace", str(root), *(["--catalog-url", catalog] if catalog else []), *args])
        assert result.exit_code == 0, result.output
        return result

    cli("catalog", "export", str(tmp_path / "a.jsonl"))
    cli("catalog", "import", str(tmp_path / "a.jsonl"), catalog=url)
    cli("catalog", "export", str(tmp_path / "b.jsonl"), catalog=url)
    cli("catalog", "import", str(tmp_path / "b.jsonl"), catalog=f"sqlite://{tmp_path / 'back.sqlite'}")
    lines = [(tmp_path / "a.jsonl").read_text().splitlines(), (tmp_path / "b.jsonl").read_text().splitlines()]
    assert lines[0][1:] == lines[1][1:] and len(lines[0]) == 6           # same rows, times, rejects and ledger
    for cat in (open_catalog(url), open_sqlite(tmp_path / "back.sqlite")):
        assert cat.ledger() == [grant] and cat.get("cons-00000001").params["ledger_hash"] == grant["hash"]
        assert [r.id for r in cat.ancestors(smp.id)] == [ids["ds"], ids["run"]]
        assert [r.id for r in cat.find(run_id=ids["run"])] == [smp.id]
        assert cat.rejects(ids["ds"])[0]["reason"] == "empty file (0 bytes)"
    again = runner.invoke(app, ["--workspace", str(root), "--catalog-url", url, "catalog", "import",
                                str(tmp_path / "a.jsonl")])
    assert again.exit_code == 2 and "already exists" in again.output and len(open_catalog(url).list()) == 4
