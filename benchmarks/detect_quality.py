"""Detector quality: in-distribution AUC/AP, leave-one-generator-out AUC matrix, robustness, LFW false positives.

By default (forge mode) it builds everything in a workspace: a UTKFace subset and an LFW
subset prepared with ``data.prepare.prepare``, one short forge run per GAN family and one
sample set per run (metadata labels only: c2pa + xmp, so the pixels are the generator's).
Artefacts already in the workspace are reused by name, so a re-run skips preparing, training
and sampling. With ``--real``/``--fake`` (and ``--lfw``) it measures the given sets instead.
``--standin`` builds STAND-IN fake families from UTKFace (half-size faces brought back up by
nearest-neighbour, zero-insertion (transposed-convolution-like) and bilinear 2x up-sampling):
a proxy for generator up-sampling traces, not GAN output, and labelled so in the output and JSON.

    .venv/bin/python benchmarks/detect_quality.py                      # forge families
    .venv/bin/python benchmarks/detect_quality.py --standin            # stand-in families
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

from assay.core.clitools import err, print_table  # noqa: E402
from assay.core.fileio import atomic_write_json  # noqa: E402
from assay.core.imagesets import ImageSetWriter, open_set  # noqa: E402
from assay.core.workspace import Workspace  # noqa: E402
from assay.detect import (  # noqa: E402  # noqa: E402
    PERTURBATIONS,  # noqa: E402
    DetectTrainConfig,
    assemble,
    fit_and_test,
    leave_one_out,  # noqa: E402
    parse_encode,
    reencode,
)

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
STANDIN_FAMILIES = ("standin-nearest", "standin-zeroinsert", "standin-bilinear")
SIMS = ("transposed", "nearest", "bilinear")
#: measured by default (about 10 minutes on 2 CPU cores); ``--detectors all`` adds the resnet18 CNN
DEFAULT_VARIANTS = ["spectral", "dct", "npr", "ensemble", "spectral+sim", "npr+sim", "npr+sim+wang"]
#: forge mode: the families trained and their steps at 32 px, batch 64 (wgan, wgan-gp: 5 critic steps per step)
FORGE_STEPS = {"vanilla": 1500, "dcgan": 600, "wgan": 250, "wgan-gp": 150, "cgan": 600}


def say(message: str) -> None:
    err.print(message, markup=False, highlight=False)


def variants(size: int) -> dict[str, dict[str, Any]]:
    """Detector set-ups measured: name -> DetectTrainConfig fields."""
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
    from assay.core.imageio import decode

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


def _subset(src: Path, limit: int, into: Path) -> Path:
    """Symlink the first ``limit`` JPEGs of ``src`` (sorted) into ``into``: the same files every run."""
    into.mkdir(parents=True, exist_ok=True)
    for p in sorted(src.glob("*.jpg"))[:limit]:
        link = into / p.name
        if not link.exists():
            link.symlink_to(p.resolve())
    return into


def _existing(ws: Workspace, kind: str, name: str) -> str | None:
    """Id of the ready artefact ``name`` of ``kind``, or None."""
    from assay.core.catalog import CatalogError

    try:
        rec = ws.catalog.get(name, kind)
    except CatalogError:
        return None
    return rec.id if rec.status == "ready" else None


def _prepared(ws: Workspace, name: str, src: Path, limit: int, cfg: Any) -> str:
    from assay.data import prepare

    found = _existing(ws, "datasets", name)
    if found:
        say(f"reusing data set {name} ({found})")
        return found
    t0 = time.perf_counter()
    folder = _subset(src, limit, ws.root / "sources" / name)
    res = prepare(ws, folder, name, cfg)
    if res.record is None:
        raise SystemExit(f"preparing {name} produced nothing: {res.rejects[:3]}")
    say(f"prepared {name}: {res.kept} kept, {res.rejected} rejected in {time.perf_counter() - t0:.0f}s")
    return res.record.id


def build_forge(ws: Workspace, n_utk: int, n_lfw: int, n_samples: int, size: int, steps: dict[str, int],
                width: int) -> tuple[str, list[str], str, dict[str, Any]]:
    """Prepared UTKFace and LFW subsets, one short forge run and one sample set per family; returns refs."""
    from assay.data import PrepareConfig
    from assay.forge import make_config, sample, train

    info: dict[str, Any] = {"steps": {}, "width": width, "n_samples": n_samples, "seconds": {}}
    # UTKFace chips are already aligned and carry no identities: no face detection, no embeddings
    # (splits are then made per image, so one person may sit on both sides of a split)
    real = _prepared(ws, f"utk-{size}", DATA / "utkface", n_utk,
                     PrepareConfig(size=size, align="none", layout="utkface", embed=False))
    lfw = _prepared(ws, f"lfw-{size}", DATA / "lfw", n_lfw, PrepareConfig(size=size, align="dlib", embed=False))
    fakes = []
    for fam, n_steps in steps.items():
        run_name, set_name = f"{fam}-{size}", f"{fam}-{size}-samples"
        run_id = _existing(ws, "runs", run_name)
        if run_id:
            say(f"reusing run {run_name} ({run_id})")
        else:
            t0 = time.perf_counter()
            say(f"training {fam} at {size} px for {n_steps} steps")
            cfg = make_config(fam, size, steps=n_steps, batch=64, threads=1, g_ch=width, d_ch=width,
                              sample_every=n_steps, checkpoint_every=n_steps)
            run_id = train(ws, real, cfg, name=run_name)
            info["seconds"][f"train {fam}"] = time.perf_counter() - t0
        info["steps"][fam] = ws.catalog.get(run_id, "runs").params.get("final_step")
        set_id = _existing(ws, "samples", set_name)
        if set_id:
            say(f"reusing sample set {set_name} ({set_id})")
        else:
            t0 = time.perf_counter()
            set_id = sample(ws, run_id, n_samples, seed=0, labels="c2pa,xmp", name=set_name)
            info["seconds"][f"sample {fam}"] = time.perf_counter() - t0
        fakes.append(set_id)
    return real, fakes, lfw, info


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
    ap.add_argument("--standin", action="store_true", help="stand-in families instead of forge sample sets")
    ap.add_argument("--n", type=int, default=200, help="stand-in mode: images per set")
    ap.add_argument("--size", type=int, default=None, help="image size (default: 32 in forge mode, else 64)")
    ap.add_argument("--n-utk", type=int, default=1200, help="forge mode: UTKFace files prepared (reals)")
    ap.add_argument("--n-lfw", type=int, default=400, help="forge mode: LFW files prepared (false-positive set)")
    ap.add_argument("--n-samples", type=int, default=300, help="forge mode: images sampled per family")
    ap.add_argument("--width", type=int, default=32, help="forge mode: generator/discriminator base width")
    ap.add_argument("--steps", default=None, help="forge mode: family=steps,... (default: "
                    + ",".join(f"{k}={v}" for k, v in FORGE_STEPS.items()) + ")")
    ap.add_argument("--max-per-set", type=int, default=None)
    ap.add_argument("--no-loo", action="store_true", help="skip the leave-one-generator-out matrices")
    ap.add_argument("--out", type=Path, default=None,
                    help="default benchmarks/results/detect_quality.json (_standin.json in stand-in mode)")
    args = ap.parse_args()

    import torch

    torch.set_num_threads(2)
    mode = "given" if args.fake else "standin" if args.standin else "forge"
    args.size = args.size or (32 if mode == "forge" else 64)
    args.out = args.out or Path(f"benchmarks/results/detect_quality{'_standin' if mode == 'standin' else ''}.json")
    built: dict[str, Any] = {}
    lfw_limit = args.n
    if mode == "standin":
        root = args.workspace or Path("benchmarks/results/detect_quality_ws")
        if root.exists():
            import shutil

            shutil.rmtree(root)
        ws = Workspace(root)
        real, fakes, lfw = build_standin(ws, args.n, args.size)
        reals = [real]
    elif mode == "forge":
        ws = Workspace(args.workspace or Path("benchmarks/results/detect_quality_forge_ws"))
        steps = dict(FORGE_STEPS)
        for item in (args.steps.split(",") if args.steps else []):
            fam, value = item.split("=")
            steps[fam] = int(value)
        t0 = time.perf_counter()
        real, fakes, lfw, built = build_forge(ws, args.n_utk, args.n_lfw, args.n_samples, args.size, steps,
                                                 args.width)
        built["seconds"]["build total"] = time.perf_counter() - t0
        reals, lfw_limit = [real], args.n_lfw
    else:
        ws = Workspace(args.workspace)
        reals, fakes, lfw = args.real.split(","), args.fake.split(","), args.lfw
    all_variants = variants(args.size)
    chosen = args.detectors.split(",") if args.detectors else DEFAULT_VARIANTS
    if chosen == ["all"]:
        chosen = list(all_variants)
    results: dict[str, Any] = {
        "mode": "STAND-IN families (up-sampled UTKFace faces, not GAN output)" if mode == "standin"
                else "forge sample sets",
        "machine": f"{platform.machine()}, {torch.get_num_threads()} torch threads, "
                   f"{'CUDA ' + torch.cuda.get_device_name() if torch.cuda.is_available() else 'no GPU'}",
        "sets": {"real": reals, "fake": fakes, "lfw": lfw}, "size": args.size, "built": built,
        "set_sizes": {ref: len(open_set(ws, ref).rows) for ref in [*reals, *fakes, *([lfw] if lfw else [])]},
        "variants": {}}
    datasets: dict[tuple[str, ...], Any] = {}
    for name in chosen:
        spec = all_variants[name]
        cfg = DetectTrainConfig(robustness=tuple(PERTURBATIONS.names()), max_per_set=args.max_per_set, **spec)
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
            row["lfw"] = lfw_false_positives(det, ws, lfw, data.encode, lfw_limit)
        if not args.no_loo:
            say(f"[{name}] leave-one-generator-out")
            loo = leave_one_out(ws, DetectTrainConfig(max_per_set=args.max_per_set, **spec), reals, fakes, data=data)
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
