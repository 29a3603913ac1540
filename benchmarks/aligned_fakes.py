"""Content-aligned fakes from high-resolution real photos: per decoder family, the autoencoder's training
cost and final L1, and over the re-synthesised photos the PSNR against their sources and the time per image.

The first ``--per-folder`` photos (sorted by name) of each ``--real-dir`` (default: both folders of
``$ASSAY_SHARED_DATA/real-hires``) go through ``assay.forge.realign`` at native resolution; the autoencoder
trains on crops of those photos for ``--steps`` steps or ``--time-s`` (whichever ends first). Sets land in
``--out-dir/<family>/`` (outside the repository: the photos' terms forbid publishing derived images).

    nice -n 10 .venv/bin/python benchmarks/aligned_fakes.py --families dcgan --out-dir /tmp/aligned/sets \\
        --json /tmp/aligned/aligned_dcgan.json                    # 2-core CPU: ~15 min per family
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from assay.core.fileio import read_jsonl  # noqa: E402
from assay.core.workspace import Workspace  # noqa: E402
from assay.forge import realign, realign_config  # noqa: E402


def first_photos(folders: list[str], n: int) -> list[Path]:
    """The first ``n`` images (by name) of each folder."""
    suffixes = {".jpg", ".jpeg", ".png", ".webp"}
    return [p for f in folders for p in sorted(q for q in Path(f).iterdir() if q.suffix.lower() in suffixes)[:n]]


def summarise(family: str, folder: Path, made_s: float, training: dict, photos: list[Path]) -> dict:
    rows = read_jsonl(folder / "manifest.jsonl")
    by_folder: dict[str, list[float]] = {}
    for r in rows:
        by_folder.setdefault(Path(r["source"]).parent.name, []).append(r["psnr"])
    psnrs = np.array([r["psnr"] for r in rows])
    secs = np.array([r["seconds"] for r in rows])
    return {"family": family, "folder": str(folder), "images": len(rows), "photos_given": len(photos),
            "sizes": sorted({f"{r['width']}x{r['height']}" for r in rows}), "training": training,
            "psnr_mean": float(psnrs.mean()), "psnr_min": float(psnrs.min()), "psnr_max": float(psnrs.max()),
            "psnr_by_source": {k: float(np.mean(v)) for k, v in by_folder.items()},
            "seconds_per_image": float(secs.mean()), "wall_s": round(made_s, 1)}


def main() -> None:
    data = Path(os.environ.get("ASSAY_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--real-dir", action="append", default=None, help="Folder of real photos (repeatable).")
    ap.add_argument("--per-folder", type=int, default=6, help="Photos taken from each folder.")
    ap.add_argument("--families", default="dcgan,srgan,stylegan2")
    ap.add_argument("--out-dir", required=True, help="Where the sets go (OUT/<family>/), outside the repository.")
    ap.add_argument("--workspace", default=None, help="Workspace for the catalog rows (default: OUT/workspace).")
    ap.add_argument("--steps", type=int, default=2000)
    ap.add_argument("--time-s", type=float, default=420, help="Training budget per family, seconds.")
    ap.add_argument("--patch", type=int, default=256)
    ap.add_argument("--batch", type=int, default=2)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--json", required=True)
    args = ap.parse_args()
    folders = args.real_dir or [str(data / "real-hires" / "celebahq-1024"), str(data / "real-hires" / "frl-london-1350")]
    photos = first_photos(folders, args.per_folder)
    ws = Workspace(args.workspace or Path(args.out_dir) / "workspace")
    results = []
    for family in args.families.split(","):
        cfg, _ = realign_config(family, "native", steps=args.steps, patch=args.patch, batch=args.batch)
        start = time.perf_counter()
        made = realign(ws, photos, args.out_dir, cfg, train_images=len(photos), time_budget=args.time_s,
                       device=args.device)
        training = ws.resolve(made.set_id).params["training"]
        row = summarise(family, made.folder, time.perf_counter() - start, training, photos)
        results.append(row)
        print(f"{family:10s} train {training.get('steps', '-')} steps {training.get('seconds', '-')} s "
              f"L1 {training.get('final_loss', float('nan')):.4f} | {row['images']} images {row['sizes']} | "
              f"PSNR {row['psnr_mean']:.2f} dB ({row['psnr_min']:.2f}-{row['psnr_max']:.2f}) "
              f"{row['psnr_by_source']} | {row['seconds_per_image']:.1f} s/image", flush=True)
    report = {"benchmark": "aligned_fakes", "machine": f"{platform.machine()} {os.cpu_count()} cores",
              "torch_threads": torch.get_num_threads(), "device": args.device, "photos": [str(p) for p in photos],
              "steps": args.steps, "time_s": args.time_s, "patch": args.patch, "batch": args.batch, "results": results}
    Path(args.json).write_text(json.dumps(report, indent=2))
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
