"""Detector scores for the Detect page: a detector's test split scored on demand, and explanations.

Scores are computed from the saved detector and the sets it was trained on, with the split
rules and encode path of its training (``training.json``); nothing is written.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import streamlit as st

from assay.core.fileio import read_json
from assay.dashboard import data_access as da
from assay.detect import Detector


@st.cache_resource(show_spinner="Loading the detector...", max_entries=4)
def detector(root: str, detector_id: str) -> Detector:
    from assay.detect import load_detector

    return load_detector(da.open_workspace(root), detector_id)[0]


@st.cache_data(show_spinner="Scoring the test split...", max_entries=4)
def test_scores(root: str, detector_id: str) -> dict[str, Any]:
    """The detector's test split: labels (1 synthetic), calibrated P(synthetic), families and images."""
    from assay.detect import assemble

    ws = da.open_workspace(root)
    rec = ws.resolve(detector_id, "detectors")
    training_file = Path(rec.path or "") / "training.json"
    cfg = read_json(training_file)["config"] if training_file.exists() else {}
    sets = rec.params.get("sets") or {}
    # the artifact simulators of its training too: without them the split holds only the generators' fakes
    data = assemble(ws, sets.get("real", []), sets.get("fake", []), max_per_set=cfg.get("max_per_set"),
                    encode=cfg.get("encode", "auto"), seed=cfg.get("seed", 0), require_all_splits=False,
                    simulate=tuple(cfg.get("simulate") or ()), sim_steps=cfg.get("sim_steps", 100),
                    sim_stages=tuple(cfg.get("sim_stages") or (1,)))
    items = data.splits["test"]
    probs = detector(root, detector_id).predict_proba([i.image for i in items])[:, 1] if items else np.zeros(0)
    return {"y": np.array([i.label for i in items]), "p": np.asarray(probs, dtype=float),
            "family": [i.family for i in items], "images": [i.image for i in items]}


def explanation(root: str, detector_id: str, image: np.ndarray) -> tuple[str, np.ndarray] | None:
    """(explainer name, picture) of the whole image (Grad-CAM or spectrum), or None when the detector has none."""
    from assay.detect import EXPLAINERS, WHOLE_IMAGE, Region, explainer_for

    det = detector(root, detector_id)
    name = explainer_for(det)
    if name is None:
        return None
    h, w = image.shape[:2]
    return name, EXPLAINERS.get(name)(det, Region(WHOLE_IMAGE, (0, 0, w, h), (0, 0, w, h), image))


def scored_caption(s: dict[str, Any], family: str) -> str:
    """What the figures were computed on: the split, how many images of each class, and the fake families."""
    fams = Counter(f for f, y in zip(s["family"], s["y"].tolist()) if y == 1)
    real = int((s["y"] == 0).sum())
    shown = {family: fams[family]} if family != "all" else fams
    parts = ", ".join(f"{f} {n}" for f, n in sorted(shown.items()))
    scope = "every family, the images of the test report above" if family == "all" else f"the {family} fakes only"
    return (f"Scored: the test split of the sets it was trained on ({scope}): {real} real and "
            f"{sum(shown.values())} synthetic images ({parts}).")
