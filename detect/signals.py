"""Provenance evidence for a scanned file, read apart from the detector's score.

A signed C2PA manifest saying ``trainedAlgorithmicMedia`` and a detector probability are
different kinds of evidence: scan results carry both side by side and never merge them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

NOT_CHECKED = "not checked"
FIELDS = ("c2pa_present", "c2pa_valid", "digital_source_type", "watermark_payload")


def provenance_signals(path: str | Path) -> dict[str, Any]:
    """C2PA presence and validity, its digitalSourceType, and the invisible watermark payload.

    Keys: ``c2pa_present``, ``c2pa_valid``, ``digital_source_type``, ``watermark_payload``
    and ``checked`` (whether provenance was read at all). Until the provenance verifier is
    wired in, every field is ``"not checked"`` and ``checked`` is false.
    """
    return {**{name: NOT_CHECKED for name in FIELDS}, "checked": False}
