"""Detector generalisation: train on some generator families, test on others at other resolutions.

Training data (per detector set-up): UTKFace reals at native 200 px, a classic forge family
(``--classic``, default dcgan) at 64 px, and, for the ``general`` recipe, the zoo's seen
up-samplers (transposed, nearest, bilinear; x2 and x8) made from the training reals.

Test data, never seen in training, both classes re-encoded alike as JPEG q75:
- reals: LFW photographs at native 250 px (another capture domain);
- fakes: the held-out zoo up-samplers (``--held-out``, default pixelshuffle and modconv-skip,
  x8 generators fitted on UTKFace) run over other LFW photographs at 128 px (area-downscaled
  centre crop) and at native 250 px; plus any forge sample set in the workspace named with
  ``--fake-sets`` (e.g. StyleGAN once forge has it), as it is.

Reported per set-up: AUC and AP (ranked by the raw score), accuracy per class, the LFW
false-positive rate at the detector's own threshold (calibrated 0.5) and at a threshold set
with :func:`detect.operating.conformal_threshold` on a disjoint half of LFW photos (the
user's own real photos, target ``--target-fpr``), the share of test images the detector
marks out of domain, and the training cost in seconds.

    .venv/bin/python benchmarks/detect_generalisation.py                       # small run, ~20 min on 2 cores
    .venv/bin/python benchmarks/detect_generalisation.py --n-utk 2000 --n-lfw 1000 --epochs 20
    .venv/bin/python benchmarks/detect_generalisation.py -w WS --fake-sets stylegan-256-samples
"""

from __future__ import annotations

import argparse
import json
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
from assay.core.imagesets import ImageSetWriter, open_set  # noqa: E402
from assay.core.workspace import Workspace  # noqa: E402
from assay.detect import (  # noqa: E402  # noqa: E402  # noqa: E402
    DetectTrainConfig,
    assemble,  # noqa: E402
    compute_metrics,  # noqa: E402
    conformal_threshold,  # noqa: E402
    fit_and_test,
    jpeg,
    rescale,
    run_simulator,
    train_simulators,
)

DATA = Path(os.environ.get("ASSAY_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))
TEST_QUALITY = 75


def say(message: str) -> None:
    err.print(message, markup=False, highlight=False)


def setups(epochs: int) -> dict[str, dict[str, Any]]:
    """Detector set-ups: name -> (data recipe, DetectTrainConfig fields)."""
    # NPR at native pixels on the zoo's simulated up-samplers (the ``general`` preset when this was measured)
    general = {"model": "npr", "options": {"tile": 64, "epochs": epochs, "batch_size": 32, "width": 32, "max_tiles": 9},
               "aug": ("reencode", "flip"), "simulate": ("transposed", "nearest", "bilinear"), "sim_stages": (1, 3),
               "sim_steps": 150, "encode": "jpeg:90"}
    legacy_npr = {"tile": 64, "epochs": epochs, "batch_size": 32, "width": 32}
    return {
        # the README's recipe before this work: 64 px reals, a 64 px GAN, Wang augmentation, x2 simulators
        "npr-legacy": {"data": "legacy", "cfg": {"model": "npr", "options": legacy_npr, "aug": ("blur", "jpeg"),
                                                 "simulate": ("transposed", "nearest", "bilinear")}},
        "spectral-native": {"data": "general", "cfg": {**general, "model": "spectral", "options": {"rescale": False}}},
        "spectral": {"data": "general", "cfg": {**general, "model": "spectral", "options": {}}},
        "dct": {"data": "general", "cfg": {**general, "model": "dct", "options": {}}},
        "npr-general": {"data": "general", "cfg": general},
        "freqnet-general": {"data": "general", "cfg": {**general, "model": "freqnet"}},
    }


def _files(folder: Path, n: int, skip: int = 0) -> list[Path]:
    """The first ``n`` unique JPEGs of a folder after ``skip`` (byte-identical duplicates dropped)."""
    import hashlib

    seen, out = set(), []
    for f in sorted(folder.glob("*.jpg")):
        h = hashlib.sha256(f.read_bytes()).hexdigest()
        if h not in seen:
            seen.add(h)
            out.append(f)
    return out[skip:skip + n]


def real_set(ws: Workspace, name: str, files: list[Path], size: int | None) -> str:
    """A real set of the files as they are (``size`` None: the original JPEG bytes) or area-downscaled to ``size``."""
    found = [r for r in ws.catalog.list("datasets") if r.name == name and r.status == "ready"]
    if found:
        return found[0].id
    w = ImageSetWriter(ws, "datasets", name)
    for f in files:
        row = {"label": "real", "identity": f.name, "source": f.name}
        if size is None:
            w.add_bytes(f.read_bytes(), row, f.name)
        else:
            img = decode(f)
            w.add(rescale(img, size / img.shape[0]), row)
    return w.commit({"size": size or "native"}).id


def classic_family(ws: Workspace, utk64: str, family: str, steps: int, n: int) -> str:
    """A briefly trained forge run of ``family`` at 64 px and ``n`` samples (metadata labels only)."""
    from assay.forge import make_config, sample, train

    name = f"{family}-64-samples"
    found = [r for r in ws.catalog.list("samples") if r.name == name and r.status == "ready"]
    if found:
        return found[0].id
    say(f"training forge {family} at 64 px for {steps} steps")
    cfg = make_config(family, 64, steps=steps, batch=32, threads=2, g_ch=16, d_ch=16, sample_every=steps,
                      checkpoint_every=steps)
    run = train(ws, utk64, cfg, name=f"{family}-64")
    return sample(ws, run, n, seed=0, labels="c2pa,xmp", name=name)


def held_out_test(utk_train: list[np.ndarray], lfw_fake_src: list[np.ndarray], kinds: list[str],
                  steps: int) -> dict[str, list[np.ndarray]]:
    """Held-out x8 zoo generators (fitted on UTKFace) over LFW photos at 128 px and native 250 px."""
    nets = train_simulators(kinds, utk_train, steps, seed=7, stages=3)
    out: dict[str, list[np.ndarray]] = {}
    half = len(lfw_fake_src) // 2
    for fam, net in nets.items():
        out[f"{fam}@128"] = [run_simulator(net, rescale(img[25:225, 25:225], 128 / 200)) for img in lfw_fake_src[:half]]
        out[f"{fam}@250"] = [run_simulator(net, img) for img in lfw_fake_src[half:]]
    return out


def measure(det: Any, reals: list[np.ndarray], fakes: dict[str, list[np.ndarray]], calib: list[np.ndarray],
            target_fpr: float) -> dict[str, Any]:
    """Held-out metrics, LFW false positives at the own and the calibrated threshold, out-of-domain share."""
    codec = {"codec": "jpeg", "quality": TEST_QUALITY}
    p_real, z_real = det.scores(reals)
    fam_scores = {f: det.scores(imgs) for f, imgs in fakes.items()}
    raw = lambda p, z: z if z is not None else p  # noqa: E731
    p_all = np.concatenate([p_real] + [p for p, _ in fam_scores.values()])
    z_all = np.concatenate([raw(p_real, z_real)] + [raw(p, z) for p, z in fam_scores.values()])
    y = np.r_[np.zeros(len(reals)), np.ones(len(p_all) - len(reals))].astype(int)
    overall = compute_metrics(y, p_all, score=z_all)
    per_family = {}
    for f, (p, z) in fam_scores.items():
        m = compute_metrics(np.r_[np.zeros(len(reals)), np.ones(len(p))].astype(int), np.r_[p_real, p],
                            score=np.r_[raw(p_real, z_real), raw(p, z)])
        per_family[f] = {k: m[k] for k in ("auc", "ap", "acc_synthetic")}
    pc, zc = det.scores(calib)
    thr = conformal_threshold(raw(pc, zc), target_fpr)
    images = reals + [img for imgs in fakes.values() for img in imgs]
    domain = det.domain
    ood = [bool(domain.check(det.view(img), codec)) for img in images] if domain else []
    reasons: dict[str, int] = {}
    for img in images[: len(reals)] if domain else []:
        for r in domain.check(det.view(img), codec):
            key = r.split(" (")[0].split(" px")[0]
            reasons[key] = reasons.get(key, 0) + 1
    return {
        "overall": {k: overall[k] for k in ("auc", "ap", "accuracy", "acc_real", "acc_synthetic", "ece")},
        "per_family": per_family,
        "lfw_fpr_own": float(np.mean(p_real >= 0.5)),
        "lfw_fpr_calibrated": float(np.mean(raw(p_real, z_real) >= thr)),
        "recall_calibrated": float(np.mean(z_all[len(reals):] >= thr)),
        "calibrated_threshold_raw": thr,
        "ood_share": float(np.mean(ood)) if ood else None,
        "ood_share_real": float(np.mean(ood[: len(reals)])) if ood else None,
        "ood_reasons_real": reasons,
        "n_real": len(reals), "n_fake": int(len(p_all) - len(reals)),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-w", "--workspace", type=Path, default=Path("benchmarks/results/detect_generalisation_ws"))
    ap.add_argument("--n-utk", type=int, default=360, help="UTKFace training reals (native 200 px)")
    ap.add_argument("--n-lfw", type=int, default=180, help="LFW photos per test role (reals, fakes' content, calibration)")
    ap.add_argument("--classic", default="dcgan=200", help="forge family=steps at 64 px, comma-separated")
    ap.add_argument("--n-classic", type=int, default=300, help="samples per classic family")
    ap.add_argument("--held-out", default="pixelshuffle,modconv-skip", help="zoo up-samplers kept out of training")
    ap.add_argument("--fake-sets", default="", help="forge sample sets in the workspace to test on as held-out families")
    ap.add_argument("--detectors", default=",".join(setups(1)), help="set-ups to measure")
    ap.add_argument("--epochs", type=int, default=6)
    ap.add_argument("--sim-steps", type=int, default=120)
    ap.add_argument("--target-fpr", type=float, default=0.05)
    ap.add_argument("--out", type=Path, default=Path("benchmarks/results/detect_generalisation.json"))
    args = ap.parse_args()

    import torch

    torch.set_num_threads(2)
    ws = Workspace(args.workspace)
    t_start = time.perf_counter()
    utk_files = _files(DATA / "utkface", args.n_utk)
    lfw_files = _files(DATA / "lfw", 3 * args.n_lfw)
    utk = real_set(ws, "utk-native", utk_files, None)
    utk64 = real_set(ws, "utk-64", utk_files, 64)
    classic = [classic_family(ws, utk64, fam, int(steps), args.n_classic)
               for fam, steps in (item.split("=") for item in args.classic.split(",") if item)]
    lfw = [decode(f) for f in lfw_files]
    test_reals, fake_src, calib = lfw[:args.n_lfw], lfw[args.n_lfw:2 * args.n_lfw], lfw[2 * args.n_lfw:]
    utk_train = [decode(f) for f in utk_files[: int(0.7 * len(utk_files))]]
    say("fitting the held-out zoo generators")
    fakes = held_out_test(utk_train, fake_src, args.held_out.split(","), args.sim_steps)
    for ref in filter(None, args.fake_sets.split(",")):
        s = open_set(ws, ref)
        fakes[s.record.name] = list(s.load(s.rows[: args.n_lfw]))
    enc = lambda imgs: [jpeg(img, TEST_QUALITY) for img in imgs]  # noqa: E731
    test_reals, calib = enc(test_reals), enc(calib)
    fakes = {f: enc(imgs) for f, imgs in fakes.items()}
    prep_s = time.perf_counter() - t_start
    results: dict[str, Any] = {
        "machine": f"{platform.machine()}, {torch.get_num_threads()} torch threads, "
                   f"{'CUDA ' + torch.cuda.get_device_name() if torch.cuda.is_available() else 'no GPU'}",
        "args": {k: str(v) for k, v in vars(args).items()}, "test_jpeg_quality": TEST_QUALITY,
        "held_out_families": sorted(fakes), "prepare_seconds": prep_s, "setups": {}}
    recipes = setups(args.epochs)
    datasets: dict[tuple[Any, ...], Any] = {}
    for name in args.detectors.split(","):
        spec = recipes[name]
        cfg = DetectTrainConfig(**{**spec["cfg"], "sim_steps": args.sim_steps})
        legacy = spec["data"] == "legacy"
        key = (spec["data"], cfg.simulate, cfg.sim_stages, cfg.encode)
        t0 = time.perf_counter()
        if key not in datasets:
            datasets[key] = assemble(ws, [utk64 if legacy else utk], classic, encode=cfg.encode,
                                     simulate=cfg.simulate, sim_steps=cfg.sim_steps, sim_stages=cfg.sim_stages)
        say(f"[{name}] training")
        det, report = fit_and_test(cfg, datasets[key])
        train_s = time.perf_counter() - t0
        row = {"config": {k: list(v) if isinstance(v, tuple) else v for k, v in spec["cfg"].items()},
               "trained_on": report["trained_on"], "in_distribution_auc": report["overall"]["auc"],
               "calibration": det.calibrator.to_dict() if hasattr(det, "calibrator") else None,
               "train_seconds": train_s, "fit_seconds": report["fit_seconds"],
               **measure(det, test_reals, fakes, calib, args.target_fpr)}
        results["setups"][name] = row
        say(f"[{name}] held-out AUC {row['overall']['auc']:.3f}, LFW FPR own {row['lfw_fpr_own']:.3f}, "
            f"calibrated {row['lfw_fpr_calibrated']:.3f}, out-of-domain {row['ood_share']}, {train_s:.0f}s")
        args.out.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_json(args.out, results)
    results["total_seconds"] = time.perf_counter() - t_start
    atomic_write_json(args.out, results)
    rows = [{"detector": n, "held-out AUC": r["overall"]["auc"], "AP": r["overall"]["ap"],
             "acc real": r["overall"]["acc_real"], "acc fake": r["overall"]["acc_synthetic"],
             "LFW FPR own": r["lfw_fpr_own"], "LFW FPR cal": r["lfw_fpr_calibrated"],
             "recall cal": r["recall_calibrated"], "OOD": r["ood_share"], "train s": r["train_seconds"]}
            for n, r in results["setups"].items()]
    print_table(rows, list(rows[0]), title="generalisation (test: JPEG q75, LFW reals, held-out families)")
    fam_rows = [{"detector": n, **{f: v["auc"] for f, v in r["per_family"].items()}} for n, r in results["setups"].items()]
    print_table(fam_rows, list(fam_rows[0]), title="held-out AUC per family")
    print(json.dumps({n: {"auc": r["overall"]["auc"], "lfw_fpr_calibrated": r["lfw_fpr_calibrated"]}
                      for n, r in results["setups"].items()}, indent=1))
    err.print(f"results written to {args.out}")


if __name__ == "__main__":
    main()
