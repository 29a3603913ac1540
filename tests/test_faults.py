"""Faults of the environment: a read-only workspace, unwritable outputs, a full disk, a corrupt catalog,
a workspace that is a file. Each is a one-line error with the documented exit code, never a traceback.

Tests run as root, whom permission bits do not stop: read-only file systems are read-only bind
mounts and a full disk is a small tmpfs, both in a private mount namespace (``unshare -m``);
where those cannot be made the test skips, and the injected-error tests still cover the logic.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from assay.core.errors import EnvironmentFault
from assay.core.fileio import read_jsonl
from assay.core.imageio import save
from assay.core.workspace import CATALOG_FILE, Workspace
from assay.data.preparation import JOURNAL, PrepareConfig, prepare
from tests.conftest import REPO
from tests.helpers.cli import invoke

CENTER = PrepareConfig(size=32, align="center", layout="none", embed=False, workers=1)
#: exit codes of the private-namespace runner: 77 when the mounts cannot be made here
NO_MOUNT = 77


def _images(folder: Path, count: int, seed: int = 0) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        save(np.random.default_rng(seed * 1000 + i).integers(0, 255, (40, 40, 3), dtype=np.uint8),
             folder / f"{seed}_{i:02d}.png")
    return folder


def in_namespace(mounts: str, script: str, *argv: str) -> dict:
    """Run ``script`` in a private mount namespace after the shell ``mounts``; its JSON on stdout."""
    if not shutil.which("unshare"):
        pytest.skip("needs unshare(1) for a private mount namespace")
    shell = f'{mounts} || exit {NO_MOUNT}; script="$1"; shift; exec "$0" -c "$script" "$@"'
    proc = subprocess.run(["unshare", "-m", "sh", "-c", shell, sys.executable, script, *argv], capture_output=True,
                          text=True, env={**os.environ, "PYTHONPATH": str(REPO), "HF_HUB_OFFLINE": "1"}, timeout=600)
    if proc.returncode == NO_MOUNT or (proc.returncode == 1 and "unshare" in proc.stderr):
        pytest.skip(f"no private mount here: {proc.stderr.strip()[:200]}")
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _read_only(path: Path) -> str:
    return f'mount --bind "{path}" "{path}" && mount -o remount,ro,bind "{path}" "{path}"'


RUN_ALL = """
import json, sys
from tests.helpers.cli import invoke
print(json.dumps({name: invoke(*args) for name, args in json.loads(sys.argv[1]).items()}))
"""


def test_read_only_workspace_reads_work_and_writes_fail_in_one_line(tmp_path) -> None:
    import assay.detect.detectors  # noqa: F401  (fills the registry)
    from assay.detect.base import DETECTORS
    from assay.detect.store import save_detector

    root, media, ro_out, ws2 = tmp_path / "ws", _images(tmp_path / "media", 3), tmp_path / "ro_out", tmp_path / "ws2"
    ro_out.mkdir()
    ws = Workspace(root)
    images = [np.random.default_rng(i).integers(0, 255, (32, 32, 3), dtype=np.uint8) for i in range(8)]
    save_detector(ws, DETECTORS.create("spectral").fit(images, np.array([0, 1] * 4)), "spectral", {}, [])
    Workspace(ws2)
    before = sorted(p.relative_to(root) for p in root.rglob("*"))
    w, w2 = ["--workspace", str(root)], ["--workspace", str(ws2)]
    commands = {
        "list": [*w, "catalog", "list"],
        "show": [*w, "catalog", "show", "spectral", "--json"],
        "verify": [*w, "provenance", "verify", str(media), "--format", "json"],
        "comply": [*w, "provenance", "comply", str(media), "--profile", "eu-ai-act-art50", "--format", "json"],
        "scan": [*w, "detect", "scan", str(media), "--format", "json", "--workers", "1"],
        "prepare": [*w, "data", "prepare", str(media), "--out", "x"],
        "stamp": [*w, "provenance", "stamp", str(media), "--out", str(tmp_path / "stamped"), "--labels", "xmp"],
        "scan_out": [*w2, "detect", "scan", str(media), "--out", str(ro_out / "r.json")],
        "stamp_out": [*w2, "provenance", "stamp", str(media), "--out", str(ro_out / "s"), "--labels", "xmp"],
    }
    got = in_namespace(f"{_read_only(root)} && {_read_only(ro_out)}", RUN_ALL, json.dumps(commands))
    assert {name: crash for name, (_, _, crash) in got.items() if crash} == {}
    for name in ("list", "show", "verify", "comply"):
        assert got[name][0] in (0, 1), got[name]
    assert json.loads(got["show"][1])["name"] == "spectral"
    code, output, _ = got["scan"]
    assert code in (0, 1) and "read-only" in output and "not recorded" in output
    for name in ("prepare", "stamp"):
        assert got[name][0] == 2 and "is read-only" in got[name][1], got[name]
    for name in ("scan_out", "stamp_out"):
        assert got[name][0] == 2 and "cannot write to" in got[name][1] and "Read-only file system" in got[name][1]
    assert sorted(p.relative_to(root) for p in root.rglob("*")) == before
    assert not any(ro_out.iterdir())


FULL_DISK = """
import json, os, shutil, sys
from pathlib import Path
from tests.helpers.cli import invoke
from assay.core.fileio import read_jsonl
from assay.core.workspace import Workspace

ws, media = Path(sys.argv[1]), sys.argv[2]
Workspace(ws)
room = os.statvfs(ws)
filler = ws / "filler"
with open(filler, "wb") as fh:  # leave room for a few faces, then the disk is full
    fh.write(b"\\0" * (room.f_bavail * room.f_frsize - 128 * 1024))
args = ["--workspace", str(ws), "data", "prepare", media, "--out", "full", "--size", "32", "--align", "center",
        "--layout", "none", "--no-embed", "--workers", "1", "--json"]
full = invoke(*args)
journal = read_jsonl(ws / "datasets" / ".staging-full" / "journal.jsonl")  # a torn last line is dropped
listed = invoke("--workspace", str(ws), "catalog", "list")
filler.unlink()
again = invoke(*args)
print(json.dumps({"full": full, "journal": journal, "list": listed, "again": again}))
"""


def test_full_disk_stops_prepare_and_a_rerun_keeps_every_file(tmp_path) -> None:
    disk, media = tmp_path / "disk", _images(tmp_path / "media", 40)
    disk.mkdir()
    got = in_namespace(f'mount -t tmpfs -o size=2m tmpfs "{disk}"', FULL_DISK, str(disk / "ws"), str(media))
    code, output, crash = got["full"]
    assert crash is None and code == 2 and "No space left on device" in output and "run the same command again" in output
    assert all(e["status"] == "kept" for e in got["journal"])  # no file was blamed for the full disk
    assert got["list"][0] == 0, got["list"]
    code, output, crash = got["again"]
    assert crash is None and code == 0, output
    assert json.loads(output[output.index("{"):])["kept"] == 40 and json.loads(output[output.index("{"):])["rejected"] == 0


def test_injected_full_disk_is_retried_on_resume_not_rejected(tmp_path, ws, monkeypatch) -> None:
    import assay.data.preparation as prep

    src = _images(tmp_path / "src", 5)
    real_write, calls = prep.atomic_write_bytes, []

    def write(path, data):
        calls.append(path)
        if len(calls) == 3:
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        real_write(path, data)

    monkeypatch.setattr(prep, "atomic_write_bytes", write)
    with pytest.raises(EnvironmentFault, match="No space left on device"):
        prepare(ws, src, "set", CENTER)
    journal = read_jsonl(ws.root / "datasets" / ".staging-set" / JOURNAL)
    assert [e["status"] for e in journal] == ["kept", "kept"]
    monkeypatch.undo()
    result = prepare(ws, src, "set", CENTER)
    assert result.kept == 5 and result.rejected == 0 and result.discarded is None


def test_injected_full_disk_stops_stamp_with_one_line_and_a_rerun_finishes(tmp_path, ws, monkeypatch) -> None:
    import assay.provenance.stamp.files as stamp_files
    from assay.core.fileio import atomic_path

    src, out = _images(tmp_path / "src", 3), tmp_path / "out"
    real_write, calls = stamp_files.atomic_write_bytes, []

    def write(path, data, **kwargs):
        calls.append(path)
        if len(calls) == 2:  # the disk fills half-way through the second file
            with atomic_path(path) as tmp:
                tmp.write_bytes(data[: len(data) // 2])
                raise OSError(errno.ENOSPC, "No space left on device", str(tmp))
        real_write(path, data, **kwargs)

    monkeypatch.setattr(stamp_files, "atomic_write_bytes", write)
    code, output, crash = invoke("--workspace", str(ws.root), "provenance", "stamp", str(src), "--out", str(out),
                                 "--labels", "xmp,visible")
    assert crash is None and code == 2, output
    lines = [line for line in output.splitlines() if "No space left on device" in line]
    assert len(lines) == 1 and "run the same command again" in lines[0]  # exit 2: the batch stopped
    assert sorted(p.name for p in out.iterdir()) == ["0_00.png"]  # nothing half-written, no temp file left
    monkeypatch.undo()
    code, output, crash = invoke("--workspace", str(ws.root), "provenance", "stamp", str(src), "--out", str(out),
                                 "--labels", "xmp,visible", "--json")
    assert crash is None and code == 0, output
    rows = json.loads(output[output.index("[\n"):])  # after the progress bar
    assert [r["note"].startswith("skipped") for r in rows] == [True, False, False]
    assert sorted(p.name for p in out.iterdir()) == ["0_00.png", "0_01.png", "0_02.png"]


def test_reusing_a_name_after_an_interrupted_prepare_of_another_source(tmp_path, ws) -> None:
    first, second = _images(tmp_path / "first", 4, seed=1), _images(tmp_path / "second", 3, seed=2)

    def interrupt(done: int, kept: int, rejected: int) -> None:
        if done == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        prepare(ws, first, "set", CENTER, progress=interrupt)
    assert len(list((ws.root / "datasets" / ".staging-set" / "images").iterdir())) == 2
    result = prepare(ws, second, "set", CENTER)
    assert result.discarded == str(first.resolve())
    folder = Path(result.record.path)
    assert {r["source"] for r in read_jsonl(folder / "manifest.jsonl")} == {p.name for p in second.iterdir()}
    assert len(list((folder / "images").iterdir())) == 3  # none of the first source's faces


def test_resuming_the_same_source_keeps_the_journal(tmp_path, ws) -> None:
    src = _images(tmp_path / "src", 4)

    def interrupt(done: int, kept: int, rejected: int) -> None:
        if done == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        prepare(ws, src, "set", CENTER, progress=interrupt)
    seen = []
    result = prepare(ws, src, "set", CENTER, progress=lambda done, kept, rejected: seen.append(done))
    assert result.discarded is None and result.kept == 4 and seen == [3, 4]  # two were not redone


@pytest.mark.parametrize("content", [b"this is not a database" * 100, b"SQLite format 3\0" + b"\xff" * 4000])
def test_a_corrupt_catalog_is_a_one_line_error(tmp_path, content) -> None:
    root = tmp_path / "ws"
    root.mkdir()
    (root / CATALOG_FILE).write_bytes(content)
    for args in (["catalog", "list"], ["data", "prepare", str(_images(tmp_path / "m", 1)), "--out", "x"]):
        code, output, crash = invoke("--workspace", str(root), *args)
        assert crash is None and code == 2 and f"catalog {root / CATALOG_FILE}" in output
        assert len(output.strip().splitlines()) == 1


def test_a_workspace_that_is_a_file_is_a_one_line_error(tmp_path) -> None:
    (tmp_path / "ws").write_text("not a folder")
    for args in (["catalog", "list"], ["data", "prepare", str(_images(tmp_path / "m", 1)), "--out", "x"],
                 ["provenance", "verify", str(tmp_path / "m")]):
        code, output, crash = invoke("--workspace", str(tmp_path / "ws"), *args)
        assert crash is None and code == 2 and "is a file, not a folder" in output, output


def test_a_full_output_disk_fails_before_scanning(tmp_path, monkeypatch) -> None:
    import assay.core.fileio as fileio

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device", str(tmp_path / "out"))

    monkeypatch.setattr(fileio.tempfile, "mkstemp", full)
    code, output, crash = invoke("--workspace", str(tmp_path / "ws"), "detect", "scan", str(tmp_path),
                                 "--out", str(tmp_path / "out" / "r.json"))
    assert crash is None and code == 2 and "cannot write to" in output and "No space left" in output
