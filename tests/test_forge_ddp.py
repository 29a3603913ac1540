"""torchrun readiness: two gloo processes on the CPU train one run; rank 0 does all the I/O.

Nothing here may depend on the machine being quiet: torchrun picks its own free port (no port
chosen here that another process could take first), rendezvous and store reads wait up to 10
minutes, and the tests only bound the whole run generously against a hang."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

from assay.core.fileio import read_jsonl
from assay.forge import checkpoint
from tests.helpers.faces import tiny_faces

REPO = Path(__file__).resolve().parents[1]
TORCHRUN = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--local-addr=127.0.0.1",
            "--nproc_per_node=2", "--rdzv-conf=join_timeout=600,read_timeout=600"]
#: a bound against a hang, not a speed expectation: two ranks start torch on a busy 2-core machine
HANG = 900
#: tries at a free rendezvous port for the two-node test (see there)
PORT_TRIES = 3


def test_two_process_gloo_run_under_torchrun(ws) -> None:
    ds = tiny_faces(ws)
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"}
    cmd = [*TORCHRUN, "-m", "assay", "--workspace", str(ws.root), "forge", "train", "--model", "dcgan", "--data", ds,
           "--size", "32", "--steps", "4", "--batch", "4", "--name", "ddp",
           "--set", "g_ch=4", "--set", "d_ch=4", "--set", "z_dim=16", "--set", "log_every=1",
           "--set", "checkpoint_every=2", "--set", "sample_every=2", "--set", "device=cpu"]
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=HANG)
    assert proc.returncode == 0, proc.stderr[-3000:]
    runs = ws.catalog.list("runs")
    assert [r.name for r in runs] == ["ddp"] and runs[0].status == "ready"
    assert proc.stdout.split() == [runs[0].id]                      # only rank 0 reports
    folder = Path(runs[0].path)
    rows = [r for r in read_jsonl(folder / "metrics.jsonl") if "d_loss" in r]
    assert [r["step"] for r in rows] == [1, 2, 3, 4]                # one writer, no duplicate lines
    models, optim = checkpoint.load(folder)
    assert optim["step"] == 4 and set(models) == {"G", "D"}


RANK_SCRIPT = r'''
import gc, sys, torch, torch.distributed as dist
sys.path.insert(0, sys.argv[2])
from assay.core.imagesets import open_set
from assay.core.workspace import Workspace
from assay.forge.config import make_config
from assay.forge.data import FaceBatches
from assay.core.devices import setup, teardown
from assay.forge.training import GANTrainer


def main():
    d = setup(torch.device("cpu"))
    cfg = make_config("dcgan", 32, batch=4, g_ch=4, d_ch=4, z_dim=16, device="cpu")
    data = FaceBatches(open_set(Workspace(sys.argv[1]), "tiny"), 32)
    t = GANTrainer(cfg, dist=d)
    first = data.indices(cfg.seed, 0, cfg.batch, d.rank, d.world)
    for _ in range(3):
        t.train_step(data)
    flat = torch.cat([p.detach().flatten() for p in [*t.g_net.parameters(), *t.d_net.parameters()]])
    got = [torch.zeros_like(flat) for _ in range(d.world)]
    dist.all_gather(got, flat)
    idx = [torch.zeros_like(first) for _ in range(d.world)]
    dist.all_gather(idx, first)
    if d.rank == 0:
        print("SAME_WEIGHTS", all(torch.equal(got[0], g) for g in got[1:]))
        print("DISJOINT_DATA", not set(idx[0].tolist()) & set(idx[1].tolist()))
        print("WRAPPED", type(t.D).__name__)


# as forge train does: the trainer (and its DDP reducer) is gone before the group is left, not
# destroyed during interpreter shutdown, where gloo's pending work can abort the process
main()
gc.collect()
teardown()
'''


def test_ranks_stay_in_sync_on_different_data(ws, tmp_path: Path) -> None:
    tiny_faces(ws, "tiny")
    script = tmp_path / "rank.py"
    script.write_text(RANK_SCRIPT)
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    cmd = [*TORCHRUN, str(script), str(ws.root), str(REPO)]
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=HANG)
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = proc.stdout.split("\n")
    assert "SAME_WEIGHTS True" in lines and "DISJOINT_DATA True" in lines
    assert "WRAPPED DistributedDataParallel" in lines


def test_two_nodes_on_the_loopback_then_resume_on_one_process(ws) -> None:
    """Two torchrun agents (one process each, as two machines would run them) meet at a c10d
    rendezvous endpoint; rank 0 alone writes; the run then resumes at world size 1."""
    ds = tiny_faces(ws)
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1",
           "GLOO_SOCKET_IFNAME": "lo"}
    train = ["-m", "assay", "--workspace", str(ws.root), "forge", "train", "--model", "dcgan", "--data", ds,
             "--size", "32", "--steps", "4", "--batch", "4", "--name", "nodes",
             "--set", "g_ch=4", "--set", "d_ch=4", "--set", "z_dim=16", "--set", "log_every=1",
             "--set", "checkpoint_every=2", "--set", "sample_every=2", "--set", "device=cpu"]
    for _ in range(PORT_TRIES):  # two agents must share the endpoint: a port taken first by another process
        with socket.socket() as probe:  # fails the rendezvous before any training, and the next try takes another
            probe.bind(("127.0.0.1", 0))
            endpoint = f"127.0.0.1:{probe.getsockname()[1]}"
        agents = [subprocess.Popen([sys.executable, "-m", "torch.distributed.run", "--nnodes=2", "--nproc_per_node=1",
                                    "--rdzv_backend=c10d", f"--rdzv_endpoint={endpoint}", "--rdzv_id=assay-test",
                                    "--local_addr=127.0.0.1", "--rdzv-conf=join_timeout=600,read_timeout=600", *train],
                                   cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                  for _ in range(2)]
        outs = [agent.communicate(timeout=HANG) for agent in agents]
        if all(a.returncode == 0 for a in agents) or ws.catalog.list("runs"):
            break
    assert all(a.returncode == 0 for a in agents), [err[-3000:] for _, err in outs]
    [run] = ws.catalog.list("runs")
    assert run.status == "ready" and sorted(out.split() for out, _ in outs) == [[], [run.id]]  # one rank reports
    folder = Path(run.path)
    assert [r["step"] for r in read_jsonl(folder / "metrics.jsonl") if "d_loss" in r] == [1, 2, 3, 4]
    assert checkpoint.latest(folder)["step"] == 4
    resumed = subprocess.run([sys.executable, *train[:train.index("--model")], "--resume", "nodes", "--steps", "6"],
                             cwd=REPO, env=env, capture_output=True, text=True, timeout=HANG)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert ws.resolve("nodes", "runs").status == "ready"
    assert [r["step"] for r in read_jsonl(folder / "metrics.jsonl") if "d_loss" in r] == [1, 2, 3, 4, 5, 6]
    models, optim = checkpoint.load(folder)
    assert optim["step"] == 6 and set(models) == {"G", "D"}
