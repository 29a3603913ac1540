"""Scan: score uploaded media or a workspace folder with a detector; results with boxes and provenance; past scans."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import streamlit as st
from PIL import Image, ImageDraw

from assay.core.imageio import decode
from assay.core.media import MEDIA_EXTS
from assay.dashboard import data_access as da
from assay.dashboard import uploads
from assay.dashboard.views.parts import scan_review
from assay.dashboard.views.parts.widgets import KEPT, empty_state, paged_table, pick, show_table

SIGNAL_FIELDS = ("c2pa_present", "c2pa_state", "digital_source_type", "watermark_payload", "watermark_status",
                 "record_id", "record_claim", "record_note", "found_via")
RESULT_COLUMNS = ("path", "status", "verdict", "probability", "why", "faces_found", "fallback", "c2pa_state",
                  "digital_source_type", "watermark_payload", "record_id", "error")
PAST_COLUMNS = ("files", "flagged", "uncertain", "declared_synthetic", "errors", "reasons", "detector", "threshold")


def flat(result: dict[str, Any]) -> dict[str, Any]:
    """A result with its provenance signals lifted to the top level, for tables."""
    return {**result, **{k: (result.get("provenance") or {}).get(k) for k in SIGNAL_FIELDS},
            "why": scan_review.reason(result)}


def annotated(path: str | Path, result: dict[str, Any]) -> np.ndarray | None:
    """The image with each scored region's box (red: flagged, green: not) and probability; None if unreadable."""
    if result.get("media") != "image" or not Path(path).exists():
        return None
    try:
        image = Image.fromarray(decode(path))
    except Exception:  # the file changed or went away since the scan: show the result without the picture
        return None
    draw = ImageDraw.Draw(image)
    width = max(1, min(image.size) // 100)
    for region in result.get("regions") or []:
        colour = (220, 30, 30) if region.get("flagged") else (30, 180, 60)
        draw.rectangle(region["box"], outline=colour, width=width)
        draw.text((region["box"][0] + 2, region["box"][1] + 2), f"{region['probability']:.2f}", fill=colour)
    return np.asarray(image)


def show_result(result: dict[str, Any], picture: np.ndarray | None) -> None:
    """One file: the picture with boxes, the detector's score, and the provenance signals beside it."""
    st.markdown(f"**{Path(result['path']).name}**")
    left, middle, right = st.columns([2, 2, 3])
    if picture is not None:
        left.image(picture, width=220)
    if result["status"] == "error":
        middle.error(result["error"])
        return
    middle.metric("P(synthetic)", f"{result['probability']:.3f}", result["verdict"], delta_color="off")
    middle.caption(f"{result.get('faces_found') or 0} face(s){'; whole image scored' if result.get('fallback') else ''}")
    why = scan_review.reason(result)
    if why:
        middle.warning(f"Uncertain: {why}")
    signals = result.get("provenance") or {}
    right.markdown("Provenance signals (kept apart from the score)")
    right.dataframe({"signal": list(SIGNAL_FIELDS), "value": [str(signals.get(k)) for k in SIGNAL_FIELDS]},
                    hide_index=True, width="stretch")


def media_folders(root: str) -> list[str]:
    """Folders under the workspace (two levels down) that directly hold images or videos."""
    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        depth = Path(dirpath).relative_to(root).parts
        dirnames[:] = [] if len(depth) >= 3 else sorted(d for d in dirnames if not d.startswith("."))
        if any(Path(f).suffix.lower() in MEDIA_EXTS for f in filenames):
            out.append(str(Path(dirpath).relative_to(root)))
    return sorted(out)


def run_scan(detector_id: str, paths: list[Path], shown_paths: list[str] | None = None) -> None:
    """Scan ``paths`` with progress, record the scan, and show each result while its file still exists."""
    from assay.core.errors import AssayError
    from assay.detect import Scan, ScanOptions, find_media, summary_line

    try:  # the command's own checks: options, files to read, the detector
        jobs = find_media(paths)
        scan = Scan(da.writable_workspace(), detector_id, ScanOptions(workers=1))
    except AssayError as exc:
        st.error(str(exc))
        return
    bar = st.progress(0.0, text=f"Scanning {len(jobs)} file(s)...")
    done = []
    for i, result in enumerate(scan.run_jobs(jobs, paths)):
        done.append((result, annotated(result["path"], result)))
        bar.progress((i + 1) / len(jobs), text=f"Scanned {i + 1} of {len(jobs)}")
    summary = scan.summary or {}
    st.success(f"Scan {scan.record.id if scan.record else ''} done: {summary.get('scanned', 0)} scanned. "
               f"{summary_line(summary)}")
    for (result, picture), name in zip(done, shown_paths or [r["path"] for r, _ in done]):
        show_result({**result, "path": name}, picture)


def new_scan(root: str, stamp: da.Stamp) -> None:
    st.subheader("New scan")
    dets = [d for d in da.records(root, stamp, "detectors") if d["status"] == "ready" and not d["params"].get("loo_study")]
    if not dets:
        empty_state("detectors to scan with", "assay detect train --model spectral --real SET --fake SAMPLES")
        return
    det = pick("Detector", dets, "scan-det")
    source = st.radio("Scan", ["Uploaded files", "A workspace folder"], horizontal=True, key="scan-source")
    if source == "Uploaded files":
        files = st.file_uploader(f"Images or a short video (at most {uploads.MAX_UPLOAD_MB} MB each)",
                                 accept_multiple_files=True, key="scan-upload")
        checked, refused = [], []
        for f in files or []:
            data = f.getvalue()
            try:
                checked.append((f.name, data, uploads.check(f.name, data)))
            except ValueError as exc:
                refused.append(str(exc))
        for reason in refused:
            st.error(reason)
        if checked and st.button(f"Scan {len(checked)} file(s)", type="primary", key="scan-run"):
            with uploads.saved(checked) as paths:
                run_scan(det["id"], paths, [name for name, _, _ in checked])
    else:
        folders = media_folders(root)
        if not folders:
            st.info("No folder of images or videos under the workspace; upload files instead.")
            return
        folder = st.selectbox("Folder", folders, key="scan-folder")
        if st.button(f"Scan {folder}", type="primary", key="scan-run-folder"):
            run_scan(det["id"], sorted(p for p in (Path(root) / folder).iterdir()
                                       if p.suffix.lower() in MEDIA_EXTS))


def past_scans(root: str, stamp: da.Stamp) -> None:
    st.subheader("Past scans")
    scans = da.records(root, stamp, "scans")
    if not scans:
        empty_state("scans", "assay detect scan FILES")
        return
    show_table([{"id": s["id"], "name": s["name"], "created_at": s["created_at"],
                 **{k: s["params"].get(k) for k in PAST_COLUMNS}} for s in scans])
    scan = pick("Scan", scans, "scan-past")
    report = da.json_file(root, stamp, str(Path(scan["path"] or "") / "report.json")) or {}
    results = scan_review.review(scan, report.get("results", []))
    paged_table("scan-results", len(results), lambda off, n: [flat(r) for r in results[off:off + n]],
                RESULT_COLUMNS)
    if results:
        by_path = {r["path"]: r for r in results}
        chosen = st.selectbox("File", list(by_path), key="scan-file", persist_state=KEPT)
        result = by_path[chosen]
        show_result(result, annotated(result["path"], result))
        scan_review.decision_picker(scan["id"], result["path"])


def render() -> None:
    st.title("Scan")
    root, stamp = da.current()
    new_scan(root, stamp)
    past_scans(root, stamp)
