"""Data: prepared face sets, their attributes, identity groups, a sample grid and the rejected files."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import altair as alt
import pandas as pd
import streamlit as st

from assay.dashboard import data_access as da
from assay.dashboard.views.parts.widgets import empty_state, pick, show_table

ATTRIBUTES = ("age_bucket", "gender", "race")
GRID = 24


def bar_chart(counts: dict[str, int], field: str) -> alt.Chart:
    frame = pd.DataFrame({"value": list(counts), "count": list(counts.values())})
    return alt.Chart(frame, title=field).mark_bar().encode(x=alt.X("value:N", title=field, sort=None),
                                                            y=alt.Y("count:Q"), tooltip=["value", "count"])


def render() -> None:
    st.title("Data")
    root, stamp = da.current()
    sets = da.records(root, stamp, "datasets")
    if not sets:
        empty_state("prepared face sets", "assay data prepare PHOTOS --out NAME --size 64")
        return
    show_table([{**s, **s["params"]} for s in sets],
               ["id", "name", "status", "count", "size", "layout", "align", "identities", "splits", "rejected", "source"])
    chosen = pick("Prepared set", sets, "data-set")
    rows = da.manifest(root, stamp, chosen["id"])
    p = chosen["params"]
    cols = st.columns(4)
    cols[0].metric("faces", f"{len(rows):,}")
    cols[1].metric("size", f"{p.get('size')} px")
    cols[2].metric("identity groups", f"{len({r.get('group') or r.get('identity') for r in rows}):,}")
    cols[3].metric("rejected files", f"{p.get('rejected', 0):,}")
    st.caption(f"Source: {p.get('source')}; layout {p.get('layout')}; alignment {p.get('align')}")

    st.subheader("Attributes")
    found = {a: da.attribute_counts(rows, a) for a in ATTRIBUTES}
    charts = [bar_chart(c, a) for a, c in found.items() if c]
    if charts:
        for col, chart in zip(st.columns(len(charts)), charts):
            col.altair_chart(chart, width="stretch")
    else:
        st.info(f"This set carries no age, gender or race labels (layout {p.get('layout')}); "
                "`assay data prepare --layout utkface` reads them from UTKFace file names.")

    st.subheader("Identity groups")
    groups = Counter(str(r.get("group") or r.get("identity")) for r in rows)
    sizes = Counter(groups.values())
    st.altair_chart(bar_chart({str(k): sizes[k] for k in sorted(sizes)}, "faces per identity group"),
                    width="stretch")
    show_table([{"group": g, "faces": n} for g, n in groups.most_common(10)], ["group", "faces"])

    st.subheader("Sample grid")
    shown = rows[:GRID]
    st.image([str(Path(chosen["path"]) / r["file"]) for r in shown], width=72,
             caption=[f"{r.get('split')} {r.get('identity') or ''}".strip() for r in shown])

    st.subheader("Rejected files")
    rejected = da.rejects(root, stamp, chosen["id"])
    if rejected:
        show_table(rejected, ["source", "reason", "created_at"])
    else:
        st.success("No file was rejected.")
