"""The compliance matrix as a report to hand on: CSV (one row per file and requirement) and a printable HTML page."""

from __future__ import annotations

import csv
import html
import io
import time
from typing import Any, Sequence

import pandas as pd

DETAIL_COLUMNS = ("file", "profile", "requirement", "cites", "status", "reason")
SUMMARY_COLUMNS = ("profile", "version", "applies_from", "in_force", "files", "passed", "failed")
NOTICE = ("Checked as `assay provenance comply` does; what each profile encodes and what stays the user's duty: "
          "docs/compliance.md. Not legal advice.")
STYLE = ("body{font-family:sans-serif;margin:2em;color:#111}table{border-collapse:collapse;margin:1em 0;"
         "font-size:12px}th,td{border:1px solid #999;padding:3px 6px;text-align:left;vertical-align:top}"
         "th{background:#eee}td.pass{background:#dff0d8}td.fail{background:#f2dede}"
         "@media print{body{margin:0}h2{page-break-after:avoid}tr{page-break-inside:avoid}}")


def csv_bytes(rows: Sequence[dict[str, Any]]) -> bytes:
    """Every (file, profile, requirement) row with its status and reason, as CSV."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=DETAIL_COLUMNS, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    writer.writerows({c: r.get(c, "") for c in DETAIL_COLUMNS} for r in rows)
    return out.getvalue().encode("utf-8")


def _table(frame: pd.DataFrame) -> str:
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in frame.columns)
    body = "".join("<tr>" + "".join(f'<td class="{html.escape(str(v))}">{html.escape(str(v))}</td>' for v in row)
                   + "</tr>" for row in frame.itertuples(index=False))
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def html_report(report: dict[str, Any], matrix: pd.DataFrame, source: str, generated: str | None = None) -> str:
    """A self-contained HTML page (no scripts, no external files) with the summary per profile, the files x
    requirements matrix and each requirement's reason; it prints as it shows."""
    generated = generated or time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())
    summary = pd.DataFrame([{c: s.get(c) for c in SUMMARY_COLUMNS} for s in report["summary"]],
                           columns=list(SUMMARY_COLUMNS))
    detail = pd.DataFrame([{c: r.get(c, "") for c in DETAIL_COLUMNS} for r in report["rows"]],
                          columns=list(DETAIL_COLUMNS))
    verdict = "no requirement failed" if report.get("ok") else "some requirements failed"
    return (f'<!doctype html><html><head><meta charset="utf-8"><title>Compliance report</title>'
            f"<style>{STYLE}</style></head><body><h1>Compliance report</h1>"
            f"<p>Checked: {html.escape(source)}<br>Generated: {html.escape(generated)}<br>"
            f"{matrix.shape[0]} file(s), {len(summary)} profile(s): {verdict}.</p>"
            f"<h2>Summary per profile</h2>{_table(summary)}"
            f"<h2>Files x requirements</h2>{_table(matrix)}"
            f"<h2>Each requirement with its reason</h2>{_table(detail)}"
            f"<p><small>{html.escape(NOTICE)}</small></p></body></html>")
