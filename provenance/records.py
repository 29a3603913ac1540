"""Provenance records in the workspace catalog: registering a stamped file, finding one by content id."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

from assay.core.fileio import sha256_file
from assay.core.workspace import Workspace
from provenance.stamping import StampResult


def add_record(ws: Workspace, result: StampResult, path: Path | None, parents: list[str] | tuple[str, ...] = (),
               source: str | None = None) -> str:
    """Register a stamped file as a ``provenance`` artefact; returns its id. Unknown parents are dropped."""
    known = []
    for parent in parents:
        try:
            known.append(ws.catalog.get(parent).id)
        except Exception:  # a parent outside this workspace is kept in params, not as lineage
            continue
    params = dict(result.record)
    params.update({"pixel_sha256": result.pixel_sha256, "source": source, "requested_parents": list(parents),
                   "file_sha256": sha256_file(path) if path else None})
    rec = ws.catalog.add("provenance", None, params, known, path=path)
    return rec.id


def find_by_content_ids(ws: Workspace, content_ids: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
    """For each of ``content_ids``, the provenance records carrying it (the soft binding), oldest first.

    One indexed lookup per distinct id; an id no record carries (or one that is not a string,
    as read from a tampered file) maps to [].
    """
    return {cid: [r.to_dict() for r in ws.catalog.find("provenance", content_id=cid)] if isinstance(cid, str) else []
            for cid in dict.fromkeys(content_ids)}


def find_by_content_id(ws: Workspace, content_id: str) -> list[dict[str, Any]]:
    """Provenance records carrying ``content_id``, oldest first; one indexed lookup."""
    return find_by_content_ids(ws, [content_id])[content_id]
