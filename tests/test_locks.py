"""Locks on work in progress: exclusive while held, released by the OS when the holder dies, stale ones reported."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from assay.core.catalog import Record
from assay.core.imageio import encode
from assay.core.locks import LOCK_FILE, LockHeld, hold, holder, shown_status
from assay.data.preparation import PrepareConfig, prepare

REPO = Path(__file__).resolve().parents[1]
HOLDER = """
import sys
sys.path.insert(0, sys.argv[2])
from pathlib import Path
from assay.core.locks import hold
with hold(Path(sys.argv[1]), "work"):
    print("locked", flush=True)
    sys.stdin.readline()                 # hold until the test kills this process
"""


def _killed_holder(path: Path) -> int:
    """The pid of a process that took the lock at ``path`` and was then killed (SIGKILL: no cleanup)."""
    proc = subprocess.Popen([sys.executable, "-c", HOLDER, str(path), str(REPO)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "locked"
    assert holder(path).pid == proc.pid
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=120)
    return proc.pid


def test_a_held_lock_refuses_a_second_taker_naming_the_holder(tmp_path: Path) -> None:
    path = tmp_path / LOCK_FILE
    with hold(path, "run run-1") as lock:
        assert lock.stale is None and holder(path).pid == os.getpid()
        with pytest.raises(LockHeld, match=rf"run run-1 is in use by pid {os.getpid()} on "):
            with hold(path, "run run-1"):
                pass
    assert holder(path) is None
    with hold(path, "run run-1") as again:                      # a clean release leaves nothing stale
        assert again.stale is None


def test_the_lock_of_a_killed_process_is_free_and_reported_stale(tmp_path: Path) -> None:
    path = tmp_path / LOCK_FILE
    pid = _killed_holder(path)
    assert holder(path) is None
    with hold(path, "work") as lock:
        assert lock.stale is not None and lock.stale.pid == pid
        assert holder(path).pid == os.getpid()


def test_a_running_record_whose_lock_is_not_held_shows_as_interrupted(tmp_path: Path) -> None:
    rec = Record("run-000000000001", "runs", "r", "2026-01-01", path=str(tmp_path), status="running")
    assert shown_status(rec) == "running"                         # no lock file: nothing to judge by
    with hold(tmp_path / LOCK_FILE, "run r"):
        assert shown_status(rec) == "running"
    assert shown_status(rec) == "interrupted"
    rec.status = "ready"
    assert shown_status(rec) == "ready"


def test_a_data_set_being_prepared_is_locked(ws, tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "a.png").write_bytes(encode(np.full((40, 40, 3), 128, np.uint8), "png"))
    cfg = PrepareConfig(size=32, align="center", workers=1, embed=False)
    staging = ws.staging_dir("datasets", "faces")
    with hold(staging.parent / f"{staging.name}.lock", "another prepare"):
        with pytest.raises(LockHeld, match=f"data set 'faces' is in use by pid {os.getpid()} on "):
            prepare(ws, src, "faces", cfg)
    assert prepare(ws, src, "faces", cfg).kept == 1
