"""Throughput of `assay data prepare` on the shared UTKFace and LFW folders at 64 px.

Prints images/s, the CPU time split into decode / detect / align / embed / write, the
face-found rate and identity-cluster statistics per set, and how close two worker
processes get to twice one (wall-clock speed-up, and the cores the run actually got:
CPU seconds of the workers over wall seconds). Writes benchmarks/results/data_prepare.json.

    .venv/bin/python benchmarks/data_prepare.py [--limit 600] [--data ../shared/data]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import tempfile
import time
from collections import Counter
from pathlib import Path

from assay.core.imagesets import open_set
from assay.core.workspace import Workspace
from assay.data import PrepareConfig, prepare

REPO = Path(__file__).resolve().parents[1]


def subset(src: Path, limit: int, into: Path) -> Path:
    """Symlink the first ``limit`` images (sorted) so every run sees the same files."""
    into.mkdir(parents=True)
    for p in sorted(src.glob("*.jpg"))[:limit]:
        os.symlink(p.resolve(), into / p.name)
    return into


def run(src: Path, workers: int, size: int, tmp: Path, tag: str) -> dict:
    ws = Workspace(tmp / f"ws-{tag}")
    cfg = PrepareConfig(size=size, align="dlib", workers=workers)
    t0 = time.perf_counter()
    result = prepare(ws, src, tag, cfg)
    wall = time.perf_counter() - t0
    n = result.kept + result.rejected
    rows = open_set(ws, tag).rows if result.record else []
    clusters = Counter(r.get("identity_cluster") for r in rows if "identity_cluster" in r)
    no_face = sum(1 for r in result.rejects if r["reason"] == "no face found")
    return {
        "files": n, "kept": result.kept, "workers": workers, "wall_s": round(wall, 2),
        "images_per_s": round(n / wall, 2),
        "face_found_rate": round(1 - no_face / max(1, n), 4),
        "stage_cpu_s": {k: round(v, 2) for k, v in result.timings.items()},
        "cores_used": round(sum(result.timings.values()) / wall, 2),
        "stage_ms_per_image": {k: round(1000 * v / max(1, n), 2) for k, v in result.timings.items()},
        "identity_clusters": len(clusters),
        "largest_cluster": max(clusters.values()) if clusters else 0,
        "rejects_by_reason": dict(Counter(r["reason"].split(" of ")[0].split(":")[0] for r in result.rejects)),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    ap.add_argument("--limit", type=int, default=600, help="images per set (0: all)")
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "data_prepare.json")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="assay-bench-"))
    results = {"machine": f"{platform.machine()}, {os.cpu_count()} cores", "load_average_at_start": os.getloadavg(),
               "size": args.size, "limit": args.limit, "sets": {}}
    try:
        for name in ("utkface", "lfw"):
            folder = args.data / name
            limit = args.limit or len(list(folder.glob("*.jpg")))
            src = subset(folder, limit, tmp / f"src-{name}")
            one = run(src, 1, args.size, tmp, f"{name}-1")
            two = run(src, 2, args.size, tmp, f"{name}-2")
            two["speedup_vs_1_worker"] = round(one["wall_s"] / two["wall_s"], 2)
            results["sets"][name] = {"1_worker": one, "2_workers": two}
            print(f"{name}: {two['files']} files, 1 worker {one['images_per_s']} img/s, 2 workers "
                  f"{two['images_per_s']} img/s (x{two['speedup_vs_1_worker']}; cores used {one['cores_used']} vs "
                  f"{two['cores_used']}), face found "
                  f"{two['face_found_rate']:.1%}, CPU ms per image {two['stage_ms_per_image']}, "
                  f"clusters {two['identity_clusters']} (largest {two['largest_cluster']})")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
