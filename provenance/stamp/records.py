"""Provenance records in the workspace catalog: registering a stamped file, finding one by content id.

A record is added ``pending`` and set ``ready`` when the file it describes is committed
(written, or its sample set registered): an interrupted batch leaves pending records, which
verify does not take for the file's origin. ``retired``: the file was replaced (``stamp --overwrite``).
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any, Iterable, Sequence

from assay.core.workspace import Workspace
from assay.provenance.stamp.options import StampResult

READY, PENDING, RETIRED = "ready", "pending", "retired"
#: why soft binding does not accept a record in each status but ready
NOT_READY = {PENDING: "pending: the batch that made it was interrupted before its files were committed",
             RETIRED: "retired: the file it described was replaced by a later stamp"}


def add_record(ws: Workspace, result: StampResult, path: Path | None, parents: list[str] | tuple[str, ...] = (),
               source: str | None = None) -> str:
    """Register a stamped file as a ``pending`` ``provenance`` artefact (:func:`set_status` makes it ready once the
    file is committed); returns its id. Unknown parents are dropped. ``path``: where the file is written (None: it
    goes into a sample set)."""
    known = []
    for parent in parents:
        try:
            known.append(ws.catalog.get(parent).id)
        except Exception:  # a parent outside this workspace is kept in params, not as lineage
            continue
    params = dict(result.record)
    params.update({"pixel_sha256": result.pixel_sha256, "source": source, "requested_parents": list(parents),
                   "file_sha256": hashlib.sha256(result.data).hexdigest() if path else None})
    rec = ws.catalog.add("provenance", None, params, known, path=path, status=PENDING)
    return rec.id


def set_status(ws: Workspace, record_ids: Sequence[str], status: str) -> None:
    """Set the records' status, all in one catalog transaction: ``ready`` when their batch committed, ``retired``
    when their file was replaced."""
    ws.catalog.set_status(record_ids, status)


def publish(ws: Workspace, rows: Iterable[dict[str, Any]]) -> None:
    """Make the provenance records of stamped rows (their ``provenance_id``) ready, once their files are committed."""
    set_status(ws, [r["provenance_id"] for r in rows if r.get("provenance_id")], READY)


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
