"""Detector quality: in-distribution AUC/AP, leave-one-generator-out AUC matrix, robustness, LFW false positives.

With ``--real``/``--fake`` (and ``--lfw``) set refs it measures real forge sample sets in a
workspace. Without ``--fake`` it builds STAND-IN fake families from UTKFace (half-size faces
brought back up by nearest-neighbour, zero-insertion (transposed-convolution-like) and
bilinear 2x up-sampling): a proxy for generator up-sampling traces, not GAN output, and
labelled so in the output and JSON.

    .venv/bin/python benchmarks/detect_quality.py                      # stand-in mode
    .venv/bin/python benchmarks/detect_quality.py -w WS --real utk --fake dcgan,wgan,stylegan --lfw lfw
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from assay.clitools import err, print_table  # noqa: E402
from assay.fileio import atomic_write_json  # noqa: E402
from assay.imagesets import ImageSetWriter, open_set  # noqa: E402
from assay.workspace import Workspace  # noqa: E402
from detect.data import assemble, parse_encode, reencode  # noqa: E402
from detect.loo import leave_one_out  # noqa: E402
from detect.robustness import PERTURBATIONS  # noqa: E402
from detect.train import TrainConfig, fit_and_test  # noqa: E402

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
STANDIN_FAMILIES = ("standin-nearest", "standin-zeroinsert", "standin-bilinear")
SIMS = ("transposed", "nearest", "bilinear")
#: measured by default (about 10 minutes on 2 CPU cores); ``--detectors all`` adds the resnet18 CNN
DEFAULT_VARIANTS = ["spectral", "dct", "npr", "ensemble", "spectral+sim", "npr+sim", "npr+sim+wang"]


def say(message: str) -> None:
    err.print(message, markup=False, highlight=False)


def variants(size: int) -> dict[str, dict[str, Any]]:
    """Detector set-ups measured: name -> TrainConfig fields."""
    torch_opts = {"tile": size, "epochs": 10, "batch_size": 32, "width": 32}
    return {
        "spectral": {"model": "spectral"},
        "dct": {"model": "dct"},
        "npr": {"model": "npr", "options": torch_opts},
        "cnn-resnet18": {"model": "cnn", "options": {"backbone": "resnet18", "tile": size, "epochs": 4, "batch_size": 32}},
        "ensemble": {"model": "ensemble", "options": {"members": ["spectral", "dct", "npr"],
                                                      "member_configs": {"npr": torch_opts}}},
        "spectral+sim": {"model": "spectral", "simulate": SIMS},
        "npr+sim": {"model": "npr", "options": torch_opts, "simulate": SIMS},
        "npr+sim+wang": {"model": "npr", "options": torch_opts, "simulate": SIMS, "aug": ("blur", "jpeg")},
    }


def _resize(img: np.ndarray, size: int) -> np.ndarray:
    import cv2

    return cv2.resize(img, (size, size), interpolation=cv2.INTER_AREA)


def _upsample(img: np.ndarray, family: str) -> np.ndarray:
    import cv2

    h, w = img.shape[:2]
    if family == "standin-nearest":
        return np.repeat(np.repeat(img, 2, 0), 2, 1)
    if family == "standin-bilinear":
        return cv2.resize(img, (2 * w, 2 * h), interpolation=cv2.INTER_LINEAR)
    up = np.zeros((2 * h, 2 * w, 3), np.float32)  # zero insertion + 3x3 smoothing: a transposed conv
    up[::2, ::2] = img
    kernel = np.array([[0.25, 0.5, 0.25], [0.5, 1.0, 0.5], [0.25, 0.5, 0.25]], np.float32)
    return np.clip(cv2.filter2D(up, -1, kernel), 0, 255).astype(np.uint8)


def build_standin(ws: Workspace, n: int, size: int) -> tuple[str, list[str], str]:
    """UTKFace reals, stand-in fake families from other UTKFace faces, LFW reals; returns refs."""
    from assay.imageio import decode

    files = sorted((DATA / "utkface").glob("*.jpg"))
    seen, unique = set(), []
    for f in files:  # UTKFace has byte-identical duplicates: keep one of each
        key = f.read_bytes()
        if key not in seen:
            seen.add(key)
            unique.append(f)
    rng = np.random.default_rng(0)
    order = rng.permutation(len(unique))
    need = n * (1 + len(STANDIN_FAMILIES))
    if len(order) < need:
        raise SystemExit(f"need {need} UTKFace images, found {len(order)}")
    err.print(f"building stand-in sets: {n} UTKFace reals at {size}px, {len(STANDIN_FAMILIES)} stand-in families")
    w = ImageSetWriter(ws, "datasets", "utkface-real")
    for i in order[:n]:
        w.add(_resize(decode(unique[i]), size), {"label": "real", "identity": unique[i].name, "source": unique[i].name})
    real = w.commit({"size": size, "note": "UTKFace, area-downscaled"}).id
    fakes = []
    for k, fam in enumerate(STANDIN_FAMILIES):
        w = ImageSetWriter(ws, "samples", fam)
        for i in order[n * (k + 1): n * (k + 2)]:
            w.add(_upsample(_resize(decode(unique[i]), size // 2), fam),
                  {"label": "synthetic", "family": fam, "source": unique[i].name, "run_id": "stand-in"})
        fakes.append(w.commit({"size": size, "family": fam, "note": "STAND-IN: up-sampled real faces"}).id)
    w = ImageSetWriter(ws, "datasets", "lfw-real")
    for f in sorted((DATA / "lfw").glob("*.jpg"))[:n]:
        w.add(_resize(decode(f)[25:225, 25:225], size), {"label": "real", "identity": f.name, "split": "test"})
    return real, fakes, w.commit({"size": size}).id


def lfw_false_positives(det: Any, ws: Workspace, lfw: str, encode: str, limit: int) -> dict[str, float]:
    s = open_set(ws, lfw)
    rows = s.rows[:limit]
    path = parse_encode(encode)
    images = [reencode(img, path) for img in s.load(rows)] if path else list(s.load(rows))
    p = det.predict_proba(images)[:, 1]
    return {"fpr": float(np.mean(p >= 0.5)), "mean_score": float(np.mean(p)), "n": len(rows)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-w", "--workspace", type=Path, default=None)
    ap.add_argument("--real", default=None, help="real set refs, comma-separated")
    ap.add_argument("--fake", default=None, help="fake (sample) set refs, comma-separated; none: stand-in mode")
    ap.add_argument("--lfw", default=None, help="LFW real set ref (false-positive rate on another domain)")
    ap.add_argument("--detectors", default=None, help="comma-separated variant names, or 'all' (default: "
                    + ",".join(DEFAULT_VARIANTS) + ")")
    ap.add_argument("--n", type=int, default=200, help="stand-in mode: images per set")
    ap.add_argument("--size", type=int, default=64, help="stand-in mode: image size")
    ap.add_argument("--max-per-set", type=int, default=None)
    ap.add_argument("--no-loo", action="store_true", help="skip the leave-one-generator-out matrices")
    ap.add_argument("--out", type=Path, default=Path("benchmarks/results/detect_quality.json"))
    args = ap.parse_args()

    import torch

    torch.set_num_threads(2)
    standin = args.fake is None
    if standin:
        root = args.workspace or Path("benchmarks/results/detect_quality_ws")
        if root.exists():
            import shutil

            shutil.rmtree(root)
        ws = Workspace(root)
        real, fakes, lfw = build_standin(ws, args.n, args.size)
        reals = [real]
    else:
        ws = Workspace(args.workspace)
        reals, fakes, lfw = args.real.split(","), args.fake.split(","), args.lfw
    all_variants = variants(args.size)
    chosen = args.detectors.split(",") if args.detectors else DEFAULT_VARIANTS
    if chosen == ["all"]:
        chosen = list(all_variants)
    results: dict[str, Any] = {
        "mode": "STAND-IN families (up-sampled UTKFace faces, not GAN output)" if standin else "forge sample sets",
        "machine": f"{platform.machine()}, {torch.get_num_threads()} torch threads, "
                   f"{'CUDA ' + torch.cuda.get_device_name() if torch.cuda.is_available() else 'no GPU'}",
        "sets": {"real": reals, "fake": fakes, "lfw": lfw}, "variants": {}}
    datasets: dict[tuple[str, ...], Any] = {}
    for name in chosen:
        spec = all_variants[name]
        cfg = TrainConfig(robustness=tuple(PERTURBATIONS.names()), max_per_set=args.max_per_set, **spec)
        t0 = time.perf_counter()
        key = tuple(cfg.simulate)
        if key not in datasets:
            datasets[key] = assemble(ws, reals, fakes, max_per_set=args.max_per_set, simulate=cfg.simulate,
                                     sim_steps=cfg.sim_steps)
        data = datasets[key]
        say(f"[{name}] in-distribution fit on every family")
        det, report = fit_and_test(cfg, data)
        row: dict[str, Any] = {
            "config": {k: v for k, v in spec.items()},
            "in_distribution": {"overall": report["overall"],
                                "per_family": {f: {"auc": v["auc"], "ap": v["ap"]} for f, v in report["per_family"].items()}},
            "robustness_auc": {p: r["overall"]["auc"] for p, r in report["robustness"].items()},
            "encode": data.encode}
        if lfw:
            row["lfw"] = lfw_false_positives(det, ws, lfw, data.encode, args.n)
        if not args.no_loo:
            say(f"[{name}] leave-one-generator-out")
            loo = leave_one_out(ws, TrainConfig(max_per_set=args.max_per_set, **spec), reals, fakes, data=data)
            row["loo"] = {"matrix": loo["matrix"], "unseen_auc": loo["unseen_auc"],
                          "min_unseen_auc": loo["min_unseen_auc"], "simulated_only_auc": loo["simulated_only_auc"]}
        row["seconds"] = time.perf_counter() - t0
        results["variants"][name] = row
        say(f"[{name}] done in {row['seconds']:.0f}s")
        args.out.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_json(args.out, results)  # partial results survive an interruption

    rows = []
    for name, r in results["variants"].items():
        o = r["in_distribution"]["overall"]
        loo = r.get("loo", {})
        rows.append({"detector": name, "AUC": o["auc"], "AP": o["ap"], "ECE": o["ece"],
                     "LFW FPR": r.get("lfw", {}).get("fpr"),
                     **{f"LOO {f}": v for f, v in loo.get("unseen_auc", {}).items()},
                     "sim-only min": min(loo["simulated_only_auc"].values()) if loo.get("simulated_only_auc") else None,
                     "s": r["seconds"]})
    cols = list(dict.fromkeys(k for r in rows for k in r))
    print_table(rows, cols, title=f"detector quality ({results['mode']})")
    rob = [{"detector": n, **r["robustness_auc"]} for n, r in results["variants"].items()]
    print_table(rob, ["detector", *PERTURBATIONS.names()], title="robustness: AUC after each perturbation")
    print(json.dumps({n: {"auc": r["in_distribution"]["overall"]["auc"],
                          "min_unseen_auc": r.get("loo", {}).get("min_unseen_auc")}
                      for n, r in results["variants"].items()}, indent=1))
    err.print(f"results written to {args.out}")


if __name__ == "__main__":
    main()
