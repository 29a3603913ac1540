"""The Provenance page's compliance matrix: ``provenance.compliance.comply`` on a sample set or a path, per
regulation profile (reads only)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import pandas as pd
import streamlit as st

from assay.dashboard import data_access as da
from assay.dashboard.views.parts import compliance_report
from assay.dashboard.views.parts.compliance_report import DETAIL_COLUMNS, SUMMARY_COLUMNS
from assay.dashboard.views.parts.widgets import empty_state, pick, show_table
from assay.provenance import profiles

DEFAULT_FILES = 3
MAX_FILES = 50
#: the labels a set must carry to be checked as a published sample (the others, c2pa and xmp, are metadata)
MARKS = ("visible", "watermark")


def matrix(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """Files x (profile, requirement): pass / fail / n/a, in the report's order."""
    frame = pd.DataFrame([{"file": Path(r["file"]).name, "requirement": f"{r['profile']} {r['requirement']}",
                           "status": r["status"]} for r in rows])
    order = list(dict.fromkeys(frame["requirement"]))
    table = frame.pivot(index="file", columns="requirement", values="status")
    return table.reindex(index=list(dict.fromkeys(frame["file"])), columns=order).reset_index()


def unmarked_hint(labels: Sequence[str]) -> str | None:
    """Why a sample set fails the disclosure requirements when its images carry only metadata labels."""
    missing = [label for label in MARKS if label not in labels]
    if not missing:
        return None
    carried = ", ".join(labels) or "no labels"
    return (f"This set carries {carried} but no {' or '.join(missing)}: sets sampled to train detectors are left "
            "unmarked on purpose (so that a detector learns the generator, not the mark), so the requirements that "
            "need a visible mark or a watermark fail here. Choose a stamped set, or stamp copies with "
            "`assay provenance stamp FILES --out stamped`.")


def chosen_paths(root: str, stamp: da.Stamp) -> tuple[list[str], str]:
    """The files to check (the first files of a sample set, or a typed file or folder) and what they are."""
    source = st.radio("Check", ("A sample set", "A file or folder"), horizontal=True, key="comply-source")
    if source == "A sample set":
        sets = da.records(root, stamp, "samples")
        if not sets:
            empty_state("sample sets", "assay forge sample RUN --n 64")
            return [], ""
        # start on the newest set that carries every label, not on a metadata-only set made to train detectors
        chosen = pick("Sample set", sets, "comply-set",
                      prefer=lambda r: unmarked_hint(da.set_labels(root, stamp, r["id"])) is None)
        hint = unmarked_hint(da.set_labels(root, stamp, chosen["id"]))
        if hint:
            st.info(hint, icon=":material/info:")
        count = int(chosen["params"].get("count") or MAX_FILES)
        n = st.number_input("Files (the set's first)", 1, max(1, min(MAX_FILES, count)), min(DEFAULT_FILES, count),
                            key="comply-n")
        return (da.set_files(root, stamp, chosen["id"], int(n)),
                f"the first {int(n)} file(s) of sample set {chosen['name']} ({chosen['id']})")
    typed = st.text_input("File or folder (absolute, or relative to the workspace)", key="comply-path").strip()
    if not typed:
        return [], ""
    return [str(Path(typed) if Path(typed).is_absolute() else Path(root) / typed)], typed


def compliance_section(root: str, stamp: da.Stamp) -> None:
    st.subheader("Compliance per regulation profile")
    known = profiles()
    names = st.multiselect("Profiles", list(known), default=list(known), key="comply-profiles",
                           format_func=lambda n: f"{n} ({known[n].instrument})")
    paths, source = chosen_paths(root, stamp)
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
    grid = matrix(report["rows"])
    st.dataframe(grid, hide_index=True, width="stretch")
    st.markdown("Each requirement with its reason")
    show_table(report["rows"], DETAIL_COLUMNS)
    left, right = st.columns(2)
    left.download_button("Compliance report (CSV)", compliance_report.csv_bytes(report["rows"]),
                         "compliance-report.csv", "text/csv", key="comply-csv")
    right.download_button("Compliance report (printable HTML)",
                          compliance_report.html_report(report, grid, source),
                          "compliance-report.html", "text/html", key="comply-html")
    st.caption(compliance_report.NOTICE)
