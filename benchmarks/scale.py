"""Scaling out: the ray engine against the process pool, and the catalog on SQLite and PostgreSQL.

Three parts (``--parts``, default all):

- ``scan``: the same LFW files scanned with the same detector (spectral, fitted for a moment
  on a toy problem as in ``scan_throughput.py``) by the process pool (``--workers``) and by a
  local Ray cluster with as many actors; files/s, the ratio, and the per-file overhead of the
  engine (wall time per file minus the worker time the scan itself measured). Fastest of
  ``--repeat``; the Ray figure does not count the cluster's start.
- ``catalog``: rows inserted in bulk (``Catalog.add_many`` in chunks of 10,000; COPY on
  PostgreSQL) up to each of ``--rows`` (capped by ``--max-rows``), then rates of lookups by
  id (``get``) and by content id (``find``) on 500 random rows; SQLite in a temporary
  folder, PostgreSQL on a throwaway server on the loopback (``tests/pg_server.py``).
- ``journal``: appending (and fsyncing) 3,000 result lines of a real scan result's size to a
  scan journal, as the driver does once per file.
- ``memory``: a Ray scan (not recorded) of ``--memory-files`` tiny PNGs each (16 x 16,
  written once to a temporary folder), each size in a fresh driver process: the driver's
  peak resident memory, and files/s.

    python benchmarks/scale.py [--parts scan,catalog,journal,memory] [--files 200] [--workers 2] [--repeat 2]
        [--rows 1000,100000,1000000] [--max-rows 1000000] [--memory-files 1000,10000,100000]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from assay.core.catalog import Catalog, open_catalog  # noqa: E402
from assay.core.workspace import Workspace  # noqa: E402
from assay.detect import Scan, ScanOptions  # noqa: E402
from benchmarks.scan_throughput import toy_fit  # noqa: E402

LFW = REPO.parent / "shared" / "data" / "lfw"
CHUNK = 10_000
LOOKUPS = 500


@contextlib.contextmanager
def ray_cluster(cpus: int) -> Iterator[str]:
    """A Ray head on the loopback for this process, shut down and its folder removed afterwards; yields its address."""
    import ray

    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    os.environ["PYTHONPATH"] = str(REPO)
    temp = tempfile.mkdtemp(prefix="ray", dir="/tmp")
    ray.init(num_cpus=cpus, include_dashboard=False, _node_ip_address="127.0.0.1", _temp_dir=temp, log_to_driver=False)
    try:
        yield ray.get_runtime_context().gcs_address
    finally:
        ray.shutdown()
        shutil.rmtree(temp, ignore_errors=True)


# -- scan: Ray against the process pool ---------------------------------------------
def _scan(ws: Workspace, det: Any, files: list[Path], options: ScanOptions) -> tuple[float, list[dict[str, Any]]]:
    start = time.perf_counter()
    results = list(Scan(ws, det, options, record=False).run(files))
    return time.perf_counter() - start, results


def bench_scan(args: argparse.Namespace, address: str) -> dict[str, Any]:
    files = sorted(LFW.rglob("*.jpg"))[: args.files]
    ws = Workspace(Path(tempfile.mkdtemp()) / "ws")
    det = toy_fit("spectral", files)
    out: dict[str, Any] = {"files": len(files), "workers": args.workers}
    reference = None
    for engine, options in (("local", ScanOptions(workers=args.workers)),
                            ("ray", ScanOptions(workers=args.workers, engine="ray", address=address))):
        best = min((_scan(ws, det, files, options) for _ in range(args.repeat)), key=lambda r: r[0])
        wall, results = best
        work = sum(r["timing_s"]["total"] for r in results)
        same = [{k: v for k, v in r.items() if k != "timing_s"} for r in results]
        reference = reference or same
        out[engine] = {"wall_s": round(wall, 3), "files_per_s": round(len(files) / wall, 2),
                       "scan_cpu_ms_per_file": round(1000 * work / len(files), 2),
                       "overhead_ms_per_file": round(1000 * (wall * args.workers - work) / len(files), 2),
                       "same_results_as_local": same == reference}
        print(engine, out[engine], flush=True)
    out["ray_over_local"] = round(out["ray"]["files_per_s"] / out["local"]["files_per_s"], 3)
    return out


# -- catalog: insert and lookup rates ------------------------------------------------
def _rates(cat: Catalog, sizes: list[int]) -> list[dict[str, Any]]:
    rows, ids, content = 0, [], []
    out = []
    for size in sizes:
        start = time.perf_counter()
        while rows < size:
            n = min(CHUNK, size - rows)
            batch = [{"params": {"content_id": f"{rows + i:012x}", "labels": ["xmp"]}} for i in range(n)]
            ids += [r.id for r in cat.add_many("provenance", batch)]
            content += [e["params"]["content_id"] for e in batch]
            rows += n
        insert_s = time.perf_counter() - start
        picks = random.Random(size).sample(range(rows), min(LOOKUPS, rows))
        timings = {}
        for name, call in (("get", lambda i: cat.get(ids[i])), ("find", lambda i: cat.find("provenance",
                                                                                            content_id=content[i]))):
            start = time.perf_counter()
            for i in picks:
                assert call(i)
            timings[name] = len(picks) / (time.perf_counter() - start)
        added = size - (out[-1]["rows"] if out else 0)
        out.append({"rows": size, "insert_rows_per_s": round(added / insert_s), "get_per_s": round(timings["get"]),
                    "find_per_s": round(timings["find"])})
        print(out[-1], flush=True)
    return out


def bench_catalog(args: argparse.Namespace) -> dict[str, Any]:
    from tests.helpers.pg_server import PgServer

    sizes = [n for n in map(int, args.rows.split(",")) if n <= args.max_rows]
    out: dict[str, Any] = {"sizes": sizes}
    print("sqlite", flush=True)
    out["sqlite"] = _rates(open_catalog(f"sqlite://{Path(tempfile.mkdtemp()) / 'catalog.sqlite'}"), sizes)
    with PgServer() as pg:
        print("postgresql", flush=True)
        out["postgresql"] = _rates(open_catalog(pg.create_database()), sizes)
    return out


# -- memory of a Ray scan --------------------------------------------------------------
MEMORY_DRIVER = """
import json, resource, sys, time
from pathlib import Path
sys.path.insert(0, sys.argv[4])
import numpy as np
from assay.core.workspace import Workspace
from assay.detect import DETECTORS
from assay.detect import Scan, ScanOptions
folder, count, address = Path(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
files = sorted(folder.iterdir())[:count]
rng = np.random.default_rng(0)
real = [rng.integers(0, 255, (16, 16, 3), dtype=np.uint8) for _ in range(8)]
det = DETECTORS.create("spectral").fit(real + [np.repeat(np.repeat(r[::2, ::2], 2, 0), 2, 1) for r in real],
                                       np.array([0] * 8 + [1] * 8))
ws = Workspace(folder.parent / "ws")
start = time.perf_counter()
done = sum(1 for _ in Scan(ws, det, ScanOptions(engine="ray", address=address), record=False).run(files))
wall = time.perf_counter() - start
print(json.dumps({"files": done, "wall_s": round(wall, 1), "files_per_s": round(done / wall, 1),
                  "driver_peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}))
"""


def bench_memory(args: argparse.Namespace, address: str) -> list[dict[str, Any]]:
    from assay.core.imageio import save

    sizes = list(map(int, args.memory_files.split(",")))
    folder = Path(tempfile.mkdtemp(prefix="assay-mem-")) / "files"
    folder.mkdir()
    rng = np.random.default_rng(0)
    tile = rng.integers(0, 255, (16, 16, 3), dtype=np.uint8)
    for i in range(max(sizes)):
        save(np.roll(tile, i, axis=1), folder / f"{i:07d}.png")
    out = []
    for size in sizes:
        proc = subprocess.run([sys.executable, "-c", MEMORY_DRIVER, str(folder), str(size), address, str(REPO)],
                              capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(REPO)})
        if proc.returncode:
            raise RuntimeError(proc.stderr[-2000:])
        out.append(json.loads(proc.stdout.strip().splitlines()[-1]))
        print(out[-1], flush=True)
    return out


def bench_journal(args: argparse.Namespace) -> dict[str, Any]:
    from assay.core.fileio import append_jsonl

    row = {"schema": "assay.scan.result/1", "path": "/data/uploads/2026/11/30/" + "x" * 40 + ".jpg",
           "regions": [{"box": [10, 20, 110, 120], "probability": 0.25, "flagged": False}] * 2, "pad": "x" * 900}
    journal = Path(tempfile.mkdtemp()) / "results.jsonl"
    start = time.perf_counter()
    for _ in range(3000):
        append_jsonl(journal, row)
    wall = time.perf_counter() - start
    out = {"lines": 3000, "bytes_per_line": len(json.dumps(row)) + 1, "ms_per_line": round(1000 * wall / 3000, 3)}
    print(out, flush=True)
    return out


PARTS: dict[str, Callable[..., Any]] = {"scan": bench_scan, "catalog": bench_catalog, "journal": bench_journal,
                                        "memory": bench_memory}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parts", default="scan,catalog,journal,memory")
    parser.add_argument("--files", type=int, default=200)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--rows", default="1000,100000,1000000")
    parser.add_argument("--max-rows", type=int, default=1_000_000, help="cap on the catalog sizes")
    parser.add_argument("--memory-files", default="1000,10000,100000")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "scale.json")
    args = parser.parse_args()
    parts = args.parts.split(",")
    results: dict[str, Any] = {"machine": {"cpus": os.cpu_count(), "platform": platform.platform(),
                                           "load_avg_start": os.getloadavg()}}
    with ray_cluster(args.workers) if {"scan", "memory"} & set(parts) else contextlib.nullcontext() as address:
        for part in parts:
            start = time.perf_counter()
            results[part] = PARTS[part](args) if part in ("catalog", "journal") else PARTS[part](args, address)
            results[part + "_seconds"] = round(time.perf_counter() - start, 1)
    results["machine"]["load_avg_end"] = os.getloadavg()
    results["machine"]["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    previous = json.loads(args.out.read_text()) if args.out.exists() else {}
    args.out.write_text(json.dumps({**previous, **results}, indent=2) + "\n")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
