"""Linking prepared faces to subjects (``data prepare --consent FILE | --subjects-from-layout``).

Each kept face's manifest row gets ``subject_id`` and the set's catalog params list its
``subjects``; that is the first link of the lineage subject -> prepared set -> run ->
sample set -> files, which the consent ledger (in ``provenance``) follows on a revocation.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from assay.core.errors import AssayError, InputError
from assay.core.subjects import check_subject_id, read_rows, subject_id_for


@dataclass
class SubjectLinker:
    """Finds the subject of a face from its source path and layout identity."""

    ws_root: Path
    from_layout: bool = False
    by_identity: dict[str, str] = field(default_factory=dict)
    by_glob: list[tuple[str, str]] = field(default_factory=list)

    def subject_of(self, row: dict[str, Any]) -> str | None:
        identity = row.get("identity")
        if identity and identity in self.by_identity:
            return self.by_identity[identity]
        for pattern, subject in self.by_glob:
            if fnmatch.fnmatchcase(row["source"], pattern):
                return subject
        if identity and self.from_layout:
            return subject_id_for(self.ws_root, identity)
        return None


def linker_from_file(ws_root: Path, path: str | Path) -> SubjectLinker:
    """A linker from a consent file's rows: ``subject_id`` (or ``identity``, hashed into one) and ``files``.

    ``files`` holds glob patterns (``;``-separated) of source paths relative to the photo
    folder; ``identity`` matches the layout's identity (e.g. the identity folder name).
    A row that links nothing, or a malformed id, refuses the whole file with its row number.
    """
    linker = SubjectLinker(Path(ws_root))
    for number, row in read_rows(path):
        try:
            identity = str(row.get("identity") or "").strip()
            subject = str(row.get("subject_id") or "").strip()
            subject = check_subject_id(subject) if subject else (subject_id_for(ws_root, identity) if identity else "")
            globs = [g.strip() for g in str(row.get("files") or "").split(";") if g.strip()]
            if not subject or not (identity or globs):
                raise InputError("needs subject_id or identity, and identity or files to link faces by")
        except AssayError as exc:
            raise InputError(f"{path}: row {number}: {exc}") from None
        if identity:
            linker.by_identity[identity] = subject
        linker.by_glob += [(g, subject) for g in globs]
    return linker
