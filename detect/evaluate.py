"""Detector metrics (overall and per generator family) and the robustness table.

Metrics are registered by name, each a function of (labels, P(synthetic)) returning a number,
in the manner of StyleGAN's metric registry. Label 1 is synthetic; the decision threshold
is the calibrated 0.5.
"""

from __future__ import annotations

import math
from typing import Any, Callable, Sequence

import numpy as np

from assay.core.registry import Registry
from assay.detect.base import Detector, Images
from assay.detect.data import REAL

Metric = Callable[[np.ndarray, np.ndarray], float]
METRICS: Registry[Metric] = Registry("metric")
THRESHOLD = 0.5
ECE_BINS = 15


def _both(y: np.ndarray) -> bool:
    return bool((y == 0).any() and (y == 1).any())


@METRICS.register("auc", ranking=True)
def auc(y: np.ndarray, p: np.ndarray) -> float:
    """Area under the ROC curve."""
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(y, p)) if _both(y) else math.nan


@METRICS.register("ap", ranking=True)
def average_precision(y: np.ndarray, p: np.ndarray) -> float:
    """Average precision with synthetic as the positive class."""
    from sklearn.metrics import average_precision_score

    return float(average_precision_score(y, p)) if _both(y) else math.nan


@METRICS.register("eer", ranking=True)
def eer(y: np.ndarray, p: np.ndarray) -> float:
    """Equal error rate: where the false-positive and false-negative rates cross (interpolated)."""
    from sklearn.metrics import roc_curve

    if not _both(y):
        return math.nan
    fpr, tpr, _ = roc_curve(y, p)
    fnr = 1 - tpr
    diff = fnr - fpr  # decreasing from 1 to -1
    i = int(np.flatnonzero(diff <= 0)[0])
    if i == 0 or diff[i] == 0:
        return float((fpr[i] + fnr[i]) / 2)
    t = diff[i - 1] / (diff[i - 1] - diff[i])
    return float(fpr[i - 1] + t * (fpr[i] - fpr[i - 1]))


@METRICS.register("accuracy")
def accuracy(y: np.ndarray, p: np.ndarray) -> float:
    return float(np.mean((p >= THRESHOLD) == (y == 1))) if len(y) else math.nan


@METRICS.register("acc_real")
def accuracy_real(y: np.ndarray, p: np.ndarray) -> float:
    """Share of real images scored below 0.5 (1 - false-positive rate)."""
    m = y == 0
    return float(np.mean(p[m] < THRESHOLD)) if m.any() else math.nan


@METRICS.register("acc_synthetic")
def accuracy_synthetic(y: np.ndarray, p: np.ndarray) -> float:
    """Share of synthetic images scored at or above 0.5 (recall)."""
    m = y == 1
    return float(np.mean(p[m] >= THRESHOLD)) if m.any() else math.nan


@METRICS.register("ece")
def expected_calibration_error(y: np.ndarray, p: np.ndarray) -> float:
    """Expected calibration error of P(synthetic): |observed rate - mean score| over 15 equal bins."""
    if not len(y):
        return math.nan
    bins = np.minimum((p * ECE_BINS).astype(int), ECE_BINS - 1)
    total = 0.0
    for b in np.unique(bins):
        m = bins == b
        total += m.sum() / len(y) * abs(float(np.mean(y[m])) - float(np.mean(p[m])))
    return float(total)


def compute_metrics(y: np.ndarray, p: np.ndarray, names: Sequence[str] | None = None,
                    score: np.ndarray | None = None) -> dict[str, float]:
    """Every registered metric (or the named ones), plus the class counts.

    A metric undefined on these labels (AUC with one class present) is None. Ranking
    metrics (AUC, AP, EER) use ``score`` when given: the raw logit, which a calibrator
    that saturates or steps (isotonic) cannot turn into ties.
    """
    y, p = np.asarray(y).astype(int), np.asarray(p, dtype=np.float64)
    s = p if score is None else np.asarray(score, dtype=np.float64)
    out: dict[str, Any] = {}
    for n in names or METRICS.names():
        value = METRICS.get(n)(y, s if METRICS.meta(n).get("ranking") else p)
        out[n] = None if math.isnan(value) else value  # undefined (one class only): null in JSON
    out["n_real"], out["n_synthetic"] = int((y == 0).sum()), int((y == 1).sum())
    return out


def per_family(y: np.ndarray, p: np.ndarray, families: Sequence[str], names: Sequence[str] | None = None,
               score: np.ndarray | None = None) -> dict[str, dict[str, float]]:
    """Metrics of every fake family against all the reals."""
    fam = np.asarray(families)
    real = fam == REAL
    s = p if score is None else np.asarray(score)
    return {f: compute_metrics(y[m], p[m], names, s[m])
            for f in sorted(set(fam[~real].tolist())) for m in [real | (fam == f)]}


def score_report(y: np.ndarray, p: np.ndarray, families: Sequence[str],
                 score: np.ndarray | None = None) -> dict[str, Any]:
    y = np.asarray(y).astype(int)
    return {"overall": compute_metrics(y, p, score=score), "per_family": per_family(y, p, families, score=score)}


def evaluate(detector: Detector, images: Images, y: np.ndarray, families: Sequence[str],
             perturbations: Sequence[str] = (), progress: bool = False) -> dict[str, Any]:
    """Metrics on clean images, then on each named perturbation (see :mod:`detect.robustness`)."""
    from tqdm import tqdm

    from assay.detect.robustness import PERTURBATIONS

    y = np.asarray(y).astype(int)
    p, z = detector.scores(images)
    report = score_report(y, p, families, score=z)
    report["robustness"] = {}
    for name in tqdm(perturbations, desc="robustness", disable=not (progress and perturbations), leave=False):
        fn = PERTURBATIONS.get(name)
        p, z = detector.scores([fn(img) for img in images])
        report["robustness"][name] = score_report(y, p, families, score=z)
    return report


def report_rows(report: dict[str, Any], metrics: Sequence[str] = ("auc", "ap", "eer", "accuracy", "acc_real",
                                                                    "acc_synthetic", "ece")) -> list[dict[str, Any]]:
    """Flat rows for a printed table: one per (condition, family)."""
    rows = []
    conditions = [("clean", report)] + list(report.get("robustness", {}).items())
    for cond, rep in conditions:
        rows.append({"condition": cond, "family": "all", **{m: rep["overall"].get(m) for m in metrics}})
        for fam, vals in rep["per_family"].items():
            rows.append({"condition": cond, "family": fam, **{m: vals.get(m) for m in metrics}})
    return rows
