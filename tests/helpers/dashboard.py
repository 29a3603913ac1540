"""A filled workspace for the dashboard tests, made with the library's own functions, and AppTest helpers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa

from assay import demo
from assay.core.workspace import Workspace
from tests.helpers.detect_toy import make_fake_set, make_real_set
from tests.helpers.faces import tiny_faces


def build_workspace(root: Path) -> Workspace:
    """A 4-step DCGAN with training-time eval (FD-dlib, face rate at steps 2 and 4) on tiny faces, then the demo
    pipeline (20 forge steps; consent records, a forge eval report, a StyleGAN 2 run, comply and one revocation),
    a detector evaluation with robustness, and a saved leave-one-generator-out study on toy up-sampling families."""
    from assay.detect.eval_run import evaluate_sets
    from assay.detect.loo import leave_one_out
    from assay.detect.training import DetectTrainConfig
    from assay.forge.config import make_config
    from assay.forge.training import train

    ws = Workspace(root)
    train(ws, tiny_faces(ws, "eval-faces", n=40), make_config(
        "dcgan", 32, steps=4, batch=8, g_ch=4, d_ch=4, z_dim=16, log_every=1, checkpoint_every=2, sample_every=2,
        eval_every=2, eval_n=8, threads=1), name="eval-run", progress=False)
    demo.main(["--workspace", str(root), "--steps", "20"])
    real = ws.resolve("demo-faces").id
    fakes = [r.id for r in ws.catalog.list("samples")]
    evaluate_sets(ws, "demo-spectral", [real], fakes[1:], perturbations=("jpeg75", "blur1"))
    toy_real = make_real_set(ws, "toy-real", n=30)
    toy_fakes = [make_fake_set(ws, fam, n=20, seed=i + 1) for i, fam in enumerate(("nearest", "bilinear"))]
    leave_one_out(ws, DetectTrainConfig(model="spectral"), [toy_real], toy_fakes, save=True)
    return ws


def render_page(name: str) -> None:
    """The AppTest script: render one dashboard page by its url path."""
    from assay.dashboard.app import PAGES

    dict((path, render) for _, path, _, render in PAGES)[name]()


def charts(at: Any) -> list[tuple[dict[str, Any], list[pd.DataFrame]]]:
    """Every Altair chart on the page: (Vega-Lite spec, its data frames)."""
    out = []
    for chart in at.get("vega_lite_chart"):
        frames = [pa.ipc.open_stream(d.data.data).read_all().to_pandas() for d in chart.proto.datasets]
        out.append((json.loads(chart.proto.spec), frames))
    return out


def chart_title(spec: dict[str, Any]) -> str | None:
    """A chart's title, also for layered charts (where Altair puts it in a layer)."""
    return spec.get("title") or next((layer["title"] for layer in spec.get("layer", []) if layer.get("title")), None)


def chart_titled(at: Any, title: str) -> pd.DataFrame:
    """The data of the chart with this title (its first data set)."""
    found = [frames[0] for spec, frames in charts(at) if chart_title(spec) == title]
    assert found, f"no chart titled {title!r}: {[chart_title(s) for s, _ in charts(at)]}"
    return found[0]


def texts(at: Any) -> str:
    """All markdown, info, success, caption and metric text on the page, joined."""
    parts = [e.value for kind in ("markdown", "info", "success", "warning", "error", "caption", "title", "subheader")
             for e in at.get(kind)]
    parts += [f"{m.label}={m.value}" for m in at.metric]
    return "\n".join(str(p) for p in parts)


def render_switched_page(first: str) -> None:
    """The AppTest script of a multipage session: render the page whose url path is in session state under
    ``"test-page"`` (else ``first``), so a test switches pages as the sidebar does, by changing that value."""
    import streamlit as st

    from assay.dashboard.app import PAGES

    dict((path, render) for _, path, _, render in PAGES)[st.session_state.get("test-page", first)]()


def show_navigation() -> None:
    """The AppTest script that lists the app's pages as ``url_path=title`` (the default page's path is ``/``)."""
    import streamlit as st

    from assay.dashboard.app import navigation_pages

    st.text(" ".join(f"{p.url_path or '/'}={p.title}" for p in navigation_pages()))
