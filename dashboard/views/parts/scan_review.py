"""The Scan page's review of a past scan: verdicts at a chosen threshold, filters by verdict and score, a gallery
of the scanned faces, the reviewer's own decision on each file, and the filtered results as CSV (the columns of
``assay detect scan --format csv``, the threshold and the decision). The threshold, filters and decisions are kept
for the session, across page switches; the gallery's thumbnails are cached per file."""

from __future__ import annotations

import csv
import hashlib
import io
import math
from pathlib import Path
from typing import Any

import numpy as np
import streamlit as st

from assay.dashboard import data_access as da
from assay.dashboard.views.parts.widgets import KEPT, threshold_slider
from assay.detect import flat_row

SYNTHETIC, REAL, UNCERTAIN, ERROR = "synthetic", "real", "uncertain", "error"
VERDICTS = (SYNTHETIC, UNCERTAIN, REAL, ERROR)
GALLERY = 24  #: faces shown at most
THUMB = 96  #: gallery width of one face, pixels
#: a reviewer's call on a file, beside (never replacing) the detector's verdict
DECISIONS = ("not reviewed", "synthetic", "real", "follow up")
DECIDED = "scan-review-decisions"  #: session-state key of {scan id: {path: decision}}


def _decide(regions: list[dict[str, Any]], threshold: float) -> str:
    """A frame's or image's verdict from its regions, as the scan decides it: synthetic when an in-domain region
    reaches the threshold, else uncertain when a region is out of the detector's domain, else real."""
    if any(r["probability"] >= threshold and not r["domain"]["reasons"] for r in regions):
        return SYNTHETIC
    return UNCERTAIN if any(r["domain"]["reasons"] for r in regions) else REAL


def verdict_at(result: dict[str, Any], threshold: float) -> str:
    """The file's verdict had the scan flagged at ``threshold`` on P(synthetic); a video is flagged when at least
    the scan's fraction of its sampled frames is."""
    if result["status"] != "ok":
        return ERROR
    if result.get("threshold") is not None and round(result["threshold"], 2) == round(threshold, 2):
        return result["verdict"]  # the slider at the scan's threshold: its verdict (also where it used raw scores)
    video = result.get("video")
    if not video:
        return _decide(result.get("regions") or [], threshold)
    frames = [_decide(f["regions"], threshold) for f in video["frames"]]
    needed = max(1, math.ceil(video["min_flagged_fraction"] * len(frames) - 1e-9))
    if frames.count(SYNTHETIC) >= needed:
        return SYNTHETIC
    return UNCERTAIN if UNCERTAIN in frames else REAL


def at_threshold(results: list[dict[str, Any]], threshold: float) -> list[dict[str, Any]]:
    """The results with their verdicts (and flags) at ``threshold``."""
    out = []
    for r in results:
        verdict = verdict_at(r, threshold)
        out.append({**r, "verdict": verdict if verdict != ERROR else r["verdict"], "review_verdict": verdict,
                    "flagged": verdict == SYNTHETIC, "threshold": threshold})
    return out


def reason(result: dict[str, Any]) -> str:
    """Why the file is uncertain (the detector's domain reasons) or could not be scanned; empty otherwise."""
    if result["status"] != "ok":
        return result.get("error") or ""
    if result["verdict"] != UNCERTAIN:
        return ""
    return "; ".join((result.get("domain") or {}).get("reasons") or [])


def filtered(results: list[dict[str, Any]], verdicts: list[str], low: float, high: float) -> list[dict[str, Any]]:
    """The results whose verdict is one of ``verdicts`` and whose score lies in [low, high] (errors have none:
    they pass the score filter)."""
    return [r for r in results if r["review_verdict"] in verdicts
            and (r.get("probability") is None or low <= r["probability"] <= high)]


def csv_bytes(results: list[dict[str, Any]], made: dict[str, str]) -> bytes:
    """The results as CSV: the scan command's columns, then the threshold they were decided at and the reviewer's
    decision (``made``, by path)."""
    rows = [{**flat_row(r), "threshold": r["threshold"], "decision": made.get(r["path"], DECISIONS[0])}
            for r in results]
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]) if rows else ["path"], lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


def decisions(scan_id: str) -> dict[str, str]:
    """The reviewer's decisions on one scan's files in this session, by path (a plain session-state value, which
    Streamlit keeps whatever page is shown)."""
    return st.session_state.setdefault(DECIDED, {}).setdefault(scan_id, {})


def decision_picker(scan_id: str, path: str) -> str:
    """The reviewer's decision on one file: one radio per file, starting from the decision made earlier."""
    made = decisions(scan_id)
    key = f"scan-decision-{hashlib.sha256(f'{scan_id}:{path}'.encode()).hexdigest()[:16]}"

    def keep() -> None:
        made[path] = st.session_state[key]

    return st.radio("Your decision", DECISIONS, index=DECISIONS.index(made.get(path, DECISIONS[0])), key=key,
                    horizontal=True, on_change=keep)


def faces(results: list[dict[str, Any]], limit: int = GALLERY) -> list[tuple[np.ndarray, str]]:
    """(thumbnail, caption) of each scored region of the image results whose file still exists, at most ``limit``;
    the thumbnails come from :func:`data_access.face_thumbnails` (each file decoded once until it changes)."""
    out: list[tuple[np.ndarray, str]] = []
    for r in results:
        if r.get("media") != "image" or r["status"] != "ok" or not r.get("regions"):
            continue
        try:
            mtime = Path(r["path"]).stat().st_mtime_ns
        except OSError:  # the file went away since the scan: no crop of it
            continue
        boxes = tuple(tuple(int(v) for v in region["box"]) for region in r["regions"])
        thumbs = da.face_thumbnails(r["path"], mtime, boxes, THUMB)
        for thumb, region in zip(thumbs, r["regions"]):
            if thumb is not None:
                out.append((thumb, f"{Path(r['path']).name} {region['probability']:.2f} {r['review_verdict']}"))
            if len(out) >= limit:
                return out
    return out


def review(scan: dict[str, Any], results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The controls and gallery of one past scan; returns the results they keep, decided at the chosen threshold."""
    default = scan["params"].get("threshold")
    threshold = threshold_slider("scan-threshold", 0.5 if default is None else float(default))
    decided = at_threshold(results, threshold)
    left, right = st.columns(2)
    verdicts = left.multiselect("Verdicts", VERDICTS, default=list(VERDICTS), key="scan-verdicts", persist_state=KEPT)
    low, high = right.slider("P(synthetic) between", 0.0, 1.0, (0.0, 1.0), 0.01, key="scan-score",
                             persist_state=KEPT)
    kept = filtered(decided, verdicts, low, high)
    counts = {v: sum(r["review_verdict"] == v for r in kept) for v in VERDICTS}
    made = decisions(scan["id"])
    reviewed = sum(made.get(r["path"], DECISIONS[0]) != DECISIONS[0] for r in kept)
    st.caption(f"{len(kept)} of {len(results)} files at threshold {threshold:.2f}: "
               + ", ".join(f"{n} {v}" for v, n in counts.items()) + f"; {reviewed} reviewed")
    st.download_button("Download these results (CSV)", csv_bytes(kept, made), f"{scan['name']}-results.csv",
                       "text/csv", key="scan-csv", disabled=not kept)
    shown = faces(kept)
    if shown:
        st.markdown(f"Scanned faces (first {len(shown)}; score and verdict at {threshold:.2f})")
        st.image([c for c, _ in shown], width=THUMB, caption=[t for _, t in shown])
    return kept
