"""``assay forge eval``: sample-quality metrics of a run or a sample set, always beside two reference
rows measured the same way, and the cheap metrics during training (``eval_every``).

Rows (one JSON line each in ``eval.jsonl`` of the run or sample-set folder):

- ``generator``: the run's samples (or the sample set) against ``n`` reference images;
- ``real-vs-real``: ``n`` held-out images of the reference set (its other splits) against the same
  reference images: the floor a perfect generator would reach at this ``n``;
- ``degenerate``: one held-out image repeated ``n`` times against them: a fully collapsed generator.

Every image is measured at the evaluated size (reference images are resized to it) and fed the same
way; real-set features are cached in ``<workspace>/cache/features``. Only ``n`` images of the reference
split are read and embedded: identity leakage searches those ``n`` reference faces (the embeddings
``assay data prepare`` stored, measured on the source photo, where all have one; else embeddings of
the prepared images), so a larger ``--n`` searches more of the training set.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch

from assay.core.clitools import out, print_table
from assay.core.devices import pick_device
from assay.core.errors import InputError
from assay.core.fileio import append_jsonl, atomic_write_bytes
from assay.core.imageio import decode
from assay.core.imagesets import ImageSet, open_set
from assay.core.workspace import Workspace
from assay.forge import checkpoint
from assay.forge.data import to_uint8
from assay.forge.features import FEATURES, FeatureOptions, load_inception
from assay.forge.grids import grid_png
from assay.forge.metrics import (
    CHEAP_METRICS,
    DEFAULT_METRICS,
    INCEPTION_METRICS,
    METRICS,
    NEAREST_K,
    Pair,
    Subject,
    calc_metric,
)
from assay.forge.plots import plot_run
from assay.forge.sampling import generate, load_latent_generator

EVAL = "eval.jsonl"
DEFAULT_N = 1000
#: the k-NN metrics need k + 2 points per set
MIN_N = NEAREST_K + 2
GRID = 36
#: below this many images per row the reading warns that the numbers are unstable
STABLE_N = 200
#: the report's numbers in the order tables show them (FID, KID and IS only exist with the standard Inception weights)
EVAL_COLUMNS = ("fd_dlib", "kid_dlib", "precision_dlib", "recall_dlib", "density_dlib", "coverage_dlib", "swd",
                "face_rate", "leakage", "fid", "kid", "is")
LIBRARIES = ("torch", "torch-fidelity", "prdc", "dlib-bin", "face-recognition-models", "numpy", "scikit-learn")


def versions() -> dict[str, str]:
    """Versions of the libraries whose math or models the numbers come from."""
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for name in LIBRARIES:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = "not installed"
    return out


def _resized(images: np.ndarray, size: int) -> np.ndarray:
    from assay.core.faces import resize

    if images.shape[1] == size:
        return images
    return np.stack([resize(im, size) for im in images])


def _real_subject(ws: Workspace, ds: ImageSet, rows: Sequence[dict[str, Any]], label: str, size: int) -> Subject:
    return Subject(label, _resized(ds.load(rows), size), [f"{ds.record.id}/{r['file']}" for r in rows],
                   cache_dir=ws.root / "cache" / "features", shas=[r["sha256"] for r in rows])


def parse_against(text: str) -> tuple[str, str]:
    """``SET:split`` (or ``SET``, meaning its train split) -> (set, split)."""
    ref, _, split = text.partition(":")
    if not ref:
        raise InputError(f"--against expects SET:split (e.g. utk64:train), got {text!r}")
    return ref, split or "train"


@dataclass
class Reference:
    """The reference split (``n`` images), held-out images (``n``) and every reference image's embedding."""

    real: Subject
    heldout: Subject
    train_embeddings: np.ndarray
    train_names: list[str]
    train_paths: list[Path]
    against: str
    heldout_splits: list[str]


def reference(ws: Workspace, ref: str, split: str, size: int, n: int, seed: int, opts: FeatureOptions,
              leak: bool = True) -> Reference:
    """The reference and held-out subsets of ``ref``; with ``leak``, every reference image's embedding too."""
    ds = open_set(ws, ref)
    if ds.record.kind != "datasets":
        raise InputError(f"--against must be a prepared data set, {ref!r} is a {ds.record.kind} artefact")
    train, held = ds.select(split), [r for r in ds.rows if r.get("split") != split]
    if not train or not held:
        raise InputError(f"data set {ds.record.id} needs images in split {split!r} and in another split "
                         f"(the held-out reference); it has {len(train)} and {len(held)}")
    n = min(n, len(train), len(held))
    rng = np.random.default_rng(seed)
    pick = lambda rows: [rows[i] for i in sorted(rng.choice(len(rows), n, replace=False))]  # noqa: E731
    picked = pick(train)
    real = _real_subject(ws, ds, picked, "reference", size)
    heldout = _real_subject(ws, ds, pick(held), "real-vs-real", size)
    names = [f"{ds.record.id}/{r['file']}" for r in picked]
    if not leak:
        emb = np.zeros((0, 128), dtype=np.float32)
    elif all(r.get("embedding") for r in picked):
        emb = np.asarray([r["embedding"] for r in picked], dtype=np.float32)
    else:
        emb = real.feat("dlib", opts)
    return Reference(real, heldout, emb, names, [ds.path(r) for r in picked], f"{ds.record.id}:{split}",
                     sorted({str(r.get("split")) for r in held}))


def _target_images(ws: Workspace, rec: Any, n: int, seed: int, which: str, device: str) -> tuple[Subject, dict[str, Any]]:
    """The images under test and what they came from: ``n`` fresh samples of a run, or a sample set's first ``n``."""
    if rec.kind == "runs":
        g, cfg, pointer = load_latent_generator(Path(rec.path or ""), pick_device(device), which)
        images = np.stack([im for _, im, _ in generate(g, cfg, n, seed)])
        names = [f"{rec.id} seed {seed} latent {i}" for i in range(n)]
        return Subject("generator", images, names), {"checkpoint": which, "checkpoint_step": pointer["step"],
                                                     "checkpoint_sha256": pointer["weights_sha256"],
                                                     "family": cfg.model, "seed": seed}
    s = open_set(ws, rec.id)
    rows = sorted(s.rows, key=lambda r: r.get("latent_index", 0))[:n]
    return Subject("generator", s.load(rows), [f"{rec.id}/{r['file']}" for r in rows]), \
        {"family": rec.params.get("family"), "checkpoint_sha256": rec.params.get("checkpoint_sha256")}


def _default_against(ws: Workspace, rec: Any) -> str:
    """The data set a run was trained on (for a sample set: its run's)."""
    for parent in ([rec.id] if rec.kind == "runs" else []) + list(rec.parents):
        p = ws.resolve(parent)
        if p.kind == "datasets":
            return p.id
        if p.kind == "runs" and p.params.get("dataset"):
            return str(p.params["dataset"])
    raise InputError(f"{rec.id} names no training data set; pass --against SET:split")


def check_metrics(metrics: Sequence[str], inception_weights: str | None) -> list[str]:
    """Known metric names; the Inception ones only with a weights file that passes the hash check."""
    names = list(dict.fromkeys(metrics))
    for name in names:
        METRICS.get(name)
    if set(names) & set(INCEPTION_METRICS):
        if not inception_weights:
            raise InputError(f"{', '.join(sorted(set(names) & set(INCEPTION_METRICS)))} need the standard Inception "
                             "weights (--inception-weights FILE); the dlib-space metrics are fd_dlib and kid_dlib")
        load_inception(str(inception_weights))
    return names


def evaluate(ws: Workspace, target: str, *, n: int = DEFAULT_N, metrics: Sequence[str] = DEFAULT_METRICS,
             against: str | None = None, seed: int = 0, inception_weights: str | None = None,
             which_checkpoint: str = "latest", device: str = "cpu", progress: bool = True) -> list[dict[str, Any]]:
    """Measure a run (``n`` fresh samples of its ``latest`` or ``best`` checkpoint) or a sample set with
    ``metrics``, beside the real-vs-real and degenerate reference rows; appends the three rows to the
    target's ``eval.jsonl``, summarises the generator row on its catalog row and returns the rows."""
    if n < 2:
        raise InputError(f"--n must be >= 2, got {n}")
    names = check_metrics(metrics, inception_weights)
    opts = FeatureOptions(progress=progress, inception_weights=str(inception_weights) if inception_weights else None)
    rec = ws.resolve(target)
    if rec.kind not in ("runs", "samples"):
        raise InputError(f"{target!r} is a {rec.kind} artefact; forge eval takes a run or a sample set")
    size = int(rec.params.get("size") or 0)
    ref, split = parse_against(against) if against else (_default_against(ws, rec), "train")
    refs = reference(ws, ref, split, size, n, seed, opts, leak="leakage" in names)
    n_eff = len(refs.real)
    if n_eff < MIN_N:
        raise InputError(f"only {n_eff} images per row (the reference or held-out split is that small); "
                         f"the metrics need at least {MIN_N}")
    fake, source = _target_images(ws, rec, n_eff, seed, which_checkpoint, device)
    if len(fake) < n_eff:
        raise InputError(f"sample set {rec.id} has {len(fake)} images; pass --n {len(fake)} or fewer")
    collapsed = Subject("degenerate", refs.heldout.images[:1], refs.heldout.names[:1] * n_eff, repeat=n_eff)
    common = {"target": rec.id, "kind": rec.kind, **source, "n": n_eff, "n_asked": n, "against": refs.against,
              "heldout": refs.heldout_splits, "size": size, "eval_seed": seed, "versions": versions(),
              "spaces": {s: FEATURES.meta(s)["summary"] for s in FEATURES.names()
                         if any(METRICS.meta(m)["space"] == s for m in names)},
              "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    if opts.inception_weights:
        common["inception_weights_sha256"] = load_inception(opts.inception_weights)[1]
    rows = [_measure(Pair(subject, refs.real, refs.train_embeddings, refs.train_names, opts), names, common)
            for subject in (fake, refs.heldout, collapsed)]
    folder = Path(rec.path or ws.path_of(rec))
    for row in rows:
        append_jsonl(folder / EVAL, row)
    _write_figures(folder, rec, rows[0], fake, refs)
    summary = {k: v for k, v in rows[0]["metrics"].items() if isinstance(v, (int, float))}
    ws.catalog.update(rec.id, params={"eval": {"n": n_eff, "against": refs.against,
                                               "checkpoint_step": source.get("checkpoint_step"), **summary}})
    return rows


def _measure(pair: Pair, names: Sequence[str], common: dict[str, Any]) -> dict[str, Any]:
    """One report row: the subject's features (timed per space), then each metric (timed; the first to
    need the reference's features pays for them, unless they came from the cache)."""
    seconds: dict[str, float] = {}
    for space in sorted({METRICS.meta(m)["space"] for m in names} - {"pixels"}):
        start = time.perf_counter()
        pair.fake.feat(space, pair.opts)
        seconds[f"features_{space}"] = time.perf_counter() - start
    results: dict[str, Any] = {}
    for name in names:
        res = calc_metric(name, pair)
        results.update(res["results"])
        seconds[name] = res["seconds"]
    return {"subject": pair.fake.label, **common, "metrics": results, "seconds": seconds}


def _write_figures(folder: Path, rec: Any, row: dict[str, Any], fake: Subject, refs: Reference) -> None:
    """A grid of the evaluated samples, the worst leakage pairs (sample above its nearest training face)
    and, for runs, the metrics-over-training plot."""
    tag = f"step-{row['checkpoint_step']:07d}" if "checkpoint_step" in row else "set"
    atomic_write_bytes(folder / "eval" / f"grid-{tag}.png", grid_png(fake.images[:GRID]))
    worst = row["metrics"].get("leakage_worst")
    if worst:
        index = {name: i for i, name in enumerate(fake.names)}
        where = dict(zip(refs.train_names, refs.train_paths))
        size = fake.images.shape[1]
        pairs = [(fake.pixels()[index[w["sample"]]], _resized(decode(where[w["training"]])[None], size)[0])
                 for w in worst]
        atomic_write_bytes(folder / "eval" / f"leakage-{tag}.png",
                           grid_png(np.stack([a for a, _ in pairs] + [b for _, b in pairs]), len(pairs)))
    if rec.kind == "runs":
        plot_run(folder)


class TrainingEval:
    """The cheap metrics (FD-dlib, face rate) on ``eval_n`` samples at checkpoints, on rank 0, against
    ``eval_n`` training images; appends an ``event: eval`` row to ``metrics.jsonl`` and keeps the
    checkpoint with the lowest FD-dlib as ``checkpoints/best``. The samples come from fixed inputs of
    the family's kind (latents, or low-resolution training images for super-resolution)."""

    def __init__(self, t: Any, data: Any) -> None:
        cfg = t.cfg
        n = min(cfg.eval_n, len(data))
        idx = torch.randperm(len(data), generator=torch.Generator().manual_seed(cfg.seed))[:n]
        self.real = Subject("reference", data.batch(idx)[0].permute(0, 2, 3, 1).numpy(), [])
        self.inputs = t.inputs.fixed(n, cfg.seed + 1, data)

    def _batches(self, size: int = 64) -> Any:
        n = next(len(v) for v in self.inputs.values() if isinstance(v, torch.Tensor))
        for i in range(0, n, size):
            yield {k: v[i:i + size] if isinstance(v, torch.Tensor) else v for k, v in self.inputs.items()}

    def __call__(self, t: Any, run_dir: Path, bar: Any) -> dict[str, Any]:
        images = np.concatenate([to_uint8(t.generate(batch)) for batch in self._batches()])
        pair = Pair(Subject("generator", images, []), self.real, np.zeros((0, 128)), [])
        row: dict[str, Any] = {"step": t.step, "event": "eval", "eval_n": len(images)}
        for name in CHEAP_METRICS:
            row.update(calc_metric(name, pair)["results"])
        best = checkpoint.pointer_of(run_dir, "best")
        if best is None or row["fd_dlib"] < best["fd_dlib"]:
            checkpoint.save_best(run_dir, t.step, t.models(), {"family": t.cfg.model, "step": str(t.step)},
                                 {"fd_dlib": row["fd_dlib"]})
            row["best"] = True
        append_jsonl(run_dir / checkpoint.METRICS, row)
        plot_run(run_dir)
        bar.write(f"eval at step {t.step}: FD-dlib {row['fd_dlib']:.4f}, face rate {row['face_rate']:.2f}"
                  + (" (best so far)" if row.get("best") else ""), file=sys.stderr)
        return row


def print_eval_table(rows: list[dict]) -> None:
    """The report as one table: a line per metric, a column per row (generator and the reference rows)."""
    keys = [c for c in EVAL_COLUMNS if c in rows[0]["metrics"]]
    table = [{"metric": "n", **{r["subject"]: r["n"] for r in rows}}] + \
        [{"metric": k, **{r["subject"]: r["metrics"][k] for r in rows}} for k in keys]
    head = rows[0]
    print_table(table, ["metric"] + [r["subject"] for r in rows],
                title=f"forge eval {head['target']} against {head['against']} "
                      f"(held out: {','.join(head['heldout'])}; {head['size']} px)")
    out.print("FD-dlib/KID-dlib/precision/recall/density/coverage: dlib 128-d face embedding; KID and SWD x 1e3; "
              "FID/KID/IS only with the standard Inception weights.")
    line = reading(rows)
    if line:
        out.print(line)


def reading(rows: Sequence[dict[str, Any]]) -> str:
    """One line saying what the generator row's numbers mean beside the reference rows: where FD-dlib lies
    between the real-vs-real floor and the degenerate ceiling, and what the face rate and leakage count."""
    by = {r["subject"]: r["metrics"] for r in rows}
    gen, floor, ceiling = by.get("generator", {}), by.get("real-vs-real", {}), by.get("degenerate", {})
    parts = []
    if all("fd_dlib" in m for m in (gen, floor, ceiling)):
        lo, hi, fd = floor["fd_dlib"], ceiling["fd_dlib"], gen["fd_dlib"]
        share = (fd - lo) / (hi - lo) if hi > lo else float("nan")
        where = ("below the real-vs-real floor: as close to the reference as other real photos" if share <= 0 else
                 "above the degenerate ceiling: further off than one image repeated" if share >= 1 else
                 f"{share:.0%} of the way from the real-vs-real floor ({lo:.3g}) to the degenerate ceiling ({hi:.3g})")
        parts.append(f"FD-dlib {fd:.3g} lies {where}")
    if "face_rate" in gen:
        real = f" (real photos: {floor['face_rate']:.0%})" if "face_rate" in floor else ""
        parts.append(f"a face is detected in {gen['face_rate']:.0%} of the samples{real}")
    if "leakage" in gen:
        n = rows[0].get("n", "the")
        real = f"; real-vs-real {floor['leakage']:.0%} is this set's false-alarm level" if "leakage" in floor else ""
        parts.append(f"{gen['leakage']:.0%} of the samples are within the same-person distance of one of the {n} "
                     f"reference faces searched (leakage: possible copies of training identities{real})")
    n = rows[0].get("n", 0)
    if parts and n < STABLE_N:
        parts.append(f"at n = {n} these numbers move a lot between draws (use --n {STABLE_N} or more)")
    return ("Reading: " + "; ".join(parts) + ".") if parts else ""
