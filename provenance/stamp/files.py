"""Stamping a file: the stamper for its media kind (image or video), then an atomic write and a catalog record.

The stampers are looked up by kind in :data:`STAMPERS`; a new kind of media is one module
with a :data:`FileStamper` and one entry here. Each stamper applies the labels in the
order given in :mod:`provenance.stamp.options`.

A file's record is added ``pending`` and made ``ready`` once the file is written, so an
interrupted run leaves no ready record for bytes that were never written. :func:`stamp_to`
minds an output that exists already: the file this workspace recorded is kept (a rerun
skips it), anything else is refused unless ``overwrite`` (whose old records are retired).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any, Protocol, Sequence

from assay.core.errors import AssayError, InputError
from assay.core.fileio import atomic_write_bytes, sha256_file
from assay.core.media import iter_media, media_kind
from assay.core.registry import Registry
from assay.core.workspace import Workspace
from assay.provenance.keys.secret import ensure_secret
from assay.provenance.keys.signing import SigningIdentity
from assay.provenance.stamp.image import stamp_image
from assay.provenance.stamp.options import StampOptions, StampResult
from assay.provenance.stamp.records import (
    PENDING,
    READY,
    RETIRED,
    add_record,
    set_status,
)
from assay.provenance.stamp.video import stamp_video


class FileStamper(Protocol):
    """Stamps the file at ``src`` for writing at ``out`` and returns the result (it writes nothing)."""

    def __call__(self, src: Path, out: Path, identity: SigningIdentity | None, options: StampOptions | None = None,
                 source_type: str = "created", parent: Path | None = None,
                 generator: dict[str, Any] | None = None) -> StampResult: ...


#: media kind -> its stamper; meta ``suffix``: the output suffix whatever ``--format`` says (None: keep or convert)
STAMPERS: Registry[FileStamper] = Registry("media stamper")
STAMPERS.register("image", suffix=None)(stamp_image)
STAMPERS.register("video", suffix=".mp4")(stamp_video)


def output_path(src: Path, out_dir: Path, fmt: str | None, folder: Path = Path()) -> Path:
    """Where ``src`` is written: ``out_dir / folder``, images in ``fmt`` (default: theirs), videos always as .mp4."""
    suffix = STAMPERS.meta(media_kind(src))["suffix"] or ("." + fmt if fmt else src.suffix.lower())
    return out_dir / folder / (src.stem + suffix)


def plan_outputs(inputs: Sequence[Path], out_dir: Path, fmt: str | None) -> list[tuple[Path, str | None, Path]]:
    """(source, problem, output) for every file under ``inputs``: a folder's files keep their sub-folders under
    ``out_dir`` (``in/a/x.jpg`` -> ``out/a/x.jpg``), a file named alone goes to ``out_dir``.

    Raises :class:`InputError` naming them when two sources would still be written to one
    output (``x.png`` and ``x.jpg`` with ``--format png``, or one name in two inputs).
    """
    plan, seen, clashes = [], {}, []
    for arg in inputs:
        for src, problem in iter_media([arg], recursive=True):
            folder = src.parent.relative_to(arg) if src != arg and arg.is_dir() else Path()
            dest = output_path(src, out_dir, fmt, folder)
            plan.append((src, problem, dest))
            if problem:
                continue
            if dest in seen:
                clashes.append(f"{seen[dest]} and {src} -> {dest}")
            seen.setdefault(dest, src)
    if clashes:
        raise InputError(f"{len(clashes)} output name(s) would be written twice: {'; '.join(clashes[:3])}"
                         f"{' ...' if len(clashes) > 3 else ''}: stamp them into different --out folders")
    return plan


def stamp_file(src: Path, out: Path, identity: SigningIdentity | None, options: StampOptions | None = None,
               ws: Workspace | None = None, source_type: str = "created", parent: Path | None = None,
               generator: dict[str, Any] | None = None, exclusive: bool = False) -> tuple[StampResult, str | None]:
    """Stamp one image or video into ``out`` (written atomically, only when every asked label succeeded).

    ``exclusive`` never replaces an ``out`` that exists by the time the file is written (another run
    writing into the same folder got there first): its record is then retired and :class:`OutputExists`
    raised, so no record describes bytes it did not write.

    With a workspace, options without a ``secret`` get the workspace's (made on first use),
    so its verify reads the watermark and checks ReservedCode1.
    Returns the result and the provenance record id (None without a workspace). Raises
    ``ImageError`` or ``VideoError`` (``assay.core.errors``) for unreadable input,
    :class:`SigningError` when signing fails.
    """
    if ws is not None and (options is None or options.secret is None):
        options = replace(options or StampOptions(), secret=ensure_secret(ws))
    result = STAMPERS.get(media_kind(src))(src, out, identity, options, source_type, parent, generator)
    record_id = add_record(ws, result, out, source=str(src)) if ws is not None else None
    try:
        atomic_write_bytes(out, result.data, exclusive=exclusive)
    except FileExistsError:
        if record_id is not None:
            set_status(ws, [record_id], RETIRED)  # type: ignore[arg-type]
        raise OutputExists("output was written by another run at the same time; nothing of this one was kept") \
            from None
    if record_id is not None:
        set_status(ws, [record_id], READY)  # type: ignore[arg-type]
    return result, record_id


class OutputExists(AssayError):
    """The output file exists and is not one this workspace stamped."""


def stamp_to(src: Path, out: Path, identity: SigningIdentity | None, options: StampOptions, ws: Workspace,
             source_type: str = "created", parent: Path | None = None, overwrite: bool = False
             ) -> tuple[StampResult | None, str | None]:
    """:func:`stamp_file`, minding an ``out`` that exists: (None, its record id) when it holds exactly the bytes
    a record of this workspace describes (a rerun skips it; a pending record, left by an interrupted run, is
    made ready). Raises :class:`OutputExists` for any other existing file unless ``overwrite``, which
    replaces it and retires its records."""
    old = [r for r in ws.catalog.find("provenance", file_sha256=sha256_file(out)) if r.status != RETIRED] \
        if out.is_file() else []
    if out.exists() and not overwrite:
        if not old:
            raise OutputExists("output exists and is not a file this workspace stamped; --overwrite replaces it")
        set_status(ws, [r.id for r in old if r.status == PENDING], READY)
        return None, old[-1].id
    result, record_id = stamp_file(src, out, identity, options, ws, source_type, parent, exclusive=not overwrite)
    set_status(ws, [r.id for r in old], RETIRED)
    return result, record_id
