"""The Forge page's quality table: the latest ``assay forge eval`` report of each run and sample set, as rows
with its reference rows (real-vs-real floor, degenerate ceiling) beside the generator's."""

from __future__ import annotations

from typing import Any, Sequence

from assay.forge import EVAL_COLUMNS, INCEPTION_METRICS

#: the report rows in table order: the generator, then the floor and the ceiling
SUBJECTS = ("generator", "real-vs-real", "degenerate")


def latest_report(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rows of the last report in an ``eval.jsonl`` (the rows one ``forge eval`` call wrote together)."""
    if not rows:
        return []
    last = rows[-1]
    same = [r for r in rows if r.get("created_at") == last.get("created_at") and r.get("target") == last.get("target")]
    return sorted(same, key=lambda r: SUBJECTS.index(r["subject"]) if r["subject"] in SUBJECTS else len(SUBJECTS))


def metric_values(row: dict[str, Any]) -> dict[str, Any]:
    """A report row's numbers in table order; FID, KID and IS only where the row records the standard
    Inception weights it was measured with."""
    standard = bool(row.get("inception_weights_sha256"))
    return {k: row["metrics"][k] for k in EVAL_COLUMNS
            if k in row.get("metrics", {}) and (standard or k not in INCEPTION_METRICS)}


def table_rows(reports: Sequence[tuple[dict[str, Any], Sequence[dict[str, Any]]]]) -> list[dict[str, Any]]:
    """One table row per report row: (artefact record, its latest report rows) -> what the table shows."""
    out = []
    for rec, rows in reports:
        for row in rows:
            out.append({"target": rec["id"], "name": rec["name"], "row": row["subject"],
                        "checkpoint step": row.get("checkpoint_step"), "n": row.get("n"),
                        "against": row.get("against"), "size": row.get("size"), **metric_values(row)})
    return out


def spaces(reports: Sequence[tuple[dict[str, Any], Sequence[dict[str, Any]]]]) -> dict[str, str]:
    """Feature space name -> its description, exactly as the reports name them."""
    return {name: text for _, rows in reports for row in rows for name, text in (row.get("spaces") or {}).items()}
