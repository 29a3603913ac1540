"""Detectors in the workspace: save one as a catalog artefact, load one back by id, name or recency.

A detector folder (``<workspace>/detectors/<id>``) holds ``detector.json`` (which detector,
its constructor config), its weights (``*.safetensors``), ``calibration.json``, and where
training made them ``curves.json`` (per-epoch figures), ``training.json`` (the resolved
training config and data summary) and ``evaluation.json`` (the held-out test report).
"""

from __future__ import annotations

from typing import Any, Sequence

from assay.core.catalog import Record
from assay.core.errors import AssayError
from assay.core.fileio import atomic_write_json
from assay.core.workspace import Workspace
from assay.detect.base import Detector

CURVES_FILE = "curves.json"
TRAINING_FILE = "training.json"
EVALUATION_FILE = "evaluation.json"


class NoDetectorError(AssayError, LookupError):
    """The workspace has no (ready) detector to use; the message says how to train one."""


def save_detector(ws: Workspace, detector: Detector, name: str, params: dict[str, Any],
                  parents: Sequence[str], *, training: dict[str, Any] | None = None,
                  evaluation: dict[str, Any] | None = None) -> Record:
    """Write ``detector`` into a new ``detectors`` artefact and register it with its lineage.

    ``params`` go to the catalog row (keep them small: summary figures the dashboard lists);
    ``training`` and ``evaluation`` go to JSON files in the folder.
    """
    staging = ws.staging_dir("detectors", name)
    detector.save(staging)
    history = getattr(detector, "history", None)
    if history:
        atomic_write_json(staging / CURVES_FILE, history)
    if training is not None:
        atomic_write_json(staging / TRAINING_FILE, training)
    if evaluation is not None:
        atomic_write_json(staging / EVALUATION_FILE, evaluation)
    calibrator = getattr(detector, "calibrator", None)
    row = {"detector": detector.name, "config": detector.get_params(), **params}
    if calibrator is not None:
        row.setdefault("calibration", calibrator.name)
    return ws.commit("detectors", name, staging, row, parents)


def load_detector(ws: Workspace, ref: str | None = None) -> tuple[Detector, Record]:
    """The detector ``ref`` (id or name), or the most recent ready one when ``ref`` is None.

    Detectors made by a leave-one-generator-out study (``params.loo_study``) are skipped by
    the default: they are missing one generator family on purpose.
    """
    if ref is None:
        ready = [r for r in ws.catalog.list("detectors", status="ready") if not r.params.get("loo_study")]
        if not ready:
            raise NoDetectorError(
                f"no trained detector in workspace {ws.root}: train one with "
                "`assay detect train --model spectral --real SET --fake SET`")
        rec = ready[-1]
    else:
        rec = ws.resolve(ref, kind="detectors")
        if rec.status != "ready":
            raise NoDetectorError(f"detector {rec.id} is {rec.status}, not ready")
    return Detector.load(ws.path_of(rec)), rec
