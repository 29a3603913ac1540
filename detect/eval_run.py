"""`assay detect eval`: score a saved detector on sets, store the report with the detector."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from assay.core.fileio import atomic_write_json
from assay.core.workspace import Workspace
from assay.detect.data import SPLITS, assemble
from assay.detect.evaluate import evaluate
from assay.detect.store import load_detector

EVALUATIONS_DIR = "evaluations"


def evaluate_sets(ws: Workspace, detector_ref: str | None, real: Sequence[str], fake: Sequence[str], *,
                  split: str = "test", perturbations: Sequence[str] = (), encode: str = "auto",
                  max_per_set: int | None = None, seed: int = 0, store: bool = True) -> dict[str, Any]:
    """Evaluate a detector on a split of the given sets (``all`` for every row).

    The report is written to ``<detector>/evaluations/<time>.json`` and summarised in the
    detector's catalog row under ``evaluations`` (for the dashboard).
    """
    if split not in (*SPLITS, "all"):
        raise ValueError(f"split must be one of {', '.join(SPLITS)} or all, got {split!r}")
    det, rec = load_detector(ws, detector_ref)
    data = assemble(ws, real, fake, max_per_set=max_per_set, encode=encode, seed=seed, require_all_splits=False)
    items = [i for s, its in data.splits.items() if split in ("all", s) for i in its]
    if not items:
        raise ValueError(f"the {split} split of the given sets is empty")
    return _report(ws, det, rec, items, data.summary(), split, data.sets, perturbations, store)


def evaluate_folders(ws: Workspace, detector_ref: str | None, *, real_dirs: Sequence[Path] = (),
                     fake_dirs: Sequence[Path] = (), layout_dirs: Sequence[Path] = (),
                     perturbations: Sequence[str] = (), encode: str = "none", max_per_folder: int | None = None,
                     seed: int = 0, store: bool = True) -> dict[str, Any]:
    """Evaluate a detector on plain folders (every image of them, recursively; see :mod:`detect.folders`).

    Each ``--fake-dir`` is a family named after the folder; in the ``0_real``/``1_fake`` layout
    each generator sub-folder is one. Same metrics, robustness and stored report as for sets; the files that
    could not be read are counted and named in ``data.unreadable``.
    """
    from assay.detect.data import Assembled
    from assay.detect.folders import load_folders

    det, rec = load_detector(ws, detector_ref)
    items, rejects = load_folders(real_dirs, fake_dirs, layout_dirs, encode, max_per_folder, seed)
    folders = {"real": [str(d) for d in real_dirs], "fake": [str(d) for d in fake_dirs],
               "layout": [str(d) for d in layout_dirs]}
    summary = Assembled({"all": items}, {"real": [], "fake": []}, encode, rejects).summary()
    summary["sets"] = folders
    summary["unreadable"] = [{"file": f, "reason": r} for f, r in rejects]
    return _report(ws, det, rec, items, summary, "all", folders, perturbations, store)


def _report(ws: Workspace, det: Any, rec: Any, items: Sequence[Any], summary: dict[str, Any], split: str,
            sources: dict[str, list[str]], perturbations: Sequence[str], store: bool) -> dict[str, Any]:
    """Score the items, build the report and (``store``) keep it with the detector."""
    y = np.array([i.label for i in items])
    report = evaluate(det, [i.image for i in items], y, [i.family for i in items], perturbations, progress=True)
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    report = {"detector": rec.id, "name": rec.name, "split": split, "at": stamp,
              "trained_on": rec.params.get("families"), "data": summary, **report}
    if store:
        folder = ws.path_of(rec) / EVALUATIONS_DIR
        atomic_write_json(folder / f"{stamp}.json", report)
        o = report["overall"]
        entry = {"at": stamp, "split": split, "sets": sources, "file": f"{EVALUATIONS_DIR}/{stamp}.json",
                 **{k: o[k] for k in ("auc", "ap", "eer", "accuracy", "ece")},
                 "per_family_auc": {f: v["auc"] for f, v in report["per_family"].items()}}
        ws.catalog.update(rec.id, {"evaluations": list(rec.params.get("evaluations", [])) + [entry]})
    return report
