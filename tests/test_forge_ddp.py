"""torchrun readiness: two gloo processes on the CPU train one run; rank 0 does all the I/O."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

from assay.fileio import read_jsonl
from forge import checkpoint
from forge_helpers import tiny_faces

REPO = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_two_process_gloo_run_under_torchrun(ws) -> None:
    ds = tiny_faces(ws)
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nnodes=1", "--nproc_per_node=2",
           "--master_addr=127.0.0.1", f"--master_port={_free_port()}",
           "-m", "assay", "--workspace", str(ws.root), "forge", "train", "--model", "dcgan", "--data", ds,
           "--size", "32", "--steps", "4", "--batch", "4", "--name", "ddp",
           "--set", "g_ch=4", "--set", "d_ch=4", "--set", "z_dim=16", "--set", "log_every=1",
           "--set", "checkpoint_every=2", "--set", "sample_every=2", "--set", "device=cpu"]
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=170)
    assert proc.returncode == 0, proc.stderr[-3000:]
    runs = ws.catalog.list("runs")
    assert [r.name for r in runs] == ["ddp"] and runs[0].status == "ready"
    assert proc.stdout.split() == [runs[0].id]                      # only rank 0 reports
    folder = Path(runs[0].path)
    rows = [r for r in read_jsonl(folder / "metrics.jsonl") if "d_loss" in r]
    assert [r["step"] for r in rows] == [1, 2, 3, 4]                # one writer, no duplicate lines
    models, optim = checkpoint.load(folder)
    assert optim["step"] == 4 and set(models) == {"G", "D"}
