"""Detectors in the wild: cross-generator at native resolution, on real photos never seen.

Two folds, each training without one outside GAN set and testing on it:
- ``pggan``: train without ``gan-faces/celebahq-pggan-1024``, test on it (1024 px);
- ``studio``: train without ``gan-faces/stylegan-studio-512``, test on it (512 px).

Training data (every image at its native pixel scale, never resized): UTKFace (200 px), LFW
(250 px), CelebA-HQ photos (1024 px) and FRL London portraits (1350 px) as reals; the other
outside GAN set as fakes; for recipes with ``sim`` the suite's artifact simulators (x2 and
the zoo's x8 up-sampling decoders, fitted on the training reals) make one content-aligned
twin per small real photo and per native 384 px centre window of each large one. Both
classes pass one encode path (``--train-encode``, default JPEG q75) and the ``reencode``
augmentation (JPEG 60-100, random downscale), so neither codec nor quality tells the classes
apart.

Test data, disjoint from training by file: the held-out GAN set, and real photos from LFW,
CelebA-HQ and FRL London that no training or calibration step saw. Both classes are
re-encoded alike for each condition: JPEG q75, JPEG q90 and untouched (the files as they
are: there the classes differ in codec, which shows what compression costs or hides).

Reported per recipe, fold and condition: AUC and AP (raw score) over all test reals, the AUC
against each real source alone and against the high-resolution reals alone (``auc_hires``: the
held-out fakes' own resolution, where image size cannot tell the classes apart), accuracy per
class at the detector's own threshold (calibrated P >= 0.5), the real false-positive rate at that threshold
and at a threshold set on separate calibration reals for ``--target-fpr`` (conformal, as
``assay detect calibrate``) with the held-out fakes' recall there, the share of test images
out of the detector's domain ("uncertain"), the share of probabilities within 1e-3 of a
calibration bound ("pinned"), and the training cost.

    .venv/bin/python benchmarks/detect_in_the_wild.py                             # ~25 min on 2 busy cores
    .venv/bin/python benchmarks/detect_in_the_wild.py --recipes npr,npr-copies --epochs 20
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
from assay.detect import (  # noqa: E402
    PRESETS,
    Assembled,
    DetectTrainConfig,
    Item,
    codec_of,
    compute_metrics,
    conformal_threshold,
    fit_and_test,
    jpeg,
    parse_encode,
    reencode,
    run_simulator,
    train_simulators,
)
from benchmarks.detect_generalisation import _files  # noqa: E402

DATA = Path(os.environ.get("ASSAY_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))
FAMILIES = {"pggan": "gan-faces/celebahq-pggan-1024", "studio": "gan-faces/stylegan-studio-512"}
CONDITIONS = {"jpeg75": 75, "jpeg90": 90, "untouched": None}
SIM_KINDS = ("transposed", "nearest", "bilinear")
TWIN_WINDOW = 384
#: real sources at the held-out fakes' resolution (512-1350 px): AUC against them alone is ``auc_hires``
HIRES = ("celebahq-1024", "frl-1350")


def say(message: str) -> None:
    err.print(message, markup=False, highlight=False)


def recipes(epochs: int) -> dict[str, dict[str, Any]]:
    """Recipe name -> (``sim``: add simulated twins, ``cfg``: DetectTrainConfig fields)."""
    npr = {"tile": 64, "epochs": epochs, "batch_size": 32, "width": 32, "max_tiles": 9}
    base = {"model": "npr", "options": npr, "aug": ("reencode", "flip"), "calibration": "temperature"}
    general = PRESETS.get("general")
    cnn = {"backbone": "resnet18", "tile": 128, "view_side": 256, "epochs": epochs, "batch_size": 32, "max_tiles": 9}
    return {
        "cnn-256": {"sim": False, "cfg": {**base, "model": "cnn", "options": cnn}},
        "cnn-256-sim": {"sim": True, "cfg": {**base, "model": "cnn", "options": cnn}},
        "cnn-native": {"sim": False, "cfg": {**base, "model": "cnn", "options": {**cnn, "view_side": None}}},
        **{f"npr-{side}": {"sim": False, "cfg": {**base, "options": {**npr, "view_side": side}}} for side in (128, 256, 384, 512)},
        "npr-256-sim": {"sim": True, "cfg": {**base, "options": {**npr, "view_side": 256}}},
        "npr-256-multi": {"sim": False, "cfg": {**base, "options": {**npr, "view_side": 256, "scales": [1.0, 0.5]}}},
        "npr-256-wide": {"sim": False, "cfg": {**base, "options": {**npr, "view_side": 256, "width": 64}}},
        "npr-256-wide-sim": {"sim": True, "cfg": {**base, "options": {**npr, "view_side": 256, "width": 64}}},
        "npr": {"sim": False, "cfg": base},
        "cooc": {"sim": False, "cfg": {**base, "model": "cooc", "options": {"max_side": 512}}},
        "residual": {"sim": False, "cfg": {**base, "model": "residual", "options": {}, "aug": ("flip",)}},
        "residual-reencode": {"sim": False, "cfg": {**base, "model": "residual", "options": {}}},
        "cooc-sim": {"sim": True, "cfg": {**base, "model": "cooc", "options": {"max_side": 512}}},
        "npr-copies": {"sim": False, "cfg": {**base, "options": {**npr, "scales": [1.0, 0.5]}}},
        "npr-sim": {"sim": True, "cfg": base},
        "npr-sim-calheld": {"sim": True, "cfg": {**base, "calibrate_on": ("simulated-bilinear-x8",)}},
        "dct-cnn-sim": {"sim": True, "cfg": {**base, "model": "dct-cnn",
                                             "options": {k: v for k, v in npr.items()}}},
        # the preset as it is (``--epochs`` reaches it only where its model trains by epochs)
        "general": {"sim": bool(general.get("simulate")),
                    "cfg": {**general, "options": {**general["options"],
                                                   **({"epochs": epochs} if "epochs" in general["options"] else {})}}},
    }


def unique_files(folder: Path) -> list[Path]:
    """The folder's JPEGs, sorted, byte-identical duplicates dropped."""
    return _files(folder, len(list(folder.glob("*.jpg"))))


def pick(files: list[Path], n: int, seed: int) -> list[Path]:
    return [files[i] for i in sorted(np.random.default_rng(seed).permutation(len(files))[:n])]


def real_splits(n_utk: int, n_lfw: int, seed: int, n_calib_lfw: int = 200, n_test_lfw: int = 400
                ) -> dict[str, dict[str, list[Path]]]:
    """Real files per use (train, calibration, test) and source, disjoint by file."""
    utk = pick(unique_files(DATA / "utkface"), n_utk, seed)
    lfw = pick(unique_files(DATA / "lfw"), n_lfw + n_calib_lfw + n_test_lfw, seed)
    celeb = pick(unique_files(DATA / "real-hires/celebahq-1024"), 200, seed)
    frl = pick(unique_files(DATA / "real-hires/frl-london-1350"), 102, seed)
    return {
        "train": {"utkface": utk, "lfw": lfw[:n_lfw], "celebahq-1024": celeb[:100], "frl-1350": frl[:50]},
        "calibration": {"lfw": lfw[n_lfw:n_lfw + n_calib_lfw], "celebahq-1024": celeb[100:130], "frl-1350": frl[50:64]},
        "test": {"lfw": lfw[n_lfw + n_calib_lfw:], "celebahq-1024": celeb[130:], "frl-1350": frl[64:]},
    }


def items(files: list[Path], label: int, family: str, path: tuple[str, int] | None, seed: int) -> list[Item]:
    """Train and val items (85/15 by a hash of the file) through the encode path."""
    out = []
    for f in files:
        split = "val" if int(hashlib.sha256(f"{seed}:{f.name}".encode()).hexdigest()[:8], 16) % 100 < 15 else "train"
        out.append(Item(reencode(decode(f), path), label, family, str(f.parent), f.name, "jpeg", split))
    return out


def twins(reals: list[Item], steps: int, seed: int, path: tuple[str, int] | None) -> list[Item]:
    """One simulated (content-aligned) fake per real: x2 and x8 up-sampling decoders fitted on the train reals."""
    small = [i.image for i in reals if i.split == "train" and min(i.image.shape[:2]) <= 256]
    nets = {**train_simulators(SIM_KINDS, small, steps, seed, 1), **train_simulators(SIM_KINDS, small, steps, seed, 3)}
    names = sorted(nets)
    out = []
    for k, it in enumerate(reals):
        img = it.image
        h, w = img.shape[:2]
        if min(h, w) > TWIN_WINDOW:  # a native-scale centre window of a large photo
            y, x = ((h - TWIN_WINDOW) // 2) & ~7, ((w - TWIN_WINDOW) // 2) & ~7
            img = img[y:y + TWIN_WINDOW, x:x + TWIN_WINDOW]
        fam = names[k % len(names)]
        out.append(Item(reencode(run_simulator(nets[fam], img), path), 1, fam, "simulated", it.group, "simulated",
                        it.split))
    return out


def as_condition(f: Path, quality: int | None) -> np.ndarray:
    img = decode(f)
    return img if quality is None else jpeg(img, quality)


def scored(det: Any, files: list[Path], quality: int | None) -> dict[str, np.ndarray]:
    """Calibrated P, raw score and out-of-domain flags of the files under one condition (16 at a time)."""
    p_all, z_all, ood = [], [], []
    codec = {"codec": "jpeg", "quality": quality} if quality else None
    for start in range(0, len(files), 16):
        imgs = [as_condition(f, quality) for f in files[start:start + 16]]
        p, z = det.scores(imgs)
        p_all.append(p)
        z_all.append(p if z is None else z)
        ood += [bool(det.domain.check(det.view(img), codec or codec_of(f))) for img, f in
                zip(imgs, files[start:start + 16])]
    return {"p": np.concatenate(p_all), "z": np.concatenate(z_all), "ood": np.array(ood)}


def measure(det: Any, test_reals: dict[str, list[Path]], calib_reals: list[Path], fakes: list[Path],
            quality: int | None, target_fpr: float) -> dict[str, Any]:
    """Held-out metrics under one condition."""
    reals = {src: scored(det, files, quality) for src, files in test_reals.items()}
    fake = scored(det, fakes, quality)
    calib = scored(det, calib_reals, quality)
    r_p = np.concatenate([r["p"] for r in reals.values()])
    r_z = np.concatenate([r["z"] for r in reals.values()])
    y = np.r_[np.zeros(len(r_p)), np.ones(len(fake["p"]))].astype(int)
    p, z = np.r_[r_p, fake["p"]], np.r_[r_z, fake["z"]]
    m = compute_metrics(y, p, score=z)
    thr = conformal_threshold(calib["z"], target_fpr)
    floor = float(getattr(det.calibrator, "floor", 0.0))
    ood = np.r_[np.concatenate([r["ood"] for r in reals.values()]), fake["ood"]]
    return {
        **{k: m[k] for k in ("auc", "ap", "acc_real", "acc_synthetic", "ece")},
        "auc_by_source": {s: auc_against(r["z"], fake["z"]) for s, r in reals.items()},
        "auc_hires": auc_against(np.concatenate([r["z"] for s, r in reals.items() if s in HIRES]), fake["z"]),
        "fpr_own": float(np.mean(r_p >= 0.5)),
        "fpr_own_by_source": {s: float(np.mean(r["p"] >= 0.5)) for s, r in reals.items()},
        "fpr_calibrated": float(np.mean(r_z >= thr)),
        "fpr_calibrated_by_source": {s: float(np.mean(r["z"] >= thr)) for s, r in reals.items()},
        "recall_calibrated": float(np.mean(fake["z"] >= thr)),
        "uncertain": float(np.mean(ood)),
        "pinned": float(np.mean((p <= floor + 1e-3) | (p >= 1 - floor - 1e-3))),
        "distinct_p": int(len(np.unique(np.round(p, 6)))),
        "n_real": int(len(r_p)), "n_fake": int(len(fake["p"])),
        "raw_scores": {"real": {s: _rounded(r["z"]) for s, r in reals.items()}, "fake": _rounded(fake["z"]),
                       "calibration": _rounded(calib["z"])},
    }


def auc_against(real: np.ndarray, fake: np.ndarray) -> float:
    """AUC of fake scores against real scores (raw scores; one source of reals or several)."""
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(np.r_[np.zeros(len(real)), np.ones(len(fake))], np.r_[real, fake]))


def _rounded(z: np.ndarray) -> list[float]:
    """Raw scores as stored (files in a fixed order per seed, so runs of other recipes line up)."""
    return [round(float(v), 5) for v in z]


def run_fold(name: str, recipe: dict[str, Any], held: str, files: dict[str, Any], args: argparse.Namespace
             ) -> dict[str, Any]:
    path = parse_encode(args.train_encode)
    t0 = time.perf_counter()
    reals = [it for src, fs in files["train"].items() for it in items(fs, 0, "real", path, args.seed)]
    seen = next(k for k in FAMILIES if k != held)
    fakes = items(pick(unique_files(DATA / FAMILIES[seen]), args.max_fakes, args.seed), 1, seen, path, args.seed)
    if recipe["sim"]:
        fakes += twins(reals, args.sim_steps, args.seed, path)
    prep_s = time.perf_counter() - t0
    val = [i for i in reals + fakes if i.split == "val"]
    data = Assembled({"train": [i for i in reals + fakes if i.split == "train"], "val": val, "test": val},
                     {"real": [], "fake": []}, args.train_encode)
    cfg = DetectTrainConfig(**{**recipe["cfg"], "seed": args.seed, "encode": args.train_encode, "simulate": ()})
    say(f"[{name} / without {held}] training on {len(data.splits['train'])} images "
        f"({sum(i.label for i in data.splits['train'])} fake), {len(val)} val")
    t1 = time.perf_counter()
    det, report = fit_and_test(cfg, data)
    train_s = time.perf_counter() - t1
    test_fakes = pick(unique_files(DATA / FAMILIES[held]), args.max_test_fakes, args.seed + 1)
    calib = [f for fs in files["calibration"].values() for f in fs]
    out: dict[str, Any] = {"held_out": held, "trained_on": report["trained_on"], "calibrated_on": report["calibrated_on"],
                           "in_distribution_val_auc": report["overall"]["auc"], "prep_seconds": prep_s,
                           "train_seconds": train_s, "fit_seconds": report["fit_seconds"],
                           "trained_sizes": list(det.domain.sizes), "conditions": {}}
    for cond, q in CONDITIONS.items():
        out["conditions"][cond] = measure(det, files["test"], calib, test_fakes, q, args.target_fpr)
        c = out["conditions"][cond]
        say(f"  {cond}: AUC {c['auc']:.3f} AP {c['ap']:.3f} acc real {c['acc_real']:.2f} fake {c['acc_synthetic']:.2f} "
            f"FPR own {c['fpr_own']:.3f} cal {c['fpr_calibrated']:.3f} recall@cal {c['recall_calibrated']:.2f} "
            f"uncertain {c['uncertain']:.2f} pinned {c['pinned']:.2f} AUC by real source "
            + " ".join(f"{k} {v:.3f}" for k, v in c["auc_by_source"].items()))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--recipes", default="npr,npr-copies,npr-sim,npr-sim-calheld")
    ap.add_argument("--folds", default="pggan,studio", help="held-out families")
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--n-utk", type=int, default=400)
    ap.add_argument("--n-lfw", type=int, default=300)
    ap.add_argument("--n-calib-lfw", type=int, default=200, help="LFW reals for the calibrated threshold")
    ap.add_argument("--n-test-lfw", type=int, default=400, help="LFW reals never seen, for the false-positive rate")
    ap.add_argument("--max-fakes", type=int, default=400, help="training images of the seen GAN set")
    ap.add_argument("--max-test-fakes", type=int, default=200)
    ap.add_argument("--sim-steps", type=int, default=150)
    ap.add_argument("--train-encode", default="jpeg:75")
    ap.add_argument("--target-fpr", type=float, default=0.05)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=Path("benchmarks/results/detect_in_the_wild.json"))
    args = ap.parse_args()
    import torch

    torch.set_num_threads(2)
    if not (DATA / FAMILIES["pggan"]).is_dir():
        raise SystemExit(f"outside GAN faces not found under {DATA} (set ASSAY_SHARED_DATA)")
    files = real_splits(args.n_utk, args.n_lfw, args.seed, args.n_calib_lfw, args.n_test_lfw)
    table = recipes(args.epochs)
    results: dict[str, Any] = {"machine": {"platform": platform.platform(), "cpus": os.cpu_count(),
                                           "load_at_start": os.getloadavg()[0]},
                               "args": {k: str(v) for k, v in vars(args).items()}, "recipes": {}}
    rows = []
    for name in args.recipes.split(","):
        results["recipes"][name] = {"cfg": {k: v for k, v in table[name]["cfg"].items()}, "sim": table[name]["sim"],
                                    "folds": {}}
        for held in args.folds.split(","):
            r = run_fold(name, table[name], held, files, args)
            results["recipes"][name]["folds"][held] = r
            for cond, c in r["conditions"].items():
                rows.append({"recipe": name, "held out": held, "test": cond, **{k: round(c[k], 3) for k in (
                    "auc", "auc_hires", "ap", "acc_real", "acc_synthetic", "fpr_own", "fpr_calibrated",
                    "recall_calibrated", "uncertain", "pinned")}, "train s": round(r["train_seconds"])})
            atomic_write_json(args.out, results)
    print_table(rows, list(rows[0]), title="held-out generator, unseen real photos (AUC by raw score)")
    say(f"results written to {args.out}")


if __name__ == "__main__":
    main()
