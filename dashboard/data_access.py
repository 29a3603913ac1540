"""Every read the dashboard makes, in one place: cached, and invalidated when the catalog changes.

The workspace is opened read-only for every read; only the action buttons (save a sample set,
scan, revoke a consent, close a takedown) open it writable, through :func:`writable_workspace`.
Cached functions take the workspace root and :func:`catalog_stamp` (the catalog files' sizes
and modification times), so any write to the catalog, by the dashboard or by a trainer in
another process, gives new keys and fresh reads. Values are plain dicts and lists.
"""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import streamlit as st

from assay.core.catalog import KINDS, Record
from assay.core.fileio import read_json, read_jsonl
from assay.core.workspace import CATALOG_FILE, Workspace, default_root

Stamp = tuple[int, ...]
PAGE_SIZES = (25, 50, 100)
RECENT = 10


def workspace_root() -> str:
    """The workspace the app reviews: ``ASSAY_WORKSPACE`` (set by ``assay dashboard``) or the default."""
    return str(default_root().resolve())


@st.cache_resource(show_spinner=False)
def open_workspace(root: str) -> Workspace:
    """The workspace, read-only; a folder without a catalog is first made an empty workspace (as
    ``assay dashboard`` does), so that every page can say which command fills it."""
    if not (Path(root) / CATALOG_FILE).is_file():
        Workspace(root)
    return Workspace(root, read_only=True)


def writable_workspace() -> Workspace:
    """The workspace opened for writing: only for an action button the user pressed."""
    return Workspace(workspace_root())


def catalog_stamp(root: str) -> Stamp:
    """Changes whenever the catalog database (or its write-ahead log) is written."""
    out: list[int] = []
    for suffix in ("", "-wal"):
        try:
            st_ = os.stat(Path(root) / f"{CATALOG_FILE}{suffix}")
            out += [st_.st_mtime_ns, st_.st_size]
        except FileNotFoundError:
            out += [0, 0]
    return tuple(out)


def current() -> tuple[str, Stamp]:
    """(root, stamp): the cache key every cached read below starts with."""
    root = workspace_root()
    open_workspace(root)
    return root, catalog_stamp(root)


# -- catalog ------------------------------------------------------------------------
@st.cache_data(show_spinner=False)
def counts(root: str, stamp: Stamp) -> dict[str, int]:
    cat = open_workspace(root).catalog
    return {kind: cat.count(kind) for kind in KINDS}


@st.cache_data(show_spinner=False)
def records(root: str, stamp: Stamp, kind: str) -> list[dict[str, Any]]:
    """Every row of a kind, oldest first (for the small kinds: sets, runs, detectors, scans)."""
    return [r.to_dict() for r in open_workspace(root).catalog.list(kind)]


@st.cache_data(show_spinner=False)
def page(root: str, stamp: Stamp, kind: str, offset: int, limit: int) -> list[dict[str, Any]]:
    """One page of a kind, newest first (for the large kinds: provenance records)."""
    return [r.to_dict() for r in open_workspace(root).catalog.page(kind, offset, limit)]


@st.cache_data(show_spinner=False)
def record(root: str, stamp: Stamp, ref: str) -> dict[str, Any]:
    """One artefact by id or name; raises the catalog's one-line error when it is unknown."""
    return open_workspace(root).resolve(ref).to_dict()


@st.cache_data(show_spinner=False)
def rejects(root: str, stamp: Stamp, artefact_id: str) -> list[dict[str, str]]:
    return open_workspace(root).catalog.rejects(artefact_id)


@st.cache_data(show_spinner=False)
def lineage(root: str, stamp: Stamp, artefact_id: str) -> tuple[list[dict[str, Any]], list[tuple[str, str]]]:
    """The artefact, everything it was made from and everything made from it: (nodes, parent->child edges)."""
    cat = open_workspace(root).catalog
    nodes: dict[str, Record] = {}
    frontier = [artefact_id]
    while frontier:  # the artefact and its ancestors
        rec = cat.get(frontier.pop())
        if rec.id not in nodes:
            nodes[rec.id] = rec
            frontier += rec.parents
    nodes.update({r.id: r for r in cat.descendants(artefact_id)})
    edges = {(p, r.id) for r in nodes.values() for p in r.parents if p in nodes}
    ordered = sorted(nodes.values(), key=lambda r: (list(KINDS).index(r.kind), r.created_at))
    return [r.to_dict() for r in ordered], sorted(edges)


# -- artefact files -------------------------------------------------------------------
@st.cache_data(show_spinner=False)
def manifest(root: str, stamp: Stamp, set_id: str) -> list[dict[str, Any]]:
    """An image set's manifest rows (see :mod:`assay.core.imagesets`), embeddings left out."""
    from assay.core.imagesets import open_set

    rows = open_set(open_workspace(root), set_id).rows
    return [{k: v for k, v in r.items() if k != "embedding"} for r in rows]


def attribute_counts(rows: list[dict[str, Any]], key: str) -> dict[str, int]:
    """How many rows carry each value of one ``labels`` attribute (age bucket, gender, race)."""
    return dict(Counter(str(r["labels"][key]) for r in rows if (r.get("labels") or {}).get(key) is not None))


@st.cache_data(show_spinner=False)
def run_metrics(root: str, stamp: Stamp, run_path: str) -> list[dict[str, Any]]:
    """A forge run's ``metrics.jsonl`` rows (losses, penalties, speed, diversity, events)."""
    path = Path(run_path) / "metrics.jsonl"
    return read_jsonl(path) if path.exists() else []


@st.cache_data(show_spinner=False)
def eval_rows(root: str, stamp: Stamp, folder: str) -> list[dict[str, Any]]:
    """The ``assay forge eval`` report rows of a run or sample-set folder (``eval.jsonl``), oldest first."""
    from assay.forge import EVAL

    path = Path(folder) / EVAL
    return read_jsonl(path) if path.exists() else []


def run_grids(run_path: str) -> list[tuple[int, str]]:
    """(step, path) of a run's sample grids, oldest first."""
    grids = sorted((Path(run_path) / "grids").glob("step-*.png"))
    return [(int(p.stem.split("-")[1]), str(p)) for p in grids]


@st.cache_data(show_spinner=False)
def json_file(root: str, stamp: Stamp, path: str) -> Any:
    """A JSON file of an artefact folder (evaluation.json, curves.json, report.json...), or None."""
    return read_json(path) if Path(path).exists() else None


@st.cache_data(show_spinner=False, max_entries=2048)
def face_thumbnails(path: str, mtime_ns: int, boxes: tuple[tuple[int, int, int, int], ...],
                    width: int) -> list[np.ndarray | None]:
    """The crop of each box (x0, y0, x1, y1) of an image file, area-downscaled to at most ``width`` pixels wide
    (never enlarged); None for an empty crop. Keyed on the file's modification time, so a changed file is read
    again; an unreadable file gives no crops."""
    import cv2

    from assay.core.imageio import decode

    try:
        image = decode(path)
    except Exception:  # changed or gone since the scan: the gallery leaves it out
        return []
    out: list[np.ndarray | None] = []
    for x0, y0, x1, y1 in boxes:
        crop = image[max(0, y0):max(y0 + 1, y1), max(0, x0):max(x0 + 1, x1)]
        if crop.size and crop.shape[1] > width:
            crop = cv2.resize(crop, (width, max(1, round(crop.shape[0] * width / crop.shape[1]))),
                              interpolation=cv2.INTER_AREA)
        out.append(crop if crop.size else None)
    return out


# -- consent and compliance -------------------------------------------------------------
@st.cache_data(show_spinner=False)
def consent_records(root: str, stamp: Stamp) -> list[dict[str, Any]]:
    """Every consent record's current state (the fold of its ledger entries), newest first."""
    from assay.provenance import Ledger

    return [r.to_dict() for r in reversed(Ledger(open_workspace(root)).records().values())]


@st.cache_data(show_spinner=False)
def takedown_preview(root: str, stamp: Stamp, subject_id: str) -> list[dict[str, Any]]:
    """What revoking a record of ``subject_id`` would queue for takedown (nothing is written)."""
    from assay.provenance import takedown_items

    return takedown_items(open_workspace(root), subject_id)


@st.cache_data(show_spinner=False)
def set_files(root: str, stamp: Stamp, set_id: str, n: int) -> list[str]:
    """Paths of an image set's first ``n`` files."""
    from assay.core.imagesets import open_set

    s = open_set(open_workspace(root), set_id)
    return [str(s.path(r)) for r in s.rows[:n]]


@st.cache_data(show_spinner=False)
def set_labels(root: str, stamp: Stamp, set_id: str) -> list[str]:
    """The provenance labels (visible, watermark, xmp, c2pa) any file of an image set carries, in stamping order."""
    return list(dict.fromkeys(label for r in manifest(root, stamp, set_id) for label in r.get("labels_applied") or []))


@st.cache_data(show_spinner="Checking compliance...", max_entries=16)
def compliance(root: str, stamp: Stamp, paths: tuple[str, ...], profile_names: tuple[str, ...]) -> dict[str, Any]:
    """``assay provenance comply`` on files and folders: the files x requirements rows and the per-profile summary."""
    from assay.core.media import iter_media
    from assay.provenance import (
        comply,
        error_result,
        get_profiles,
        verify_file,
        workspace_trust_anchors,
    )

    ws = open_workspace(root)
    anchors = workspace_trust_anchors(ws)
    return comply([error_result(f, problem) if problem else verify_file(f, ws, anchors)
                   for f, problem in iter_media(paths, recursive=True)], get_profiles(profile_names))
