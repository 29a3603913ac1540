"""Catalog lookups at 1,000 and 100,000 provenance records: content id, verify, scan.

A few LFW photos are stamped with every label (C2PA signed with the workspace's dev keys)
into one workspace; then filler provenance records (the stamped records' parameters with
fresh ids and hashes) are added in bulk up to each size. At each size the script times
the content-id lookup (``provenance.stamp.find_by_content_id``), the same lookup done the
old way (decode every provenance row and compare), ``provenance.verify.verify_file`` per
file and ``assay detect scan`` per file (the spectral detector, fitted for a moment on a
toy problem, as in ``scan_throughput.py``; one process). Each size has its own copy of the
workspace; the sizes take turns for ``--repeat`` rounds and each figure is the median round,
so that other work on a shared machine weighs on both sizes alike.

    python benchmarks/catalog_lookup.py [--files 8] [--sizes 1000,100000] [--repeat 7]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from assay.core.workspace import Workspace  # noqa: E402
from assay.detect import scan_paths  # noqa: E402
from assay.provenance import (  # noqa: E402
    ensure_keys,
    find_by_content_id,  # noqa: E402
    random_content_id,  # noqa: E402
    stamp_file,  # noqa: E402
    verify_file,  # noqa: E402
    workspace_trust_anchors,
)
from benchmarks.scan_throughput import toy_fit  # noqa: E402

#: records added per bulk insert
CHUNK = 10_000


def timed(fn: Callable[[], Any]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def filler_ids(count: int, taken: set[str]) -> list[str]:
    """``count`` random content ids, none of them in ``taken`` (32-bit ids do meet at 100,000)."""
    ids: list[str] = []
    while len(ids) < count:
        cid = random_content_id()
        if cid not in taken:
            ids.append(cid)
    return ids


def fill(ws: Workspace, template: dict[str, Any], content_ids: list[str]) -> float:
    """Add a filler provenance record per content id; returns the seconds it took."""
    start = time.perf_counter()
    for first in range(0, len(content_ids), CHUNK):
        ws.catalog.add_many("provenance", [
            {"params": {**template, "content_id": cid, "pixel_sha256": os.urandom(32).hex(),
                        "file_sha256": os.urandom(32).hex()}}
            for cid in content_ids[first:first + CHUNK]])
    return time.perf_counter() - start


def old_lookup(ws: Workspace, content_id: str) -> list[dict[str, Any]]:
    """The lookup before the parameter index: decode every provenance row and compare."""
    return [r.to_dict() for r in ws.catalog.list("provenance") if r.params.get("content_id") == content_id]


def check(ws: Workspace, stamped: list[tuple[Path, str]], detector: Any) -> None:
    """Each stamped file is found by its content id, by verify and by a scan (and the first calls warm up)."""
    anchors = workspace_trust_anchors(ws)
    paths = [p for p, _ in stamped]
    assert all(len(find_by_content_id(ws, cid)) == 1 for _, cid in stamped)
    assert all(verify_file(p, ws, anchors)["checks"]["soft_binding"]["status"] == "pass" for p in paths)
    assert all(r["provenance"]["record_id"] for r in scan_paths(ws, paths, detector=detector, record=False, workers=1))


def one_round(ws: Workspace, stamped: list[tuple[Path, str]], detector: Any) -> dict[str, float]:
    """Seconds per call: content-id lookup (20 passes over the ids), verify and scan (per file)."""
    anchors = workspace_trust_anchors(ws)
    paths = [p for p, _ in stamped]
    n = len(stamped)
    return {
        "lookup": timed(lambda: [find_by_content_id(ws, cid) for _ in range(20) for _, cid in stamped]) / (20 * n),
        "verify": timed(lambda: [verify_file(p, ws, anchors) for p in paths]) / n,
        "scan": timed(lambda: list(scan_paths(ws, paths, detector=detector, record=False, workers=1))) / n,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data" / "lfw")
    ap.add_argument("--files", type=int, default=8)
    ap.add_argument("--sizes", default="1000,100000", help="provenance records in the catalog, ascending")
    ap.add_argument("--repeat", type=int, default=7, help="rounds of lookup, verify and scan timings per size")
    ap.add_argument("--old-repeat", type=int, default=3, help="timings of the old full-decode lookup per size")
    ap.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "catalog_lookup.json")
    args = ap.parse_args()

    sources = sorted(args.data.glob("*.jpg"))[: args.files]
    if not sources:
        sys.exit(f"no JPEGs under {args.data}")
    sizes = sorted(int(s) for s in args.sizes.split(","))
    report: dict[str, Any] = {
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count(), "python": platform.python_version(),
                    "sqlite": sqlite3.sqlite_version, "load_average_start": os.getloadavg()},
        "data": str(args.data), "files": len(sources), "repeat": args.repeat, "old_repeat": args.old_repeat,
        "sizes": {},
    }
    with tempfile.TemporaryDirectory() as tmp:
        base = Workspace(Path(tmp) / "base")
        identity = ensure_keys(base)
        stamped = []
        for src in sources:
            out = Path(tmp) / "stamped" / f"{src.stem}.png"
            result, _ = stamp_file(src, out, identity, ws=base)
            stamped.append((out, result.content_id))
        template = base.catalog.find("provenance", content_id=stamped[0][1])[0].params
        detector = toy_fit("spectral", sources)
        spaces = {}
        for size in sizes:  # a copy of the stamped workspace per size, filled up to the size
            shutil.copytree(base.root, Path(tmp) / str(size))
            spaces[size] = Workspace(Path(tmp) / str(size))
            insert_s = fill(spaces[size], template, filler_ids(size - len(stamped), {cid for _, cid in stamped}))
            check(spaces[size], stamped, detector)
            report["sizes"][str(size)] = {"records": len(spaces[size].catalog.list("provenance")),
                                          "bulk_insert_s": round(insert_s, 2)}
        rounds: dict[int, list[dict[str, float]]] = {size: [] for size in sizes}
        for _ in range(args.repeat):  # sizes take turns, so that other work on the machine slows both alike
            for size in sizes:
                rounds[size].append(one_round(spaces[size], stamped, detector))
        for size in sizes:
            ws, row = spaces[size], report["sizes"][str(size)]
            med = {k: statistics.median(r[k] for r in rounds[size]) for k in rounds[size][0]}
            old = statistics.median(timed(lambda: old_lookup(ws, stamped[0][1])) for _ in range(args.old_repeat))
            row.update({"lookup_ms": round(med["lookup"] * 1e3, 4), "old_full_decode_lookup_ms": round(old * 1e3, 2),
                        "old_vs_indexed": round(old / med["lookup"], 1),
                        "verify_ms_per_file": round(med["verify"] * 1e3, 2),
                        "scan_ms_per_file": round(med["scan"] * 1e3, 2)})
            print(f"{row['records']:>7} records: lookup {row['lookup_ms']:.3f} ms (old full decode "
                  f"{row['old_full_decode_lookup_ms']:.1f} ms, x{row['old_vs_indexed']}), verify "
                  f"{row['verify_ms_per_file']:.1f} ms/file, scan {row['scan_ms_per_file']:.1f} ms/file "
                  f"(bulk insert {row['bulk_insert_s']:.2f} s)")
    small, large = (report["sizes"][str(s)] for s in (sizes[0], sizes[-1]))
    report["ratio_largest_vs_smallest"] = {k: round(large[k] / small[k], 3) for k in (
        "lookup_ms", "old_full_decode_lookup_ms", "verify_ms_per_file", "scan_ms_per_file")}
    report["machine"]["load_average_end"] = os.getloadavg()
    print(f"{sizes[-1]} vs {sizes[0]} records: " + ", ".join(
        f"{k} x{v}" for k, v in report["ratio_largest_vs_smallest"].items()))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
