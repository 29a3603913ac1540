"""The workspace's provenance settings: who labels (GB 45438 / SB 942 identity fields) and the timestamp authority.

Read from ``<workspace>/provenance.json`` (all keys optional), e.g.
``{"provider": "example-lab", "system_name": "facegen", "system_version": "2.1",
"tsa_url": "http://timestamp.example/"}``; ``stamp`` options override them. Forge samples
name their generator instead of ``system_name`` / ``system_version`` (family; run and checkpoint).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from assay.core import __version__
from assay.core.errors import InputError
from assay.core.fileio import read_json

SETTINGS_FILE = "provenance.json"


@dataclass(frozen=True)
class ProvenanceSettings:
    """Identity fields written into every label, and the RFC 3161 timestamp authority (None: none)."""

    provider: str = "assay"
    system_name: str = "assay"
    system_version: str = __version__
    tsa_url: str | None = None


def load_settings(ws: Any, **overrides: str | None) -> ProvenanceSettings:
    """The workspace's settings (defaults without a file), with the ``overrides`` that are not None."""
    path = ws.root / SETTINGS_FILE
    try:
        saved = read_json(path) if path.is_file() else {}
    except ValueError:
        raise InputError(f"{path} is not valid JSON") from None
    known = {f.name for f in fields(ProvenanceSettings)}
    unknown = sorted(set(saved) - known) if isinstance(saved, dict) else ["<not an object>"]
    if unknown:
        raise InputError(f"{path}: unknown setting(s) {', '.join(unknown)}; expected some of {', '.join(sorted(known))}")
    values = {**saved, **{k: v for k, v in overrides.items() if v is not None}}
    bad = sorted(k for k, v in values.items() if v is not None and not isinstance(v, str))
    if bad:
        raise InputError(f"{path}: setting(s) {', '.join(bad)} must be strings")
    return ProvenanceSettings(**values)
