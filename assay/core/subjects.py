"""Subjects: the pseudonymous ids of the people whose faces a data set holds.

Shared by ``data`` (which links each prepared face to a subject) and ``provenance`` (whose
consent ledger records what each subject agreed to), which must not import each other.
A subject id never carries a name: a person known only by a name (an identity folder such
as ``George_W_Bush``) gets ``subj-`` plus a keyed hash of the name, keyed by this
workspace's secret, so the same name gives the same id in one workspace and cannot be
reversed by hashing guessed names without that key.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import json
import re
import secrets
from pathlib import Path
from typing import Any, Iterator

from assay.core.errors import InputError
from assay.core.fileio import atomic_write_text

SUBJECT_RE = re.compile(r"^subj-[A-Za-z0-9_-]{3,60}$")
SUBJECT_KEY = "subject-key"


def check_subject_id(value: str) -> str:
    """``value`` when it is a subject id (``subj-`` then 3-60 of A-Z a-z 0-9 _ -); InputError otherwise."""
    if not isinstance(value, str) or not SUBJECT_RE.match(value):
        raise InputError(f"subject id {value!r} is not of the form subj-<3 to 60 of A-Z a-z 0-9 _ ->")
    return value


def _key(ws_root: Path) -> bytes:
    path = Path(ws_root) / SUBJECT_KEY
    if not path.exists():
        atomic_write_text(path, secrets.token_hex(32))
        path.chmod(0o600)
    return bytes.fromhex(path.read_text().strip())


def subject_id_for(ws_root: str | Path, label: str) -> str:
    """The subject id of a person known by ``label`` (e.g. an identity folder name) in this workspace."""
    if not label:
        raise InputError("a subject label must not be empty")
    return "subj-" + hmac.new(_key(Path(ws_root)), label.encode("utf-8"), hashlib.sha256).hexdigest()[:20]


def read_rows(path: str | Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """(row number, row) of a CSV file (header line; row 1 is the first data line) or a JSON list of objects."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}") from None
    if path.suffix.lower() == ".json":
        try:
            rows = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InputError(f"{path} is not valid JSON: {exc.msg} at line {exc.lineno}") from None
        if not isinstance(rows, list):
            raise InputError(f"{path} must hold a JSON list of objects, one per subject")
        for number, row in enumerate(rows, 1):
            yield number, row if isinstance(row, dict) else {"__not_an_object__": row}
    elif path.suffix.lower() == ".csv":
        reader = csv.DictReader(text.splitlines())
        for number, row in enumerate(reader, 1):
            yield number, {k.strip(): (v or "").strip() for k, v in row.items() if k is not None}
    else:
        raise InputError(f"{path}: expected a .csv or .json file")
