"""Runs as processes see them: one trainer per run (a lock), interrupts that checkpoint, a time budget, threads."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
from typer.testing import CliRunner

from assay.cli import app
from assay.core import devices, locks
from assay.core.fileio import read_jsonl
from assay.forge import checkpoint, stopping
from assay.forge.config import make_config
from assay.forge.stopping import parse_duration
from assay.forge.training import resume, train
from tests.helpers.faces import tiny_faces

torch.set_num_threads(1)
REPO = Path(__file__).resolve().parents[1]
TINY = dict(batch=8, g_ch=4, d_ch=4, z_dim=16, log_every=1, sample_every=1000, checkpoint_every=2, threads="1")
CLI_TINY = [f"--set={k}={v}" for k, v in TINY.items() if k != "batch"]
#: the CLI, with a line on stdout after each checkpoint so that the test can act on it (never on a clock)
DRIVER = """
import sys
sys.path.insert(0, sys.argv[1])
from assay.forge import checkpoint
save = checkpoint.save
def told(*args, **kwargs):
    pointer = save(*args, **kwargs)
    print("CHECKPOINT", pointer["step"], flush=True)
    return pointer
checkpoint.save = told
from assay.cli import app
app(sys.argv[2:], prog_name="assay")
"""


def _train_process(ws, ds: str) -> subprocess.Popen:
    args = ["--workspace", str(ws.root), "forge", "train", "--model", "dcgan", "--data", ds, "--size", "32",
            "--steps", "100000", "--batch", "8", "--name", "long", *CLI_TINY]
    env = {**os.environ, "PYTHONPATH": str(REPO), "HF_HUB_OFFLINE": "1"}
    return subprocess.Popen([sys.executable, "-c", DRIVER, str(REPO), *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env, cwd=REPO)


def _first_checkpoint(proc: subprocess.Popen) -> int:
    line = proc.stdout.readline().split()
    assert line[:1] == ["CHECKPOINT"], proc.stderr.read()[-3000:]
    return int(line[1])


def _loss_steps(folder: Path) -> list[int]:
    return [r["step"] for r in read_jsonl(folder / "metrics.jsonl") if "d_loss" in r]


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_checkpoints_the_run_and_resume_continues_from_there(ws, sig: signal.Signals) -> None:
    ds = tiny_faces(ws)
    proc = _train_process(ws, ds)
    first = _first_checkpoint(proc)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 130, err[-3000:]
    rec = ws.resolve("long")
    step = rec.params["final_step"]
    assert rec.status == "interrupted" and rec.params["stopped"] == "interrupt" and step >= first
    assert f"interrupted at step {step}; checkpoint saved. Resume with: assay forge train --resume {rec.id}" in err
    folder = Path(rec.path)
    assert checkpoint.latest(folder)["step"] == step
    assert _loss_steps(folder) == list(range(1, step + 1))
    assert resume(ws, "long", steps=step + 3, progress=False) == rec.id
    rec = ws.resolve(rec.id)
    assert rec.status == "ready" and rec.params["final_step"] == step + 3 and rec.params["stopped"] == "steps"
    assert _loss_steps(folder) == list(range(1, step + 4))             # continued from that step, no repeats


def test_a_killed_run_shows_interrupted_and_resumes_with_the_stale_lock_reported(ws) -> None:
    ds = tiny_faces(ws)
    proc = _train_process(ws, ds)
    _first_checkpoint(proc)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=300)
    runner = CliRunner()
    listed = runner.invoke(app, ["--workspace", str(ws.root), "catalog", "list", "runs", "--json"])
    assert '"status": "interrupted"' in listed.stdout and ws.resolve("long").status == "running"
    shown = runner.invoke(app, ["--workspace", str(ws.root), "catalog", "show", "long", "--json"])
    assert '"status": "interrupted"' in shown.stdout
    step = checkpoint.latest(Path(ws.resolve("long").path))["step"]
    resumed = subprocess.run([sys.executable, "-m", "assay", "--workspace", str(ws.root), "forge", "train",
                              "--resume", "long", "--steps", str(step + 2)], capture_output=True, text=True,
                             cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO), "HF_HUB_OFFLINE": "1"},
                             timeout=300)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert f"was left running by pid {proc.pid} on " in resumed.stderr
    assert ws.resolve("long").status == "ready" and ws.resolve("long").params["final_step"] == step + 2


def test_a_second_resume_of_a_run_in_use_fails_at_once_naming_the_holder(ws) -> None:
    run_id = train(ws, tiny_faces(ws), make_config("dcgan", 32, steps=2, **TINY), name="r", progress=False)
    folder = Path(ws.resolve(run_id).path)
    metrics = (folder / "metrics.jsonl").read_text()
    with locks.hold(folder / locks.LOCK_FILE, f"run {run_id}"):     # another trainer holds the run
        with pytest.raises(locks.LockHeld, match=f"run {run_id} is in use by pid {os.getpid()} on "):
            resume(ws, run_id, steps=4, progress=False)
        result = CliRunner().invoke(app, ["--workspace", str(ws.root), "forge", "train", "--resume", run_id,
                                          "--steps", "4"])
    assert result.exit_code == 1 and f"is in use by pid {os.getpid()}" in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert (folder / "metrics.jsonl").read_text() == metrics and ws.resolve(run_id).status == "ready"


def test_the_time_budget_stops_the_run_with_a_final_checkpoint(ws, monkeypatch) -> None:
    ticks = iter(range(10**6))                                    # a clock that advances 1 s per reading
    monkeypatch.setattr(stopping, "time", SimpleNamespace(monotonic=lambda: float(next(ticks))))
    run_id = train(ws, tiny_faces(ws), make_config("dcgan", 32, ["time_budget=5s"], steps=1000, **TINY),
                   progress=False)
    rec = ws.resolve(run_id)
    step = rec.params["final_step"]
    assert rec.status == "ready" and rec.params["stopped"] == "time_budget" and 0 < step < 1000
    folder = Path(rec.path)
    assert checkpoint.latest(folder)["step"] == step
    last = read_jsonl(folder / "metrics.jsonl")[-1]
    assert last["event"] == "stopped" and last["reason"] == "time_budget" and last["step"] == step
    assert last["elapsed_s"] >= 5


def test_time_budget_units_and_bad_values(ws) -> None:
    assert [parse_duration(t) for t in ("90", "90s", "12m", "1.5h", "", "0")] == [90, 90, 720, 5400, None, None]
    for bad in ("12 minutes", "-5m", "m"):
        with pytest.raises(ValueError, match="time_budget must be a duration like 90s, 12m or 1.5h"):
            parse_duration(bad)
    result = CliRunner().invoke(app, ["--workspace", str(ws.root), "forge", "train", "--data", "x", "--time", "soon"])
    assert result.exit_code == 1 and "time_budget must be a duration" in result.output


@pytest.mark.parametrize("setting, load, cores, world, expected", [
    ("auto", 0.3, 2, 1, 2),          # quiet: every core
    ("auto", 1.2, 2, 1, 1),          # another busy process beside this one
    ("auto", 7.8, 2, 1, 1),          # a crowded machine: one thread, never zero
    ("auto", 0.3, 2, 2, 1),          # two torchrun ranks share the free cores
    ("0", 0.3, 4, 1, 4),             # 0, as older runs saved it, means auto
    ("3", 7.8, 2, 1, 3),             # a number is taken as given
])
def test_threads_follow_the_free_cores(monkeypatch, setting, load, cores, world, expected) -> None:
    monkeypatch.setattr(devices.os, "getloadavg", lambda: (load, load, load))
    monkeypatch.setattr(devices.os, "sched_getaffinity", lambda pid: set(range(cores)))
    threads, why = devices.choose_threads(setting, world)
    assert threads == expected
    assert why == "threads=3 was set" if setting == "3" else why.startswith(f"auto: {cores} usable cores, "
                                                                             f"1-min load {load:.2f}")


def test_the_run_config_records_the_threads_chosen_and_why(ws) -> None:
    run_id = train(ws, tiny_faces(ws), make_config("dcgan", 32, steps=1, **{**TINY, "threads": "auto"}),
                   progress=False)
    params = ws.resolve(run_id).params
    assert params["threads_used"] >= 1 and params["threads_why"].startswith("auto: ")
    assert torch.get_num_threads() == 1                           # the caller's thread count is restored


#: the CLI, killed (SIGKILL) where it would write its first checkpoint
KILLED_BEFORE_CHECKPOINT = """
import os, signal, sys
sys.path.insert(0, sys.argv[1])
from assay.forge import checkpoint
checkpoint.save = lambda *args, **kwargs: os.kill(os.getpid(), signal.SIGKILL)
from assay.cli import app
app(sys.argv[2:], prog_name="assay")
"""


def test_a_run_killed_before_its_first_checkpoint_resumes_from_step_0_with_its_config(ws, capsys) -> None:
    ds = tiny_faces(ws)
    args = ["--workspace", str(ws.root), "forge", "train", "--model", "dcgan", "--data", ds, "--size", "32",
            "--steps", "100000", "--batch", "8", "--name", "early", *CLI_TINY]
    env = {**os.environ, "PYTHONPATH": str(REPO), "HF_HUB_OFFLINE": "1"}
    proc = subprocess.run([sys.executable, "-c", KILLED_BEFORE_CHECKPOINT, str(REPO), *args], capture_output=True,
                          text=True, env=env, cwd=REPO, timeout=300)
    assert proc.returncode == -signal.SIGKILL, proc.stderr[-3000:]
    rec = ws.resolve("early")
    folder = Path(rec.path)
    assert rec.status == "running" and checkpoint.latest(folder) is None and _loss_steps(folder)
    saved = (folder / checkpoint.CONFIG).read_text()
    assert resume(ws, "early", steps=3, progress=False) == rec.id
    assert "stopped before its first checkpoint: starting it again from step 0" in capsys.readouterr().err
    rec = ws.resolve(rec.id)
    assert rec.status == "ready" and rec.params["final_step"] == 3
    assert _loss_steps(folder) == [1, 2, 3]                               # the first attempt's rows are gone
    again = json.loads((folder / checkpoint.CONFIG).read_text())
    first = json.loads(saved)
    assert {k: v for k, v in again.items() if k != "steps"} == {k: v for k, v in first.items() if k != "steps"}
