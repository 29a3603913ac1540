"""Sample quality of forge families under the same wall-clock training budget, with the reference rows.

By default StyleGAN 2 against DCGAN at 20 minutes each (``--families``, ``--budget-s``; any family
registered in ``forge.families.FAMILIES`` can be named). The data is real UTKFace, read by path from
``$ASSAY_SHARED_DATA/utkface`` (default ``../shared/data`` beside the checkout; the script stops when it is
absent): the first ``--images`` files, linked (not copied) into a temporary folder and prepared as
``assay data prepare SRC --size 64 --align none --layout utkface --no-embed`` prepares them (labels from the file
names, byte-identical duplicates dropped, the 0.8/0.1/0.1 split). Each family trains on that set at 64 px under
the loop's own wall-clock budget (``time_budget``, ``--budget-s`` seconds); the steps it reached and the training
time are reported. Widths are matched: ``--width`` channels for the classic families, the same at 64 px for
StyleGAN (``width`` = channels / 256). Then ``forge.evaluate.evaluate`` measures each run with every default
metric on ``--n`` samples against ``--n`` training images, beside the real-vs-real and degenerate rows (the same
for every family), and the cost of each metric per 1,000 images (features and math, measured on the generator
rows). FD-dlib is the Frechet distance in dlib's 128-d face-embedding space, not FID. One sample grid per family
goes to ``benchmarks/figures/``.

    .venv/bin/python benchmarks/forge_quality.py                                  # stylegan2 vs dcgan, 2 x 20 min + eval
    .venv/bin/python benchmarks/forge_quality.py --budget-s 300                   # a shorter budget on a shared CPU
    .venv/bin/python benchmarks/forge_quality.py --families "$(python -c 'from assay.forge import FAMILIES; print(",".join(FAMILIES.names()))')"
    .venv/bin/python benchmarks/forge_quality.py --device cuda --budget-s 300 --n 2000 --images 9780 --width 64
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
UTKFACE = Path(os.environ.get("ASSAY_SHARED_DATA", REPO.parent / "shared" / "data")) / "utkface"

import torch  # noqa: E402

from assay.core.workspace import Workspace  # noqa: E402
from assay.data import PrepareConfig, prepare  # noqa: E402
from assay.forge import (
    DEFAULT_METRICS,  # noqa: E402
    FAMILIES,  # noqa: E402
    evaluate,  # noqa: E402
    make_config,  # noqa: E402
    train,  # noqa: E402
)

COLUMNS = ("fd_dlib", "kid_dlib", "precision_dlib", "recall_dlib", "density_dlib", "coverage_dlib", "swd",
           "face_rate", "leakage")


def prepared_utkface(ws: Workspace, images: int, links: Path) -> tuple[str, str]:
    """(set id, source) of the first ``images`` UTKFace files prepared by ``assay data prepare``'s own function."""
    files = sorted(UTKFACE.glob("*.jpg"))[:images]
    if not files:
        raise SystemExit(f"UTKFace not found under {UTKFACE} (set ASSAY_SHARED_DATA to the shared data folder)")
    links.mkdir()
    for f in files:
        (links / f.name).symlink_to(f)
    cfg = PrepareConfig(size=64, align="none", layout="utkface", embed=False, workers=1)
    result = prepare(ws, links, "utk64", cfg)
    split = result.record.params.get("splits")
    return result.record.id, f"UTKFace {UTKFACE} (first {len(files)} files; {result.kept} kept, {result.rejected} " \
                              f"rejected; splits {split})"


def settings(args: argparse.Namespace) -> dict:
    return dict(batch=args.batch, g_ch=args.width, d_ch=args.width, width=args.width / 256, device=args.device,
                threads=str(args.threads), time_budget=f"{args.budget_s}s")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--budget-s", type=float, default=1200, help="training wall-clock seconds per family")
    p.add_argument("--n", type=int, default=200, help="images per eval row")
    p.add_argument("--images", type=int, default=1000, help="UTKFace files prepared (the first ones by name)")
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--width", type=int, default=32, help="g_ch and d_ch")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--device", default="cpu")
    p.add_argument("--families", default="stylegan2,dcgan", help="comma-separated FAMILIES names")
    p.add_argument("--out", default=str(REPO / "benchmarks" / "results" / "forge_quality.json"))
    p.add_argument("--figures", default=str(REPO / "benchmarks" / "figures"))
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    figures = Path(args.figures)
    figures.mkdir(parents=True, exist_ok=True)
    results, refs = [], {}
    with tempfile.TemporaryDirectory() as tmp:
        ws = Workspace(tmp)
        dataset, source = prepared_utkface(ws, args.images, Path(tmp) / "utkface")
        print(f"data: {source}", flush=True)
        families = [FAMILIES.get(f) and f for f in args.families.split(",")]   # unknown names fail before any training
        for fam in families:
            cfg = make_config(fam, 64, steps=10**7, checkpoint_every=10**7, sample_every=10**7, **settings(args))
            start = time.perf_counter()
            run = train(ws, dataset, cfg, progress=False,  # UTKFace carries no consent records
                        no_consent_records="sample-quality benchmark in a temporary workspace, nothing published")
            trained_s = time.perf_counter() - start
            steps = ws.resolve(run).params["final_step"]
            rows = evaluate(ws, run, n=args.n, metrics=DEFAULT_METRICS, device=args.device, progress=False)
            gen = rows[0]
            refs = {r["subject"]: r["metrics"] for r in rows[1:]}
            run_dir = Path(ws.resolve(run).path)
            shutil.copy(run_dir / "eval" / f"grid-step-{steps:07d}.png", figures / f"forge_quality_{args.budget_s:.0f}s_{fam}.png")
            res = {"family": fam, "steps": steps, "train_s": trained_s, "step_s": trained_s / max(1, steps),
                   "metrics": {k: v for k, v in gen["metrics"].items() if k != "leakage_worst"},
                   "leakage_worst": gen["metrics"]["leakage_worst"][:3], "seconds": gen["seconds"], "n": gen["n"]}
            results.append(res)
            print(f"{fam:8s} {steps:5d} steps in {trained_s:5.0f} s  " +
                  "  ".join(f"{k} {res['metrics'][k]:.4g}" for k in COLUMNS), flush=True)
        versions = gen["versions"]
    for label, m in refs.items():
        print(f"{label:12s} " + "  ".join(f"{k} {m[k]:.4g}" for k in COLUMNS))
    n = results[0]["n"]
    cost = {k: sum(r["seconds"][k] for r in results) / len(results) / n * 1000 for k in results[0]["seconds"]}
    print("FD-dlib is the Frechet distance in dlib's 128-d face-embedding space (not FID: no Inception weights)")
    print("seconds per 1,000 images: " + ", ".join(f"{k} {v:.1f}" for k, v in cost.items()))
    report = {"benchmark": "forge_quality", "budget_s": args.budget_s, "n": n, "size": 64, "batch": args.batch,
              "width": args.width, "threads": args.threads, "device": args.device, "data": source,
              "machine": platform.platform(), "cpus": os.cpu_count(), "load_average": os.getloadavg(),
              "versions": versions, "families": results, "references": refs, "cost_per_1000": cost}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=2, default=str) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
