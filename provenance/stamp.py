"""Stamping a file: the stamper for its media kind (image or video), then an atomic write and a catalog record.

The stampers are looked up by kind in :data:`STAMPERS`; a new kind of media is one module
with a :data:`FileStamper` and one entry here. Each stamper applies the labels in the
order given in :mod:`provenance.stamping`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

from assay.core.fileio import atomic_write_bytes
from assay.core.media import media_kind
from assay.core.registry import Registry
from assay.core.workspace import Workspace
from provenance.imagestamp import stamp_image
from provenance.keys import SigningIdentity
from provenance.records import add_record
from provenance.stamping import StampOptions, StampResult
from provenance.videostamp import stamp_video


class FileStamper(Protocol):
    """Stamps the file at ``src`` for writing at ``out`` and returns the result (it writes nothing)."""

    def __call__(self, src: Path, out: Path, identity: SigningIdentity | None, options: StampOptions | None = None,
                 source_type: str = "created", parent: Path | None = None,
                 generator: dict[str, Any] | None = None) -> StampResult: ...


#: media kind -> its stamper; meta ``suffix``: the output suffix whatever ``--format`` says (None: keep or convert)
STAMPERS: Registry[FileStamper] = Registry("media stamper")
STAMPERS.register("image", suffix=None)(stamp_image)
STAMPERS.register("video", suffix=".mp4")(stamp_video)


def output_path(src: Path, out_dir: Path, fmt: str | None) -> Path:
    """Where ``src`` is written under ``out_dir``: images in ``fmt`` (default: theirs), videos always as .mp4."""
    suffix = STAMPERS.meta(media_kind(src))["suffix"] or ("." + fmt if fmt else src.suffix.lower())
    return out_dir / (src.stem + suffix)


def stamp_file(src: Path, out: Path, identity: SigningIdentity | None, options: StampOptions | None = None,
               ws: Workspace | None = None, source_type: str = "created", parent: Path | None = None,
               generator: dict[str, Any] | None = None) -> tuple[StampResult, str | None]:
    """Stamp one image or video into ``out`` (written atomically, only when every asked label succeeded).

    Returns the result and the provenance record id (None without a workspace). Raises
    ``ImageError`` or ``VideoError`` (``assay.core.errors``) for unreadable input,
    :class:`SigningError` when signing fails.
    """
    result = STAMPERS.get(media_kind(src))(src, out, identity, options, source_type, parent, generator)
    atomic_write_bytes(out, result.data)
    record_id = add_record(ws, result, out, source=str(src)) if ws is not None else None
    return result, record_id
