"""The scan step of ``make demo``: a folder holding a few real and a few synthetic faces, scanned."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path
from typing import Any

from assay.core.clitools import say
from assay.core.imagesets import open_set
from assay.core.workspace import Workspace
from assay.detect import Scan, TableWriter, summary_line


def make_folder(ws: Workspace, real: str, fake: str, count: int, folder: Path) -> Path:
    """Copy ``count`` test-split files (as they are, no re-encoding) of each set into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    for label, ref in (("real", real), ("synthetic", fake)):
        image_set = open_set(ws, ref)
        rows = image_set.select("test") or image_set.rows
        for i, row in enumerate(rows[:count]):
            src = image_set.path(row)
            shutil.copyfile(src, folder / f"{label}_{i}{src.suffix}")
    return folder


def run(ws: Workspace, detector: str, real: str, fake: str, count: int = 3) -> dict[str, Any]:
    """Scan a folder of ``count`` real and ``count`` synthetic faces with ``detector``; print the findings.

    Returns the scan's summary (files, flagged, uncertain, declared_synthetic, errors, exit_code) with its
    catalog ``scan_id``.
    """
    folder = make_folder(ws, real, fake, count, ws.root / "demo-scan-input")
    say("detect", f"assay detect scan {folder} --detector {detector}")
    scan = Scan(ws, detector)
    writer = TableWriter(sys.stdout)
    writer.begin()
    for result in scan.run([folder]):
        writer.write(result)
    summary = dict(scan.summary or {})
    summary["scan_id"] = scan.record.id if scan.record else None
    report = ws.path_of(scan.record) / "report.json" if scan.record else "-"
    say("detect", f"{summary_line(summary)}; report: {report}")
    return summary
