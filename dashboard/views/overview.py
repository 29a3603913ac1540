"""Overview: what the workspace holds, what happened lately, and the lineage of any artefact."""

from __future__ import annotations

from typing import Any

import streamlit as st

from assay.core.catalog import KINDS
from assay.core.errors import AssayError
from assay.dashboard import data_access as da
from assay.dashboard.views.parts.widgets import empty_state, show_table

#: the command that makes each kind (shown in empty states)
MAKERS = {
    "datasets": "assay data prepare PHOTOS --out NAME",
    "runs": "assay forge train --model dcgan --data SET",
    "samples": "assay forge sample RUN --n 100",
    "detectors": "assay detect train --real SET --fake SAMPLES",
    "scans": "assay detect scan FILES",
    "provenance": "assay provenance stamp FILES",
}
KIND_COLOURS = {"datasets": "#8dd3c7", "runs": "#ffffb3", "samples": "#bebada", "detectors": "#fb8072",
                "scans": "#80b1d3", "provenance": "#fdb462", "consents": "#b3de69"}


def lineage_dot(nodes: list[dict[str, Any]], edges: list[tuple[str, str]], focus: str) -> str:
    """Graphviz DOT for a lineage: one box per artefact, coloured by kind, arrows from parent to child."""
    lines = ["digraph lineage {", "rankdir=LR;", 'node [shape=box, style="rounded,filled", fontname="sans-serif"];']
    for n in nodes:
        label = f"{n['kind']}\\n{n['name']}\\n{n['id']}".replace('"', "'")
        pen = ", penwidth=3" if n["id"] == focus else ""
        lines.append(f'"{n["id"]}" [label="{label}", fillcolor="{KIND_COLOURS[n["kind"]]}"{pen}];')
    lines += [f'"{a}" -> "{b}";' for a, b in edges]
    return "\n".join(lines + ["}"])


def lineage_default(root: str, stamp: da.Stamp, counts: dict[str, int]) -> str:
    """The newest artefact of the kind with the longest lineage: a scan, else a detector, a sample set..."""
    kind = next(k for k in ("scans", "detectors", "samples", "runs", *KINDS) if counts[k])
    return da.page(root, stamp, kind, 0, 1)[0]["id"]


def render() -> None:
    st.title("Overview")
    root, stamp = da.current()
    st.caption(f"Workspace {root}")
    counts = da.counts(root, stamp)
    for col, kind in zip(st.columns(len(KINDS)), KINDS):
        col.metric(kind, f"{counts[kind]:,}")
    if not any(counts.values()):
        empty_state("artefacts", "make demo")
        st.markdown("Or, step by step: " + "; ".join(f"`{c}`" for c in MAKERS.values()) + ".")
        return

    st.subheader("Recent activity")
    recent = sorted((r for kind in KINDS if counts[kind] for r in da.page(root, stamp, kind, 0, da.RECENT)),
                    key=lambda r: r["created_at"], reverse=True)[:da.RECENT]
    show_table(recent, ["created_at", "kind", "id", "name", "status", "parents"])

    st.subheader("Lineage")
    ref = st.text_input("Artefact id or name", value=lineage_default(root, stamp, counts), key="lineage-ref")
    try:
        focus = da.record(root, stamp, ref.strip())["id"]
    except AssayError as exc:
        st.error(str(exc))
        return
    nodes, edges = da.lineage(root, stamp, focus)
    st.graphviz_chart(lineage_dot(nodes, edges, focus))
    show_table(nodes, ["kind", "id", "name", "status", "parents"])
