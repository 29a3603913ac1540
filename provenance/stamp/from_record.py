"""Re-stamping a re-saved image from its provenance record: ``assay provenance restamp FILE --out F``.

A re-save (a photo app, an upload service) drops the C2PA manifest and the XMP packet but
keeps the pixels' labels: the visible mark and the invisible watermark, whose content id
finds the file's record in the catalog. Re-stamping writes the same pixels with the
record's XMP fields and a newly signed manifest carrying the record's content id, source
type, generator and labels (a new GB 45438 ``ReservedCode1``, since the pixels changed).

It is done only when verify's evidence allows it (:func:`restamp_refusal`): the record was
found through the watermark (never through the unsigned XMP, which anyone can copy), it is
ready, and the picture matches the record (``record_match``). A watermark or visible mark
is claimed again only if it still reads from the pixels as written.
"""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any

from assay.core.errors import InputError
from assay.core.imageio import pixel_sha256
from assay.core.workspace import Workspace
from assay.provenance import watermark
from assay.provenance.keys.keyfiles import default_keys_dir
from assay.provenance.keys.secret import ensure_secret
from assay.provenance.keys.settings import load_settings
from assay.provenance.keys.signing import SigningIdentity
from assay.provenance.manifest import CONSENT_ASSERTION
from assay.provenance.phash import phash
from assay.provenance.stamp.files import OutputExists, commit
from assay.provenance.stamp.image import decoded_as_written, encode_pixels
from assay.provenance.stamp.options import FORMATS, StampOptions, StampResult
from assay.provenance.stamp.records import NOT_READY
from assay.provenance.stamp.seal import seal
from assay.provenance.verify.checks import CheckResult, run_checks
from assay.provenance.verify.evidence import Evidence, gather


class RestampRefused(InputError):
    """A file that cannot be re-stamped from a record: the evidence does not tie it to one."""


def restamp_refusal(ev: Evidence, checks: dict[str, CheckResult]) -> str | None:
    """Why the file cannot be re-stamped from its record, in one line (None: it can)."""
    record = ev.record
    if ev.kind != "image":
        return "only images are re-stamped from their record (stamp a video again from its source)"
    if record is None:
        return "no provenance record of this workspace found for it (its watermark reads no known content id)"
    if ev.found_via == "manifest":
        return f"its own manifest names record {record['id']}: there are no lost labels to restore"
    if ev.found_via != "watermark":
        return (f"record {record['id']} was found only through the XMP content id, which is unsigned and can be "
                "copied onto any file: re-stamping needs the watermark to carry it")
    if record["status"] in NOT_READY:
        return f"record {record['id']} is {NOT_READY[record['status']]}"
    match = checks.get("record_match") or {}
    if match.get("status") != "pass":
        return f"the picture is not confirmed as record {record['id']}'s: {match.get('reason', 'not compared')}"
    return None


def restamp_command(path: str | Path) -> str:
    """The command that re-stamps ``path`` from its record, next to it as ``NAME.restamped.png``."""
    path = Path(path)
    return f"assay provenance restamp {shlex.quote(str(path))} --out {shlex.quote(str(path.with_name(path.stem + '.restamped.png')))}"


def restamp_hint(ev: Evidence, checks: dict[str, CheckResult]) -> str | None:
    """For a file whose record was found through its watermark and that may be re-stamped: the command to do it."""
    return restamp_command(ev.path) if restamp_refusal(ev, checks) is None else None


def _options(ws: Workspace, params: dict[str, Any], quality: int) -> StampOptions:
    """XMP and C2PA options that say what the record says: its producer and system, its consent."""
    sb942 = (params.get("xmp") or {}).get("sb942") or {}
    settings = load_settings(ws)
    consent = params.get("consent")
    extra = [{"label": CONSENT_ASSERTION, "data": {k: v for k, v in consent.items() if k != "subjects"}}] \
        if isinstance(consent, dict) else []
    return StampOptions(labels=("xmp", "c2pa"), provider=sb942.get("Provider") or settings.provider,
                        system_name=sb942.get("SystemName") or settings.system_name,
                        system_version=sb942.get("SystemVersion") or settings.system_version,
                        quality=quality, secret=ensure_secret(ws), extra_assertions=extra,
                        catalog_params={"consent": consent} if isinstance(consent, dict) else {})


def restamp(ws: Workspace, src: Path, out: Path, identity: SigningIdentity | None = None,
            trust_anchors: str | None = None, quality: int = 95) -> tuple[StampResult, str]:
    """Write ``src``'s pixels to ``out`` (format from its suffix) with the XMP and a new signed manifest from the
    record its watermark finds; returns the result and the new record id (a child of the old record).

    Raises :class:`RestampRefused` with :func:`restamp_refusal`'s reason, :class:`OutputExists`
    for an existing ``out``, ``InputError`` for an unknown suffix, ``SigningError`` when the
    workspace's keys (or ``identity``) cannot sign. ``trust_anchors``: as verify takes them.
    """
    fmt = FORMATS.get(out.suffix.lower())
    if fmt is None:
        raise InputError(f"cannot write {out.suffix!r}; expected one of {', '.join(sorted(FORMATS))}")
    if out.exists():
        raise OutputExists(f"{out} exists; choose another --out")
    ev = gather(src, ws, trust_anchors)
    checks = run_checks(ev)
    why = restamp_refusal(ev, checks)
    if why:
        raise RestampRefused(f"{src}: cannot re-stamp it from a record: {why}")
    old = ev.record
    params = old["params"]  # type: ignore[index]
    options = _options(ws, params, quality)
    rgb = ev.rgb
    decoded = decoded_as_written(rgb, fmt, quality)  # type: ignore[arg-type]
    record: dict[str, Any] = {
        "content_id": params["content_id"], "source_type": params["source_type"], "created": params["created"],
        "image_size": {"width": int(rgb.shape[1]), "height": int(rgb.shape[0])}, "format": fmt,  # type: ignore[union-attr]
        "generator": params.get("generator") or {}, **options.catalog_params,
        "restamped_from": old["id"], "phash": phash(decoded)}  # type: ignore[index]
    applied: list[str] = []
    if checks["visible_mark"]["status"] == "pass" and params.get("visible"):
        record["visible"] = params["visible"]
        applied.append("visible")
    mark = params.get("watermark") or {}
    key = options.secret.watermark_key if options.secret is not None else None
    if watermark.read_image_mark(decoded, mark, key).content_id == params["content_id"]:
        record["watermark"] = mark
        applied.append("watermark")
    skipped = {} if "watermark" in applied else {
        "watermark": f"the watermark does not survive writing as {fmt}: it is not claimed (write png)"}
    signer = identity or SigningIdentity.from_dir(default_keys_dir(ws), load_settings(ws).tsa_url)
    result = seal(lambda xmp: encode_pixels(rgb, fmt, xmp, quality), record, applied, skipped,  # type: ignore[arg-type]
                  pixel_sha256(decoded), options, signer, None, out.name)
    return result, commit(ws, result, out, parents=[old["id"]], source=str(src), exclusive=True)  # type: ignore[index]
