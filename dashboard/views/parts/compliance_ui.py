"""The Provenance page's compliance matrix: ``provenance.compliance.comply`` on a sample set or a path, per
regulation profile (reads only)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from assay.dashboard import data_access as da
from assay.dashboard.views.parts.widgets import empty_state, pick, show_table
from assay.provenance import profiles

DEFAULT_FILES = 3
MAX_FILES = 50
SUMMARY_COLUMNS = ("profile", "version", "applies_from", "in_force", "files", "passed", "failed")
DETAIL_COLUMNS = ("file", "profile", "requirement", "cites", "status", "reason")


def matrix(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """Files x (profile, requirement): pass / fail / n/a, in the report's order."""
    frame = pd.DataFrame([{"file": Path(r["file"]).name, "requirement": f"{r['profile']} {r['requirement']}",
                           "status": r["status"]} for r in rows])
    order = list(dict.fromkeys(frame["requirement"]))
    table = frame.pivot(index="file", columns="requirement", values="status")
    return table.reindex(index=list(dict.fromkeys(frame["file"])), columns=order).reset_index()


def chosen_paths(root: str, stamp: da.Stamp) -> list[str]:
    """The files to check: the first files of a sample set, or a typed file or folder."""
    source = st.radio("Check", ("A sample set", "A file or folder"), horizontal=True, key="comply-source")
    if source == "A sample set":
        sets = da.records(root, stamp, "samples")
        if not sets:
            empty_state("sample sets", "assay forge sample RUN --n 64")
            return []
        chosen = pick("Sample set", sets, "comply-set")
        count = int(chosen["params"].get("count") or MAX_FILES)
        n = st.number_input("Files (the set's first)", 1, max(1, min(MAX_FILES, count)), min(DEFAULT_FILES, count),
                            key="comply-n")
        return da.set_files(root, stamp, chosen["id"], int(n))
    typed = st.text_input("File or folder (absolute, or relative to the workspace)", key="comply-path").strip()
    if not typed:
        return []
    return [str(Path(typed) if Path(typed).is_absolute() else Path(root) / typed)]


def compliance_section(root: str, stamp: da.Stamp) -> None:
    st.subheader("Compliance per regulation profile")
    known = profiles()
    names = st.multiselect("Profiles", list(known), default=list(known), key="comply-profiles",
                           format_func=lambda n: f"{n} ({known[n].instrument})")
    paths = chosen_paths(root, stamp)
    if not names or not paths:
        st.caption("Choose at least one profile and some files.")
        return
    report = da.compliance(root, stamp, tuple(paths), tuple(names))
    if not report["rows"]:
        st.error("No image or video found there.")
        return
    st.markdown("Summary per profile")
    show_table(report["summary"], SUMMARY_COLUMNS)
    st.markdown("Files x requirements (pass / fail / n/a)")
    st.dataframe(matrix(report["rows"]), hide_index=True, width="stretch")
    st.markdown("Each requirement with its reason")
    show_table(report["rows"], DETAIL_COLUMNS)
    st.caption("As `assay provenance comply`; what each profile encodes and what stays the user's duty: "
               "docs/compliance.md. Not legal advice.")
