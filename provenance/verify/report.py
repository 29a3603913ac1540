"""Verification of every label on a file (image or MP4 video), with a stable JSON result (schema in docs/provenance.md).

:func:`verify_file` gathers the file's :class:`~provenance.verify.evidence.Evidence` once and runs
the registered checks (:mod:`provenance.verify.checks`) in registration order.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Iterator, Sequence

import numpy as np
from tqdm import tqdm

from assay.core.errors import InputError, MediaError
from assay.core.media import iter_media
from assay.core.workspace import Workspace
from assay.provenance.stamp.from_record import restamp_hint
from assay.provenance.verify.checks import (
    VERIFY_CHECKS,
    required_checks,
    result,
    run_checks,
)
from assay.provenance.verify.evidence import c2pa_summary, gather

SCHEMA = "assay.provenance.verify.report/1"
#: the registered checks, in the order they are reported
CHECKS = tuple(VERIFY_CHECKS.ordered())
#: the c2pa block's ``trust``: trusted, untrusted (valid signature, signer not issued by a trust anchor), invalid, absent
TRUST_STATES = ("trusted", "untrusted", "invalid", "absent")


def trust_state(checks: dict[str, dict[str, str]]) -> str:
    """What the manifest's checks add up to, one of :data:`TRUST_STATES`."""
    status = {n: (checks.get(n) or {}).get("status") for n in ("c2pa_manifest", "c2pa_signature", "c2pa_data_hash",
                                                                "c2pa_trusted")}
    if status["c2pa_manifest"] in (None, "absent"):
        return "absent"
    if "fail" in (status["c2pa_manifest"], status["c2pa_signature"], status["c2pa_data_hash"]):
        return "invalid"
    return "trusted" if status["c2pa_trusted"] == "pass" else "untrusted"


def _result(path: str | Path, **fields: Any) -> dict[str, Any]:
    """A result with every schema field: null or empty unless given."""
    return {"schema": SCHEMA, "file": str(path), "format": None, "ok": False, "error": None, "labelled": False,
            "content_id": None, "c2pa": None, "watermark": None, "xmp": None, "record": None, "found_via": None,
            "implicit_from": None, "video": None, "restamp": None, "checks": {}, **fields}


def error_result(path: str | Path, reason: str) -> dict[str, Any]:
    """The result for a file that could not be read: ``error`` says why, no checks."""
    return _result(path, error=reason)


def verify_file(path: str | Path, ws: Workspace | None = None, trust_anchors: str | None = None,
                require: tuple[str, ...] = (), pixels: np.ndarray | None = None) -> dict[str, Any]:
    """Check every label of one file; never raises for a bad file (``error`` says why).

    ``trust_anchors`` is a PEM bundle of root certificates (e.g. the dev CA from keygen).
    With a workspace, the content id (from the manifest, or from the watermark when the
    manifest is gone) is looked up in the catalog and the original record returned.
    ``require`` names labels (c2pa, xmp, visible, watermark) whose absence is a failure.
    ``pixels``: the image's full-size decode where the caller already holds it (not decoded again).
    ``restamp`` is the command that restores a re-saved file's manifest and XMP from the
    record its watermark found, when the picture is confirmed as that record's (else None).
    """
    required = required_checks(require)
    try:
        ev = gather(Path(path), ws, trust_anchors, pixels)
    except MediaError as exc:
        return error_result(path, str(exc))
    checks = run_checks(ev)
    for label, names in required.items():
        for name in names:
            if name in checks and checks[name]["status"] == "absent":
                checks[name] = result("fail", f"required {label} label missing: {checks[name]['reason']}")
    return _result(path, format=ev.fmt, content_id=ev.content_id, c2pa={**c2pa_summary(ev), "trust": trust_state(checks)},
                   watermark=ev.reading.to_dict(), xmp=ev.implicit or None, record=ev.record, found_via=ev.found_via,
                   implicit_from=ev.implicit_from, video=ev.scan.info if ev.scan is not None else None, checks=checks,
                   restamp=restamp_hint(ev, checks),
                   ok=not any(c["status"] == "fail" for c in checks.values()),
                   labelled=any(c["status"] == "pass" for c in checks.values()))


def verify_paths(paths: Sequence[str | Path], ws: Workspace | None = None, trust_anchors: str | None = None,
                 require: tuple[str, ...] = (), progress: bool = False) -> Iterator[dict[str, Any]]:
    """:func:`verify_file` for every image and video under ``paths`` (folders expanded, sub-folders included), in
    order; a file that cannot be read gets its :func:`error_result`. ``progress`` shows a bar on stderr for two
    files or more. ValueError for an unknown label in ``require``, before the first file; :class:`InputError` when
    ``paths`` hold no image or video at all."""
    required_checks(require)
    found = list(iter_media(paths, recursive=True))
    if not found:
        raise InputError("no images or videos found under " + ", ".join(map(str, paths)))
    for path, problem in tqdm(found, desc="verify", unit="file", disable=not progress or len(found) < 2,
                              file=sys.stderr):
        yield error_result(path, problem) if problem else verify_file(path, ws, trust_anchors, require)
