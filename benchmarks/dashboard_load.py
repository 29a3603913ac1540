"""Dashboard page loads on a large workspace: 100,000 provenance records and 50 forge runs.

Builds the workspace with the catalog's own functions (runs with a 500-row metrics.jsonl each,
provenance rows shaped like the birth stamper's), then renders every page with Streamlit's
AppTest (the app's script run, server side, without a browser): cold (caches cleared) and
warm (cached reads; the median of ``--repeat`` runs), and turns the provenance table to its
last page. Writes ``benchmarks/results/dashboard_load.json``.

    python benchmarks/dashboard_load.py [--records 100000] [--runs 50] [--repeat 3] [--workspace DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from assay.core.fileio import atomic_write_jsonl  # noqa: E402
from assay.core.workspace import Workspace  # noqa: E402

PAGES = ("overview", "data", "forge", "detect", "scan", "provenance")
CHUNK = 10_000


def build(root: Path, records: int, runs: int) -> Workspace:
    """A workspace with ``runs`` finished runs (metrics only, no weights) and ``records`` provenance rows."""
    ws = Workspace(root)
    if ws.catalog.count("provenance") >= records and ws.catalog.count("runs") >= runs:
        return ws
    run_ids = []
    for r in range(runs):
        folder = root / "runs" / f"bench-{r:03d}"
        atomic_write_jsonl(folder / "metrics.jsonl",
                           [{"step": s * 10, "d_loss": 1.0 / (1 + s), "g_loss": 2.0 + (s % 7) / 10,
                             "images_per_s": 300.0 + r} for s in range(500)])
        rec = ws.catalog.add("runs", f"bench-run-{r:03d}", {"model": "dcgan", "size": 64, "final_step": 5000,
                                                            "ema": 0.999 if r % 2 else 0.0}, path=folder)
        run_ids.append(rec.id)
    for start in range(0, records, CHUNK):
        rows = [{"params": {"content_id": f"{i:08x}", "source_type": "created", "format": "png", "image_size": [64, 64],
                        "labels": ["visible", "watermark", "xmp", "c2pa"],
                        "generator": {"family": "dcgan", "run_id": run_ids[i % runs], "seed": 0, "latent_index": i},
                        "watermark": {"status": "embedded", "method": "ssgrid"}}}
                for i in range(start, min(records, start + CHUNK))]
        ws.catalog.add_many("provenance", rows)
    return ws


def timed(fn: Callable[[], Any]) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def render_page(name: str) -> None:
    from assay.dashboard import PAGES as APP_PAGES

    dict((path, render) for _, path, _, render in APP_PAGES)[name]()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--records", type=int, default=100_000)
    ap.add_argument("--runs", type=int, default=50)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--workspace", type=Path, default=None, help="reuse or keep the built workspace here")
    args = ap.parse_args()

    import streamlit as st
    from streamlit.testing.v1 import AppTest

    root = args.workspace or Path(tempfile.mkdtemp(prefix="assay-dashboard-bench-")) / "ws"
    t0 = time.perf_counter()
    ws = build(root, args.records, args.runs)
    build_s = time.perf_counter() - t0
    os.environ["ASSAY_WORKSPACE"] = str(root)

    def checked(at: AppTest) -> AppTest:
        if at.exception:
            raise SystemExit(f"page failed: {at.exception[0].value}")
        return at

    def page(name: str) -> AppTest:
        return AppTest.from_function(render_page, args=(name,), default_timeout=600)

    checked(page("overview").run())  # imports the app's modules once: cold runs time the reads, not imports
    results: dict[str, Any] = {}
    for name in PAGES:
        st.cache_data.clear()
        st.cache_resource.clear()
        at = page(name)
        cold = timed(lambda: checked(at.run()))
        warm = statistics.median(timed(lambda: checked(at.run())) for _ in range(args.repeat))
        results[name] = {"cold_s": round(cold, 3), "warm_s": round(warm, 3)}
        print(f"{name:11s} cold {cold:6.3f} s   warm {warm:6.3f} s", flush=True)

    at = checked(page("provenance").run())
    last = int(at.number_input(key="prov-records-page-50").max)
    flips = [timed(lambda: checked(at.number_input(key="prov-records-page-50").set_value(last - k).run()))
             for k in range(args.repeat)]  # a different page each time: uncached reads deep into the table
    results["provenance_last_pages"] = {"pages": [last - k for k in range(args.repeat)],
                                        "median_s": round(statistics.median(flips), 3)}
    print(f"provenance table, pages {last - args.repeat + 1:,}-{last:,}: median {statistics.median(flips):.3f} s",
          flush=True)

    out = {"records": ws.catalog.count("provenance"), "runs": ws.catalog.count("runs"), "build_s": round(build_s, 1),
           "repeat": args.repeat, "pages": results, "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0],
                                                                 "platform": platform.platform(),
                                                                 "load_avg": os.getloadavg()}}
    path = REPO / "benchmarks" / "results" / "dashboard_load.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(out, indent=2))
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
