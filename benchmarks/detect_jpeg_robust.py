"""JPEG robustness across generators: jpeg-dct against npr and freqnet, under the same re-encoding.

Two folds, each holding one outside GAN family out of training and testing on it:
- ``pggan-held-out``: train on ``stylegan-studio-512`` fakes, test on ``celebahq-pggan-1024``;
- ``stylegan-held-out``: train on ``celebahq-pggan-1024`` fakes, test on ``stylegan-studio-512``.

Reals for training: UTKFace (200 px) and one half (by file-name hash) of each ``real-hires``
folder (CelebA-HQ 1024 px, FRL London 1350 px). Reals for testing: the other halves and LFW
(250 px, a capture domain never seen in training). Every image of both classes goes through
the same codec per condition: ``q75`` and ``q90`` (decoded, re-encoded as JPEG at that
quality, train and test alike) and ``untouched`` (the files as published, whose codecs differ
by source: a detector can learn the codec there). All at native resolution.

Per condition, fold and detector: AUC and AP (raw score), accuracy per class at the
detector's own threshold (logit 0), the LFW false-positive rate at that threshold and at a
conformal threshold set on a disjoint half of LFW (``--target-fpr``), and the fit time.

    .venv/bin/python benchmarks/detect_jpeg_robust.py                  # ~25 min on 2 busy cores
    .venv/bin/python benchmarks/detect_jpeg_robust.py --detectors jpeg-dct --conditions q75
"""

from __future__ import annotations

import argparse
import hashlib
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from assay.core.clitools import err, print_table  # noqa: E402
from assay.core.fileio import atomic_write_json  # noqa: E402
from assay.core.imageio import decode  # noqa: E402
from assay.detect import DETECTORS, compute_metrics, conformal_threshold, reencode  # noqa: E402

DATA = Path(os.environ.get("ASSAY_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))
PGGAN, STYLEGAN = "celebahq-pggan-1024", "stylegan-studio-512"
FOLDS = {"pggan-held-out": (STYLEGAN, PGGAN), "stylegan-held-out": (PGGAN, STYLEGAN)}
CONDITIONS = {"q75": ("jpeg", 75), "q90": ("jpeg", 90), "untouched": None}


def say(message: str) -> None:
    err.print(message, markup=False, highlight=False)


def files(folder: Path, n: int, seed: int = 0) -> list[Path]:
    """At most ``n`` images of a folder, a seeded random choice in sorted order."""
    found = sorted(p for p in folder.iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".png"))
    pick = np.random.default_rng(seed).permutation(len(found))[:n]
    return [found[i] for i in sorted(pick)]


def halves(paths: list[Path]) -> tuple[list[Path], list[Path]]:
    """(train, test) halves by a hash of the file name."""
    even = [int(hashlib.sha256(p.name.encode()).hexdigest()[:8], 16) % 2 == 0 for p in paths]
    return [p for p, e in zip(paths, even) if e], [p for p, e in zip(paths, even) if not e]


def sources(args: argparse.Namespace) -> dict[str, list[Path]]:
    """Named lists of files: train reals, test reals (held-out halves, LFW), and each fake family."""
    hires_train, hires_test = [], []
    for name in ("celebahq-1024", "frl-london-1350"):
        a, b = halves(files(DATA / "real-hires" / name, args.n_hires))
        hires_train += a
        hires_test += b
    lfw = files(DATA / "lfw", 2 * args.n_lfw)
    return {"real_train": files(DATA / "utkface", args.n_utk) + hires_train, "real_hires_test": hires_test,
            "lfw_test": lfw[::2], "lfw_threshold": lfw[1::2],
            PGGAN: files(DATA / "gan-faces" / PGGAN, args.n_fake), STYLEGAN: files(DATA / "gan-faces" / STYLEGAN, args.n_fake)}


def load(paths: list[Path], path: tuple[str, int] | None) -> list[np.ndarray]:
    return [reencode(decode(p), path) for p in paths]


def detector_options(name: str, epochs: int) -> dict[str, Any]:
    if name in ("npr", "freqnet"):
        return {"tile": 64, "epochs": epochs, "batch_size": 32, "width": 32, "max_tiles": 9}
    return {}


def run_fold(name: str, images: dict[str, list[np.ndarray]], train_family: str, test_family: str,
             target_fpr: float, epochs: int) -> dict[str, Any]:
    x_train = images["real_train"] + images[train_family]
    y_train = np.array([0] * len(images["real_train"]) + [1] * len(images[train_family]))
    det = DETECTORS.create(name, **detector_options(name, epochs))
    t0 = time.perf_counter()
    det.fit(x_train, y_train)
    fit_s = time.perf_counter() - t0
    reals = images["real_hires_test"] + images["lfw_test"]
    z_real = det.decision_function(reals)
    z_fake = det.decision_function(images[test_family])
    z_lfw, z_hires = z_real[len(images["real_hires_test"]):], z_real[:len(images["real_hires_test"])]
    y = np.array([0] * len(reals) + [1] * len(z_fake))
    z = np.concatenate([z_real, z_fake])
    m = compute_metrics(y, 1.0 / (1.0 + np.exp(-z)), score=z)
    thr = conformal_threshold(det.decision_function(images["lfw_threshold"]), target_fpr)
    return {"auc": m["auc"], "ap": m["ap"], "acc_real": float(np.mean(z_real < 0)), "acc_fake": float(np.mean(z_fake >= 0)),
            "fpr_lfw_own": float(np.mean(z_lfw >= 0)), "fpr_hires_own": float(np.mean(z_hires >= 0)),
            "fpr_lfw_conformal": float(np.mean(z_lfw >= thr)), "tpr_conformal": float(np.mean(z_fake >= thr)),
            "fit_seconds": fit_s, "n_train": {"real": int((y_train == 0).sum()), "fake": int(y_train.sum())},
            "n_test": {"real_hires": len(z_hires), "lfw": len(z_lfw), "fake": len(z_fake)}}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--detectors", default="jpeg-dct,npr,freqnet")
    ap.add_argument("--conditions", default="q75,q90,untouched")
    ap.add_argument("--n-utk", type=int, default=200)
    ap.add_argument("--n-hires", type=int, default=120, help="files of each real-hires folder (half train, half test)")
    ap.add_argument("--n-lfw", type=int, default=150, help="LFW test photos (as many again set the conformal threshold)")
    ap.add_argument("--n-fake", type=int, default=150, help="files of each GAN family")
    ap.add_argument("--epochs", type=int, default=6, help="epochs of npr and freqnet")
    ap.add_argument("--target-fpr", type=float, default=0.05)
    ap.add_argument("--out", type=Path, default=Path("benchmarks/figures/detect_jpeg_robust.json"))
    args = ap.parse_args()
    if not (DATA / "gan-faces").is_dir():
        sys.exit(f"shared data not found at {DATA} (set ASSAY_SHARED_DATA)")
    paths = sources(args)
    results: dict[str, Any] = {}
    rows = []
    for cond in args.conditions.split(","):
        t0 = time.perf_counter()
        images = {k: load(v, CONDITIONS[cond]) for k, v in paths.items()}
        say(f"{cond}: {sum(map(len, images.values()))} images decoded in {time.perf_counter() - t0:.0f} s")
        for fold, (train_family, test_family) in FOLDS.items():
            for name in args.detectors.split(","):
                r = run_fold(name, images, train_family, test_family, args.target_fpr, args.epochs)
                results.setdefault(cond, {}).setdefault(fold, {})[name] = r
                rows.append({"condition": cond, "fold": fold, "detector": name,
                             **{k: r[k] for k in ("auc", "ap", "acc_real", "acc_fake", "fpr_lfw_own",
                                                  "fpr_lfw_conformal", "tpr_conformal", "fit_seconds")}})
                say(f"  {fold} {name}: AUC {r['auc']:.3f}, LFW FPR {r['fpr_lfw_own']:.3f}, fit {r['fit_seconds']:.0f} s")
        del images
    print_table(rows, list(rows[0]), title="cross-generator AUC under re-encoding (both classes alike)")
    out = {"benchmark": "detect_jpeg_robust", "args": {k: str(v) for k, v in vars(args).items()},
           "machine": {"cpus": os.cpu_count(), "platform": platform.platform()},
           "counts": {k: len(v) for k, v in paths.items()}, "results": results}
    atomic_write_json(args.out, out)
    say(f"written {args.out}")


if __name__ == "__main__":
    main()
