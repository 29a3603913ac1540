import sqlite3
import subprocess
import sys

import pytest

from assay.core.catalog import SCHEMA_VERSION, Catalog, CatalogError
from assay.core.workspace import Workspace


def test_add_get_by_id_and_name_and_lineage(ws):
    cat = ws.catalog
    ds = cat.add("datasets", "faces", {"size": 64})
    run = cat.add("runs", "dcgan-1", {"model": "dcgan"}, parents=[ds.id])
    smp = cat.add("samples", "dcgan-1-samples", parents=[run.id, ds.id])
    assert ds.id.startswith("ds-") and run.id.startswith("run-")
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


def test_wal_mode_and_rejects(ws):
    con = sqlite3.connect(ws.catalog.db_path)
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    rec = ws.catalog.add("datasets", "d")
    ws.catalog.add_rejects(rec.id, [("a.jpg", "empty file (0 bytes)")])
    assert ws.catalog.rejects(rec.id)[0]["reason"] == "empty file (0 bytes)"


def test_old_workspace_is_migrated(tmp_path):
    old = Catalog(tmp_path / "catalog.sqlite", migrate_to=1)
    assert old.version == 1
    con = sqlite3.connect(tmp_path / "catalog.sqlite")
    con.execute("INSERT INTO datasets (id, name, created_at) VALUES ('ds-0000abcd', 'old', '2025-01-01')")
    con.commit()
    con.close()
    ws = Workspace(tmp_path)
    assert ws.catalog.version == SCHEMA_VERSION == 2
    rec = ws.catalog.get("old")
    assert rec.status == "ready" and rec.params == {}
    ws.catalog.add_rejects(rec.id, [("x", "y")])


def test_newer_schema_is_refused(tmp_path):
    Catalog(tmp_path / "c.sqlite")
    con = sqlite3.connect(tmp_path / "c.sqlite")
    con.execute("PRAGMA user_version = 99")
    con.commit()
    con.close()
    with pytest.raises(CatalogError, match="newer than this assay"):
        Catalog(tmp_path / "c.sqlite")


WRITER = """
import sys, time
from assay.core.catalog import Catalog
cat = Catalog(sys.argv[1])
for i in range(int(sys.argv[2])):
    rec = cat.add("runs", f"run{i}", {"step": i, "blob": "x" * 2000}, status="running")
    cat.update(rec.id, {"loss": i * 0.5}, status="ready")
print("writer done")
"""

READER = """
import sys, time
from assay.core.catalog import Catalog
cat = Catalog(sys.argv[1])
reads, seen = 0, 0
deadline = time.time() + 60
while time.time() < deadline:
    rows = cat.list("runs")
    assert all(r.params["blob"] == "x" * 2000 for r in rows)
    seen = max(seen, len(rows))
    reads += 1
    if seen >= int(sys.argv[2]):
        break
print(reads, seen)
"""


def test_reader_does_not_fail_while_writer_commits(tmp_path):
    db = tmp_path / "catalog.sqlite"
    Catalog(db)
    n = 150
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(db), str(n)], stdout=subprocess.PIPE, text=True)
    reader = subprocess.Popen([sys.executable, "-c", READER, str(db), str(n)], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    w_out, _ = writer.communicate(timeout=120)
    r_out, r_err = reader.communicate(timeout=120)
    assert writer.returncode == 0 and "writer done" in w_out
    assert reader.returncode == 0, r_err
    reads, seen = map(int, r_out.split())
    assert seen == n and reads > 1
    assert len(Catalog(db).list("runs", status="ready")) == n


def test_count_and_page_newest_first(ws):
    ids = [ws.catalog.add("provenance", f"p{i}").id for i in range(5)]
    assert ws.catalog.count("provenance") == 5
    assert ws.catalog.count("runs") == 0
    assert [r.id for r in ws.catalog.page("provenance", 0, 2)] == ids[::-1][:2]
    assert [r.id for r in ws.catalog.page("provenance", 4, 10)] == ids[:1]


def test_add_many_is_one_transaction_with_lineage(ws):
    run = ws.catalog.add("runs", "r")
    recs = ws.catalog.add_many("provenance", [(None, {"content_id": f"{i:08x}"}) for i in range(3)], [run.id])
    assert ws.catalog.count("provenance") == 3
    assert {c.id for c in ws.catalog.children(run.id)} == {r.id for r in recs}
    assert ws.catalog.get(recs[1].id).params == {"content_id": "00000001"}
    with pytest.raises(CatalogError):
        ws.catalog.add_many("provenance", [("same", {}), ("same", {})])
    assert ws.catalog.count("provenance") == 3
