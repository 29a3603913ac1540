"""`assay serve` throughput: requests/s and p50/p99 latency at 1, 4 and 16 clients, against the CLI's scan of the
same files on the same cores, in one run; then a soak of many requests watching the workers' memory.

A spectral detector (``--model npr``: a small CNN, one epoch) is trained for a moment on LFW crops vs their
nearest-neighbour 2x up-sampled halves (throughput does not depend on what it learned). The same LFW JPEGs are then scanned
  - by the library's scan (what `assay detect scan -j W` runs, without its start-up: the face finder loaded
    before the pool forks), and by the CLI itself (a subprocess, start-up included), each once before and once
    after the services (the machine may be shared: the ratios are to the mean of the two);
  - through the service started by `python -m assay serve --workers W --batch B` (one service per ``--batch``
    value: batched and one upload at a time), by 1, 4 and 16 client threads in this process, each file once per
    level; every answer is checked against the library's result for its file (a lost or mixed result, or a soak
    error, ends the run with status 1 after the figures are written).
The soak sends ``--soak`` requests from 4 clients to the first service and reads its processes' resident memory
(VmRSS) as it goes.

    python benchmarks/serve.py [--files 100] [--workers 2] [--serve-workers 0] [--batch 8,1] [--soak 10000]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from assay.core.imageio import decode  # noqa: E402
from assay.core.imagesets import ImageSetWriter  # noqa: E402
from assay.core.workspace import Workspace  # noqa: E402
from assay.detect import DetectTrainConfig, scan_paths, train  # noqa: E402
from assay.serve import Client, TokenStore  # noqa: E402

#: --model -> the detector's options: spectral is fitted in a moment; npr, a small CNN for one epoch, shows
#: what batching does where a forward pass costs more than the rest of a request
MODELS = {"spectral": {}, "npr": {"tile": 64, "epochs": 1, "batch_size": 16, "width": 16, "max_tiles": 4}}


#: a result is the file's own when its probability is the library's to this (a CNN's batched forward pass may
#: differ from a single one in float32's last bits; a mixed-up result differs by far more)
SAME = 1e-6


def toy_detector(ws: Workspace, files: list[Path], model: str) -> str:
    """A ``model`` detector trained on 40 LFW crops vs their up-sampled halves; its catalog id."""
    real, fake = ImageSetWriter(ws, "datasets", "bench-real"), ImageSetWriter(ws, "samples", "bench-fake")
    for i, path in enumerate(files[:40]):
        img = decode(path)[61:189, 61:189]
        split = "train" if i % 10 < 6 else "val" if i % 10 < 8 else "test"
        real.add(img, {"label": "real", "split": split, "identity": f"p{i}", "source": path.name})
        fake.add(np.repeat(np.repeat(img[::2, ::2], 2, 0), 2, 1), {"label": "synthetic", "split": split,
                                                                     "family": "nearest", "seed": i})
    record, _ = train(ws, DetectTrainConfig(model=model, options=MODELS[model]), [real.commit({}).id],
                      [fake.commit({}).id], name=f"bench-{model}")
    return record.id


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def descendants(pid: int) -> list[int]:
    """``pid`` and every process below it (uvicorn's workers are children of the `assay serve` process)."""
    parents: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = [], [pid]
    while todo:
        p = todo.pop()
        found.append(p)
        todo += parents.get(p, [])
    return found


def rss_mib(root_pid: int) -> dict[int, float]:
    """Resident memory of the server's processes (the process and all below it), MiB, by pid."""
    out = {}
    for pid in descendants(root_pid):
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        kb = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:"))
        out[pid] = round(kb / 1024, 1)
    return out


def ask_all(client: Client, files: list[Path], clients: int, expected: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Every file once, from ``clients`` threads; latency per request; each answer checked against ``expected``."""
    def one(path: Path) -> tuple[float, bool]:
        t0 = time.perf_counter()
        result = client.scan(path)
        ok = (result["path"] == path.name and result["status"] == "ok"
              and abs(result["probability"] - expected[path.name]["probability"]) < SAME)
        return time.perf_counter() - t0, ok

    start = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        answers = list(pool.map(one, files))
    wall = time.perf_counter() - start
    lat = np.array([a[0] for a in answers])
    return {"clients": clients, "requests": len(answers), "wrong_or_mixed": sum(not a[1] for a in answers),
            "wall_s": round(wall, 3), "requests_per_s": round(len(answers) / wall, 2),
            "p50_ms": round(float(np.percentile(lat, 50)) * 1000, 1),
            "p99_ms": round(float(np.percentile(lat, 99)) * 1000, 1)}


def soak(client: Client, files: list[Path], n: int, pid: int) -> dict[str, Any]:
    """``n`` requests from 4 clients, cycling through ``files``; the workers' memory every tenth of the way."""
    memory, errors, done = [], 0, 0
    step = max(1, n // 10)
    with ThreadPoolExecutor(4) as pool:
        while done < n:
            batch = [files[(done + k) % len(files)] for k in range(min(step, n - done))]
            for result in pool.map(lambda p: client.scan(p), batch):
                errors += result["status"] != "ok"
            done += len(batch)
            rss = rss_mib(pid)
            memory.append({"requests": done, "rss_mib": round(sum(rss.values()), 1), "processes": len(rss)})
            print(f"soak: {done}/{n} requests, server RSS {memory[-1]['rss_mib']} MiB", file=sys.stderr, flush=True)
    first, last = memory[0]["rss_mib"], memory[-1]["rss_mib"]
    return {"requests": n, "errors": errors, "rss_mib": memory, "growth_mib_after_first_tenth": round(last - first, 1)}


def service_run(ws: Workspace, tokens: Path, token: str, files: list[Path], expected: dict[str, dict[str, Any]],
                workers: int, batch: int, soak_n: int) -> dict[str, Any]:
    """`python -m assay serve --workers W --batch B` on a free port: every file at 1, 4 and 16 clients, then the
    soak (``soak_n`` requests, none for 0); the batch sizes the service reported; then SIGTERM."""
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "assay", "-w", str(ws.root), "serve", "--port", str(port),
                               "--workers", str(workers), "--batch", str(batch), "--tokens", str(tokens),
                               "--queue", "64", "--access-log", os.devnull], env={**os.environ, "PYTHONPATH": str(REPO)},
                              stderr=subprocess.DEVNULL, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):
            try:
                urllib.request.urlopen(f"{url}/healthz", timeout=5).read()
                break
            except OSError:
                time.sleep(0.2)
        client = Client(url, token=token)
        ask_all(client, files[: 2 * max(1, workers)], 2 * max(1, workers), expected)  # every worker warm
        levels = [ask_all(client, files, n, expected) for n in (1, 4, 16)]
        memory = soak(client, files, soak_n, server.pid) if soak_n else None
        text = client.metrics()
        batches = {name: sum(float(line.split()[-1]) for line in text.splitlines() if line.split(" ")[0] == name)
                   for name in ("assay_serve_batch_files_count", "assay_serve_batch_files_sum")}
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=120)
    count, total = batches["assay_serve_batch_files_count"], batches["assay_serve_batch_files_sum"]
    return {"workers": workers, "batch": batch, "levels": levels, "soak": memory,
            "mean_batch_files": round(total / count, 2) if count else None}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=Path(os.environ.get("ASSAY_SHARED_DATA", REPO.parent / "shared" / "data")) / "lfw")
    ap.add_argument("--files", type=int, default=100)
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="CLI -j and the service's --workers")
    ap.add_argument("--serve-workers", type=int, default=None,
                    help="the service's --workers [default: --workers; 0: in the serve process]")
    ap.add_argument("--batch", type=lambda v: [int(x) for x in v.split(",")], default=[8, 1],
                    help="the service's --batch, one service run each (comma-separated; the first gets the soak)")
    ap.add_argument("--model", choices=sorted(MODELS), default="spectral", help="the detector's kind")
    ap.add_argument("--soak", type=int, default=0, help="requests in the memory soak (0: none)")
    ap.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "serve.json")
    args = ap.parse_args()
    args.serve_workers = args.workers if args.serve_workers is None else args.serve_workers
    files = sorted(args.data.glob("*.jpg"))[: args.files]
    if not files:
        sys.exit(f"no JPEGs under {args.data}")
    with tempfile.TemporaryDirectory(prefix="bench-serve-") as tmp:
        ws = Workspace(Path(tmp) / "ws")
        detector = toy_detector(ws, files, args.model)
        list(scan_paths(ws, files[:1], detector, record=False, workers=1))  # face finder loaded: forked workers inherit it
        def library_scan() -> tuple[float, dict[str, dict[str, Any]]]:
            start = time.perf_counter()
            results = {Path(r["path"]).name: r for r in scan_paths(ws, files, detector, record=False,
                                                                   workers=args.workers)}
            return time.perf_counter() - start, results

        def cli_scan() -> float:
            start = time.perf_counter()
            subprocess.run([sys.executable, "-m", "assay", "-w", str(ws.root), "detect", "scan", *map(str, files),
                            "-d", detector, "-j", str(args.workers), "-f", "jsonl", "-o", str(Path(tmp) / "cli.jsonl")],
                           env={**os.environ, "PYTHONPATH": str(REPO)}, check=False, stderr=subprocess.DEVNULL)
            return time.perf_counter() - start

        load_start = os.getloadavg()
        library_s, expected = library_scan()
        cli_s = [cli_scan()]
        token = TokenStore(Path(tmp) / "tokens.json").add("bench", rate_per_min=1e9)
        services = [service_run(ws, Path(tmp) / "tokens.json", token, files, expected, args.serve_workers, batch,
                                args.soak if k == 0 else 0) for k, batch in enumerate(args.batch)]
        library_after_s, _ = library_scan()  # the references again after the services: the machine is shared
        cli_s.append(cli_scan())
    library_rates = [round(len(files) / t, 2) for t in (library_s, library_after_s)]
    cli_rates = [round(len(files) / t, 2) for t in cli_s]
    library_fps, cli_fps = float(np.mean(library_rates)), float(np.mean(cli_rates))
    for service in services:
        for level in service["levels"]:
            level["vs_library_scan"] = round(level["requests_per_s"] / library_fps, 3)
            level["vs_cli_scan"] = round(level["requests_per_s"] / cli_fps, 3)
    out = {"files": len(files), "data": str(args.data), "workers": args.workers, "detector": args.model,
           "library_scan_files_per_s": round(library_fps, 2), "library_scan_before_after": library_rates,
           "cli_scan_files_per_s": round(cli_fps, 2), "cli_scan_before_after": cli_rates, "services": services,
           "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version(),
                       "load_average_start": load_start, "load_average_end": os.getloadavg()}}
    print(json.dumps(out, indent=2))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=2) + "\n")
    wrong = sum(level["wrong_or_mixed"] for service in services for level in service["levels"])
    errors = sum(service["soak"]["errors"] for service in services if service["soak"])
    if wrong or errors:
        sys.exit(f"{wrong} lost or mixed results, {errors} soak errors")


if __name__ == "__main__":
    main()
