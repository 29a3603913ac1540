"""Provenance: inspect a file's labels, browse the provenance records, the compliance matrix per regulation profile,
the consent ledger (with revoke) and the takedown queue."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import streamlit as st

from assay.dashboard import data_access as da
from assay.dashboard import uploads
from assay.dashboard.views.parts.compliance_ui import compliance_section
from assay.dashboard.views.parts.consent_ui import ledger_section, takedown_section
from assay.dashboard.views.parts.widgets import empty_state, paged_table, show_table

RECORD_COLUMNS = ("id", "created_at", "content_id", "source_type", "format", "image_size", "labels", "generator")


@st.cache_data(show_spinner="Verifying...", max_entries=16)
def inspect(root: str, stamp: da.Stamp, path: str) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """verify's report on one file and its C2PA manifest store (None without one)."""
    from assay.provenance import (
        MIME,
        read_manifest,
        verify_file,
        workspace_trust_anchors,
    )

    ws = da.open_workspace(root)
    anchors = workspace_trust_anchors(ws)
    report = verify_file(path, ws, anchors)
    store = None
    if report["format"] in MIME and (report.get("c2pa") or {}).get("present"):
        try:
            store = read_manifest(Path(path).read_bytes(), report["format"], anchors)
        except Exception as exc:  # verify has already reported the unreadable manifest as a failed check
            store = {"unreadable": str(exc)}
    return report, store


def show_inspection(report: dict[str, Any], store: dict[str, Any] | None) -> None:
    if report["error"]:
        st.error(report["error"])
        return
    c2pa = report.get("c2pa") or {}
    checks = report.get("checks") or {}
    trusted = (checks.get("c2pa_trusted") or {}).get("status")
    cols = st.columns(4)
    cols[0].metric("C2PA validation", c2pa.get("validation_state") or "no manifest")
    cols[1].metric("Trust", {"pass": "trusted", "fail": "not trusted"}.get(trusted or "", "n/a"))
    cols[2].metric("Watermark", (report.get("watermark") or {}).get("content_id") or "none")
    cols[3].metric("Visible label", (checks.get("visible_mark") or {}).get("status", "n/a"))
    signer = c2pa.get("signer") or {}
    st.markdown(f"**Signer**: {signer.get('issuer') or signer.get('common_name') or signer or 'none'}  \n"
                f"**digitalSourceType**: {c2pa.get('digital_source_type') or 'none'}  \n"
                f"**Content id**: {report.get('content_id') or 'none'}")
    show_table([{"check": k, **v} for k, v in checks.items()], ["check", "status", "reason"])
    left, right = st.columns(2)
    left.markdown("Implicit label fields (GB 45438, SB 942)" + (f", from the {report['implicit_from']}"
                                                                 if report.get("implicit_from") else ""))
    left.json(report.get("xmp") or {}, expanded=2)
    right.markdown("Watermark payload and the record it leads to" + (f" (via the {report['found_via']})"
                                                                   if report.get("found_via") else ""))
    right.json({"watermark": report.get("watermark"), "record": report.get("record")}, expanded=1)
    st.markdown("C2PA manifest store")
    if store and c2pa.get("trust") == "invalid":
        st.error(f"The manifest is invalid ({', '.join(c2pa.get('failures') or [])}): it was changed after signing, "
                 "so nothing in it is evidence. The store as found, unverified:")
        st.json(store, expanded=0)
    elif store:
        st.json(store, expanded=2)
    else:
        st.caption("No C2PA manifest in this file.")


def inspect_section(root: str, stamp: da.Stamp) -> None:
    st.subheader("Inspect a file")
    upload = st.file_uploader("An image or video", key="prov-upload")
    typed = st.text_input("or a path (absolute, or relative to the workspace)", key="prov-path")
    if upload is not None:
        data = upload.getvalue()
        try:
            suffix = uploads.check(upload.name, data)
        except ValueError as exc:
            st.error(str(exc))
            return
        with uploads.saved([(upload.name, data, suffix)]) as paths:
            show_inspection(*inspect(root, stamp, str(paths[0])))
    elif typed.strip():
        path = Path(typed.strip()) if Path(typed.strip()).is_absolute() else Path(root) / typed.strip()
        if not path.is_file():
            st.error(f"{typed.strip()}: no such file")
            return
        show_inspection(*inspect(root, stamp, str(path)))


def records_section(root: str, stamp: da.Stamp, total: int) -> None:
    st.subheader("Provenance records")
    if not total:
        empty_state("provenance records", "assay provenance stamp FILES")
        return
    paged_table("prov-records", total, lambda off, n: [{**r, **r["params"]} for r in
                                                       da.page(root, stamp, "provenance", off, n)], RECORD_COLUMNS)


def render() -> None:
    st.title("Provenance")
    root, stamp = da.current()
    counts = da.counts(root, stamp)
    inspect_section(root, stamp)
    records_section(root, stamp, counts["provenance"])
    compliance_section(root, stamp)
    ledger_section(root, stamp)
    takedown_section(root)
