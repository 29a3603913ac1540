"""Detect: detectors and their training sets, curves, threshold, leave-one-out, robustness, per-sample browser."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

import altair as alt
import numpy as np
import pandas as pd
import streamlit as st
from sklearn.metrics import precision_recall_curve, roc_curve

from assay.dashboard import data_access as da
from assay.dashboard.views.parts import scoring
from assay.dashboard.views.parts.widgets import empty_state, pick, show_table, threshold_slider
from assay.detect import auc, average_precision, eer

BROWSER_PAGE = 24


def detectors_table(dets: list[dict[str, Any]]) -> None:
    rows = [{"id": d["id"], "name": d["name"], "type": d["params"].get("detector"), "status": d["status"],
             "trained on families": d["params"].get("families"), "sets": d["params"].get("sets"),
             **{f"test {k}": (d["params"].get("test") or {}).get(k) for k in ("auc", "ap", "eer", "ece")},
             "loo study": d["params"].get("loo_study")} for d in dets]
    show_table(rows)


def curve_charts(y: np.ndarray, p: np.ndarray) -> tuple[alt.Chart, alt.Chart]:
    fpr, tpr, _ = roc_curve(y, p)
    precision, recall, _ = precision_recall_curve(y, p)
    roc = alt.Chart(pd.DataFrame({"false positive rate": fpr, "true positive rate": tpr}), title="ROC").mark_line(
        interpolate="step-after").encode(x="false positive rate:Q", y="true positive rate:Q")
    pr = alt.Chart(pd.DataFrame({"recall": recall, "precision": precision}), title="Precision-recall").mark_line(
        interpolate="step-after").encode(x="recall:Q", y="precision:Q")
    return roc, pr


def confusion(y: np.ndarray, p: np.ndarray, threshold: float) -> pd.DataFrame:
    pred = (p >= threshold).astype(int)
    names = {0: "real", 1: "synthetic"}
    return pd.DataFrame([{"true": names[t], "predicted": names[q], "count": int(((y == t) & (pred == q)).sum())}
                         for t in (0, 1) for q in (0, 1)])


def heatmap(frame: pd.DataFrame, x: str, y: str, value: str, text: str, title: str) -> alt.Chart:
    base = alt.Chart(frame, title=title).encode(x=alt.X(f"{x}:N"), y=alt.Y(f"{y}:N"))
    return (base.mark_rect().encode(color=alt.Color(f"{value}:Q", scale=alt.Scale(scheme="blues")),
                                    tooltip=[x, y, value])
            + base.mark_text(baseline="middle").encode(text=f"{text}:N"))


def scores_section(root: str, det: dict[str, Any]) -> None:
    st.subheader("ROC, precision-recall and threshold")
    key = f"scored-{det['id']}"
    if not st.session_state.get(key):
        st.caption("Scores the detector's test split (the sets it was trained on; nothing is written).")
        if not st.button("Score the test split", key="detect-score"):
            return
        st.session_state[key] = True
    s = scoring.test_scores(root, det["id"])
    families = sorted({f for f, y in zip(s["family"], s["y"].tolist()) if y == 1})
    family = st.selectbox("Synthetic images scored", ["all", *families], key="detect-score-family",
                          format_func=lambda f: "every family" if f == "all" else f"{f} only")
    keep = np.array([y == 0 or family in ("all", f) for f, y in zip(s["family"], s["y"].tolist())], dtype=bool)
    y, p = s["y"][keep], s["p"][keep]
    if len(set(y.tolist())) < 2:
        st.warning("The test split lacks real or synthetic images: no curve to draw.")
        return
    st.caption(scoring.scored_caption(s, family))
    c = st.columns(3)
    c[0].metric("AUC", f"{auc(y, p):.3f}")
    c[1].metric("AP", f"{average_precision(y, p):.3f}")
    c[2].metric("EER", f"{eer(y, p):.3f}")
    roc, pr = curve_charts(y, p)
    left, right = st.columns(2)
    left.altair_chart(roc, width="stretch")
    right.altair_chart(pr, width="stretch")
    threshold = threshold_slider("detect-threshold")
    matrix = confusion(y, p, threshold)
    st.altair_chart(heatmap(matrix, "predicted", "true", "count", "count", f"Confusion matrix at {threshold:.2f}"),
                    width="stretch")
    sample_browser(root, det, s, threshold)


def sample_browser(root: str, det: dict[str, Any], s: dict[str, Any], threshold: float) -> None:
    st.subheader("Per-sample browser")
    y, p = s["y"], s["p"]
    right = (p >= threshold).astype(int) == y
    c = st.columns(3)
    family = c[0].selectbox("Family", ["all", *sorted(set(s["family"]))], key="detect-family")
    label = c[1].selectbox("True label", ["all", "real", "synthetic"], key="detect-label")
    outcome = c[2].selectbox("Outcome", ["all", "right", "wrong"], key="detect-outcome")
    keep = [i for i in range(len(y))
            if family in ("all", s["family"][i]) and label in ("all", ("real", "synthetic")[y[i]])
            and outcome in ("all", "right" if right[i] else "wrong")]
    st.caption(f"{len(keep)} of {len(y)} test images; first {min(len(keep), BROWSER_PAGE)} shown")
    shown = keep[:BROWSER_PAGE]
    if not shown:
        return
    st.image([s["images"][i] for i in shown], width=72,
             caption=[f"#{i} {s['family'][i]} {p[i]:.2f} {'ok' if right[i] else 'WRONG'}" for i in shown])
    index = st.selectbox("Explain image", shown, format_func=lambda i: f"#{i} {s['family'][i]} p={p[i]:.3f}",
                         key="detect-explain")
    made = scoring.explanation(root, det["id"], s["images"][index])
    if made is None:
        st.info(f"A {det['params'].get('detector')} detector has no Grad-CAM or spectrum view "
                "(cnn and npr detectors have Grad-CAM, spectral has the spectrum).")
    else:
        st.image(made[1], caption=f"{made[0]} of #{index}", width=360)


def loo_section(dets: list[dict[str, Any]]) -> None:
    st.subheader("Leave-one-generator-out")
    studies: dict[str, dict[str, Any]] = defaultdict(dict)
    for d in dets:
        if d["params"].get("loo_matrix"):
            studies[d["params"]["loo_study"]] = d["params"]["loo_matrix"]
    if not studies:
        empty_state("leave-one-generator-out studies", "assay detect loo --model spectral --real SET --fake A,B,C "
                                                       "--save-folds")
        return
    study = st.selectbox("Study", sorted(studies), key="detect-loo")
    frame = pd.DataFrame([{"held out": held, "tested": fam, "auc": v["auc"],
                           "text": f"{v['auc']:.3f}{'' if v['seen'] else '*'}"}
                          for held, row in studies[study].items() for fam, v in row.items()])
    st.altair_chart(heatmap(frame, "tested", "held out", "auc", "text", "AUC (* = family not seen in training)"),
                    width="stretch")


def robustness_section(root: str, stamp: da.Stamp, det: dict[str, Any]) -> None:
    st.subheader("Robustness")
    folder = Path(det["path"] or "")
    files = [folder / "evaluation.json"] + [folder / e["file"] for e in det["params"].get("evaluations", [])]
    reports = [r for r in (da.json_file(root, stamp, str(f)) for f in files) if r and r.get("robustness")]
    if not reports:
        empty_state("robustness measurements for this detector",
                    f"assay detect eval {det['id']} --real SET --fake SAMPLES")
        return
    report = reports[-1]
    rows = [{"condition": "clean", **{k: report["overall"].get(k) for k in ("auc", "ap", "eer", "accuracy")}}]
    rows += [{"condition": name, **{k: r["overall"].get(k) for k in ("auc", "ap", "eer", "accuracy")}}
             for name, r in report["robustness"].items()]
    frame = pd.DataFrame(rows)
    st.altair_chart(alt.Chart(frame, title="AUC per perturbation").mark_bar().encode(
        x=alt.X("condition:N", sort=None), y=alt.Y("auc:Q", scale=alt.Scale(domain=[0, 1])),
        tooltip=list(frame.columns)), width="stretch")
    show_table(rows)


def render() -> None:
    st.title("Detect")
    root, stamp = da.current()
    dets = da.records(root, stamp, "detectors")
    if not dets:
        empty_state("detectors", "assay detect train --model spectral --real SET --fake SAMPLES")
        return
    detectors_table(dets)
    # leave-one-out fold detectors last in the picker: a study's folds are read in its heatmap
    det = pick("Detector", sorted(dets, key=lambda d: not d["params"].get("loo_study")), "detect-det")
    evaluation = da.json_file(root, stamp, str(Path(det["path"] or "") / "evaluation.json"))
    if evaluation:
        st.subheader("Test report per family")
        show_table([{"family": "all", **evaluation["overall"]}]
                   + [{"family": f, **v} for f, v in evaluation.get("per_family", {}).items()],
                   ["family", "auc", "ap", "eer", "accuracy", "acc_real", "acc_synthetic", "ece", "n_real",
                    "n_synthetic"])
    curves = da.json_file(root, stamp, str(Path(det["path"] or "") / "curves.json"))
    if curves:
        st.altair_chart(alt.Chart(pd.DataFrame(curves), title="training").mark_line().encode(
            x="epoch:Q", y="loss:Q"), width="stretch")
    if det["status"] == "ready":
        scores_section(root, det)
    loo_section(dets)
    robustness_section(root, stamp, det)
