"""``assay catalog check [--repair]``: rows and files that disagree are found, and what is safe to repair is."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from assay.cli import app
from assay.core import locks
from assay.core.catalog_sqlite import SqliteBackend
from assay.core.imageio import save
from assay.core.workspace import CATALOG_FILE, Workspace
from assay.provenance.keys.signing import SigningIdentity, default_keys_dir, keygen
from assay.provenance.stamp.files import stamp_to
from assay.provenance.stamp.options import StampOptions
from tests.helpers.images import smooth_image

OPTIONS = StampOptions(labels=("xmp", "c2pa"))


def check(ws: Path, *flags: str) -> tuple[int, list[dict]]:
    res = CliRunner().invoke(app, ["--workspace", str(ws), "catalog", "check", "--json", *flags])
    assert res.exception is None or isinstance(res.exception, SystemExit), res.exception
    return res.exit_code, json.loads(res.stdout)


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


@pytest.fixture
def stamped(ws: Workspace, tmp_path: Path) -> tuple[Workspace, Path]:
    """A workspace with a data set folder and one file stamped into an --out folder outside it."""
    keygen(default_keys_dir(ws))
    save(smooth_image(64, 1), tmp_path / "src.png")
    out = tmp_path / "out" / "face.png"
    stamp_to(tmp_path / "src.png", out, SigningIdentity.from_dir(default_keys_dir(ws)), OPTIONS, ws)
    staging = ws.staging_dir("datasets", "faces")
    (staging / "manifest.jsonl").write_text("{}\n")
    ws.commit("datasets", "faces", staging)
    return ws, out


def test_a_sound_workspace_has_no_findings(stamped: tuple[Workspace, Path]) -> None:
    ws, _ = stamped
    assert check(ws.root) == (0, [])


def test_missing_and_changed_files_are_reported(stamped: tuple[Workspace, Path]) -> None:
    ws, out = stamped
    out.write_bytes(out.read_bytes() + b"x")
    shutil.rmtree(ws.catalog.latest("datasets").path)  # type: ignore[union-attr, arg-type]
    code, found = check(ws.root, "--repair")
    assert code == 1
    assert sorted((f["check"], f["repaired"]) for f in found) == [("hashes", False), ("paths", False)]
    assert any("is missing" in f["problem"] for f in found if f["check"] == "paths")
    assert any(str(out) in f["problem"] for f in found if f["check"] == "hashes")


def test_paths_of_a_moved_workspace_are_repaired(stamped: tuple[Workspace, Path], tmp_path: Path) -> None:
    ws, _ = stamped
    data_set = ws.catalog.latest("datasets")
    assert data_set is not None
    old_place = str(ws.root.absolute() / "datasets" / data_set.id)
    with sqlite3.connect(ws.root / CATALOG_FILE) as db:  # a row written before paths were kept relative
        db.execute("UPDATE datasets SET path = ? WHERE id = ?", (old_place, data_set.id))
    moved = tmp_path / "elsewhere" / "ws"
    shutil.move(str(ws.root), moved)
    code, found = check(moved)
    assert code == 1 and [(f["check"], f["subject"], f["repaired"]) for f in found] == \
        [("paths", data_set.id, False)]
    code, found = check(moved, "--repair")
    assert code == 0 and found[0]["repaired"] is True
    with sqlite3.connect(moved / CATALOG_FILE) as db:
        stored = db.execute("SELECT path FROM datasets WHERE id = ?", (data_set.id,)).fetchone()[0]
    assert stored == f"datasets/{data_set.id}"
    assert check(moved) == (0, [])


def test_rows_of_no_artefact_are_deleted(stamped: tuple[Workspace, Path]) -> None:
    ws, _ = stamped
    with sqlite3.connect(ws.root / CATALOG_FILE) as db:
        db.execute("INSERT INTO lineage (child, parent) VALUES ('run-000000000000', 'ds-000000000000')")
        db.execute("INSERT INTO param_index (artefact, key, value) VALUES ('prov-000000000000', 'content_id', 'x')")
    code, found = check(ws.root)
    assert code == 1 and sorted(f["subject"] for f in found) == ["lineage", "param_index"]
    code, found = check(ws.root, "--repair")
    assert code == 0 and all(f["repaired"] for f in found)
    assert check(ws.root) == (0, [])


def test_folders_no_row_names_are_reported(stamped: tuple[Workspace, Path]) -> None:
    ws, _ = stamped
    (ws.root / "runs" / "run-0123456789ab").mkdir(parents=True)
    (ws.root / "runs" / "notes").mkdir()
    code, found = check(ws.root, "--repair")
    assert code == 1 and [(f["check"], Path(f["subject"]).name) for f in found] == [("dangling", "run-0123456789ab")]
    assert (ws.root / "runs" / "run-0123456789ab").is_dir()  # it may be a commit in progress: never removed


def test_temporaries_of_dead_writers_are_removed(stamped: tuple[Workspace, Path]) -> None:
    ws, out = stamped
    dead = _dead_pid()
    stale = [ws.root / "datasets" / f".manifest.jsonl.{dead}.abcd1234.tmp.jsonl",
             out.parent / f".face.png.{dead}.x1.tmp.png"]
    live = out.parent / f".other.png.{os.getpid()}.x1.tmp.png"
    for path in (*stale, live):
        path.write_bytes(b"partial")
    code, found = check(ws.root)
    assert code == 1 and sorted(f["subject"] for f in found) == sorted(map(str, stale))
    code, found = check(ws.root, "--repair")
    assert code == 0 and len(found) == 2 and not any(p.exists() for p in stale) and live.exists()


def test_unfinished_work_is_kept_unless_dropped(stamped: tuple[Workspace, Path]) -> None:
    ws, _ = stamped
    idle = ws.staging_dir("scans", "killed")
    held = ws.staging_dir("datasets", "running")
    with locks.hold(held.parent / f"{held.name}.lock", "data set 'running'"):
        code, found = check(ws.root, "--repair")
        assert code == 1 and idle.is_dir() and held.is_dir()
        assert {Path(f["subject"]).name: f["problem"].split(" (")[0] for f in found} == {
            ".staging-killed": "unfinished work: run its command again to resume it, or drop it with --drop-staging",
            ".staging-running": "work in progress"}
        code, found = check(ws.root, "--drop-staging")
        assert not idle.exists() and held.is_dir()
        assert code == 1 and [f["repaired"] for f in found] == [False, True]


def test_the_database_check_reports_what_sqlite_finds(stamped: tuple[Workspace, Path],
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    ws, _ = stamped
    assert SqliteBackend(ws.root / CATALOG_FILE).integrity() == []
    monkeypatch.setattr(SqliteBackend, "integrity", lambda self: ["row 3 missing from index datasets_created"])
    code, found = check(ws.root, "--repair")
    assert code == 1 and found == [{"check": "database", "subject": str(ws.root / CATALOG_FILE),
                                    "problem": "row 3 missing from index datasets_created", "repaired": False}]


#: writes part of a file through atomic_path, says so, then waits to be killed
KILLED_WRITER = """
import sys, time
from pathlib import Path
from assay.core.fileio import atomic_path
with atomic_path(Path(sys.argv[1]) / "report.json") as tmp:
    tmp.write_text("{partial")
    Path(sys.argv[2]).write_text(tmp.name)
    time.sleep(600)
"""


def test_a_writer_killed_mid_write_leaves_a_temporary_that_repair_removes(stamped: tuple[Workspace, Path],
                                                                         tmp_path: Path) -> None:
    ws, _ = stamped
    said = tmp_path / "said"
    proc = subprocess.Popen([sys.executable, "-c", KILLED_WRITER, str(ws.root / "scans"), str(said)],
                            env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])})
    try:
        while not said.exists() or not said.read_text():
            assert proc.poll() is None, "the writer ended before it wrote"
            time.sleep(0.05)
    finally:
        proc.kill()
        proc.wait()
    left = ws.root / "scans" / said.read_text()
    assert left.is_file() and not (ws.root / "scans" / "report.json").exists()
    code, found = check(ws.root)
    assert code == 1 and [(f["check"], f["subject"]) for f in found] == [("temporaries", str(left))]
    assert check(ws.root, "--repair")[0] == 0 and not left.exists()


def test_records_of_a_stamp_that_never_committed_are_reported(stamped: tuple[Workspace, Path]) -> None:
    ws, out = stamped
    rec = ws.catalog.add("provenance", None, {"content_id": "0badcafe"}, path=out.parent / "lost.png",
                         status="pending")
    code, found = check(ws.root, "--repair")
    assert code == 1 and sorted((f["check"], f["subject"]) for f in found) == [("paths", rec.id), ("pending", rec.id)]
