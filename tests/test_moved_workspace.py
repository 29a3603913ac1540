"""A workspace that survives being moved: catalog paths are kept relative to its root and resolved against it, so
scan, verify and every dashboard page work on a moved workspace from any folder; rows written before still read."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest
from typer.testing import CliRunner

from assay.cli import app
from assay.core.catalog import Record, now
from assay.core.imageio import save
from assay.core.imagesets import open_set
from assay.core.workspace import CATALOG_FILE, Workspace
from assay.core.workspace_paths import WorkspacePaths
from assay.detect.base import DETECTORS
from assay.detect.store import save_detector
from tests.helpers.dashboard import render_page
from tests.helpers.detectors import BrightnessDetector, brightness_detector
from tests.helpers.images import dark

PAGES = ("overview", "data", "forge", "detect", "scan", "provenance")


def _stored_paths(root: Path) -> list[str]:
    with sqlite3.connect(f"file:{root / CATALOG_FILE}?mode=ro", uri=True) as db:
        return [row[0] for row in db.execute("SELECT path FROM artefacts WHERE path IS NOT NULL")]


def invoke(*args: str) -> tuple[int, list[dict], str]:
    """(exit code, the JSON results on stdout, all output) of ``assay ARGS`` in this process."""
    res = CliRunner().invoke(app, list(args))
    assert res.exception is None or isinstance(res.exception, SystemExit), res.exception
    return res.exit_code, json.loads(res.stdout) if res.stdout.strip() else [], res.output


def test_paths_are_stored_relative_to_the_root_and_resolved_against_it(tmp_path) -> None:
    paths = WorkspacePaths(tmp_path / "ws")
    assert paths.store(tmp_path / "ws" / "runs" / "run-1") == "runs/run-1"
    assert paths.store(tmp_path / "out" / "x.png") == str(tmp_path / "out" / "x.png")  # outside: absolute
    (tmp_path / "ws" / "runs" / "run-1").mkdir(parents=True)
    assert paths.resolve("runs/run-1") == str(tmp_path / "ws" / "runs" / "run-1")
    # rows of a workspace that has moved since they were written: found by their tail under the root
    assert paths.resolve("/elsewhere/old-ws/runs/run-1") == str(tmp_path / "ws" / "runs" / "run-1")
    assert paths.resolve("assay-workspace/runs/run-1") == str(tmp_path / "ws" / "runs" / "run-1")


def test_a_default_workspace_moved_away_scans_from_a_third_folder(tmp_path, monkeypatch) -> None:
    monkeypatch.setitem(DETECTORS._items, BrightnessDetector.name, BrightnessDetector)
    for folder in ("a", "b", "c"):
        (tmp_path / folder).mkdir()
    monkeypatch.chdir(tmp_path / "a")
    ws = Workspace("assay-workspace")  # the default, relative to the current folder
    rec = save_detector(ws, brightness_detector(), "bright", {}, [])
    assert _stored_paths(Path("assay-workspace")) == [f"detectors/{rec.id}"]
    # an older row, written relative to the folder its command ran in
    legacy = Record(ws.catalog.new_id("detectors"), "detectors", "legacy", now(),
                    path=f"assay-workspace/detectors/{rec.id}")
    ws.catalog.backend.insert([legacy])
    del ws
    os.rename(tmp_path / "a" / "assay-workspace", tmp_path / "b" / "moved")
    monkeypatch.chdir(tmp_path / "c")
    save(dark(3), tmp_path / "c" / "x.png")
    root = str(tmp_path / "b" / "moved")
    for detector in (rec.id, legacy.id):
        code, results, out = invoke("--workspace", root, "detect", "scan", "x.png", "--detector", detector,
                                    "--format", "json")
        assert code == 0 and results[0]["status"] == "ok", out
    moved = Workspace(root, read_only=True)
    assert moved.path_of(moved.resolve(legacy.id)) == tmp_path / "b" / "moved" / "detectors" / rec.id


def test_a_moved_demo_workspace_scans_verifies_and_shows_every_page_from_a_third_folder(
        dashboard_ws, tmp_path, monkeypatch) -> None:
    shutil.copytree(dashboard_ws.root, tmp_path / "first", symlinks=True)
    (tmp_path / "second").mkdir()
    os.rename(tmp_path / "first", tmp_path / "second" / "ws")  # the first place is gone
    root = tmp_path / "second" / "ws"
    assert not any(p.startswith("/") and str(dashboard_ws.root) in p for p in _stored_paths(root))
    (tmp_path / "third").mkdir()
    monkeypatch.chdir(tmp_path / "third")
    moved = Workspace(root, read_only=True)
    for rec in moved.catalog.list():
        if rec.path and rec.kind != "provenance":
            assert Path(rec.path).is_relative_to(root) and Path(rec.path).exists(), (rec.kind, rec.path)

    samples = open_set(moved, moved.catalog.list("samples")[0].id)
    stamped = samples.path(samples.rows[0])
    assert stamped.is_relative_to(root)
    code, [report], out = invoke("--workspace", str(root), "provenance", "verify", str(stamped), "--format", "json")
    assert code in (0, 1), out  # 1: the demo revoked a subject's consent (publication fails)
    assert report["c2pa"]["trust"] == "trusted" and report["record"] is not None
    assert {report["checks"][n]["status"] for n in ("soft_binding", "record_match", "visible_mark")} == {"pass"}
    code, results, out = invoke("--workspace", str(root), "detect", "scan", str(stamped), "--format", "json")
    assert code in (0, 1) and results[0]["status"] == "ok", out  # 1: flagged as synthetic

    monkeypatch.setenv("ASSAY_WORKSPACE", str(root))
    for name in PAGES:
        at = AppTest.from_function(render_page, args=(name,), default_timeout=300).run()
        assert not at.exception, (name, [e.value for e in at.exception])


@pytest.mark.parametrize("kind", ["detectors"])
def test_export_keeps_the_stored_relative_paths(tmp_path, monkeypatch, kind) -> None:
    monkeypatch.setitem(DETECTORS._items, BrightnessDetector.name, BrightnessDetector)
    ws = Workspace(tmp_path / "ws")
    rec = save_detector(ws, brightness_detector(), "bright", {}, [])
    [row] = [line["record"] for line in ws.catalog.export() if "record" in line]
    assert row["path"] == f"{kind}/{rec.id}" and ws.resolve(rec.id).path == str(tmp_path / "ws" / kind / rec.id)
