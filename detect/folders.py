"""Detector data from plain folders: ``--real-dir``/``--fake-dir``, or the ``0_real``/``1_fake`` layout.

The layout is the one CNNDetection (Wang et al. 2020) and most published test sets use:
``ROOT/<generator>/[<category>/]0_real/*`` and ``.../1_fake/*``, found at any depth. Every
``1_fake`` folder's images form the family named by its path under ROOT (its first
component, e.g. ``stylegan``; ROOT's own name when ``1_fake`` sits directly in ROOT); every
``0_real`` folder's images are reals. A ``--fake-dir`` is a family named after the folder,
or ``NAME=FOLDER`` names it.

Evaluation reads the folders' images directly (:func:`load_folders`). Training registers
each folder as an image set of the catalog (:func:`register_folders`): its manifest lists
the files where they lie, with their byte hashes, so the detector's lineage names the
folder and exactly the files it learnt from; the same folder with the same files is the
same set the next time.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Sequence

import numpy as np

from assay.core.errors import ImageError, InputError
from assay.core.fileio import sha256_file
from assay.core.imageio import decode
from assay.core.media import IMAGE_EXTS, iter_media
from assay.core.workspace import Workspace
from assay.detect.data import REAL, Item, parse_encode, reencode

REAL_DIR, FAKE_DIR = "0_real", "1_fake"
#: fewest readable images per class that give an AUC worth printing
MIN_PER_CLASS = 5
#: a folder source: (folder, label 0 real / 1 synthetic, family)
Source = tuple[Path, int, str]


def layout_folders(root: Path) -> list[Source]:
    """(folder, label, family) for every ``0_real`` / ``1_fake`` folder under ``root`` (sorted)."""
    found = []
    for d in sorted(p for p in root.rglob("*") if p.is_dir() and p.name in (REAL_DIR, FAKE_DIR)):
        rel = d.parent.relative_to(root).parts
        fake = d.name == FAKE_DIR
        found.append((d, int(fake), (rel[0] if rel else root.name) if fake else REAL))
    if not found:
        raise InputError(f"no {REAL_DIR} or {FAKE_DIR} folder under {root}")
    return found


def fake_source(spec: str | Path) -> Source:
    """``FOLDER`` (family: the folder's name) or ``NAME=FOLDER`` -> a fake source."""
    text = str(spec)
    name, sep, folder = text.partition("=")
    if sep and name and "/" not in name and not Path(text).exists():
        return Path(folder), 1, name
    return Path(text), 1, Path(text).name


def folder_sources(real_dirs: Sequence[str | Path] = (), fake_dirs: Sequence[str | Path] = (),
                   layout_dirs: Sequence[str | Path] = ()) -> list[Source]:
    """Every folder source the options name, each checked to be a folder."""
    sources = [(Path(d), 0, REAL) for d in real_dirs] + [fake_source(d) for d in fake_dirs]
    for root in layout_dirs:
        if not Path(root).is_dir():
            raise InputError(f"not a folder: {root}")
        sources += layout_folders(Path(root))
    for folder, _, _ in sources:
        if not folder.is_dir():
            raise InputError(f"not a folder: {folder}")
    return sources


def _files(folder: Path) -> list[Path]:
    return [p for p, problem in iter_media([folder], recursive=True, exts=IMAGE_EXTS) if not problem]


def load_folders(real_dirs: Sequence[str | Path] = (), fake_dirs: Sequence[str | Path] = (),
                 layout_dirs: Sequence[str | Path] = (), encode: str = "none", max_per_folder: int | None = None,
                 seed: int = 0) -> tuple[list[Item], list[tuple[str, str]]]:
    """Images of the folders (recursively) as items, through the encode path; and the rejects (file, reason).

    Files that cannot be read (empty, broken links, link loops, undecodable) are rejects, never silently dropped;
    :class:`InputError` when fewer than :data:`MIN_PER_CLASS` readable images of either class are left.
    """
    path = parse_encode(encode)
    items: list[Item] = []
    rejects: list[tuple[str, str]] = []
    for folder, label, family in folder_sources(real_dirs, fake_dirs, layout_dirs):
        files = []
        for p, problem in iter_media([folder], recursive=True, exts=IMAGE_EXTS):
            if problem:
                rejects.append((str(p), problem))
            else:
                files.append(p)
        if max_per_folder:
            files = [files[i] for i in sorted(np.random.default_rng(seed).permutation(len(files))[:max_per_folder])]
        for f in files:
            try:
                image = reencode(decode(f), path)
            except ImageError as exc:
                rejects.append((str(f), str(exc)))
                continue
            fmt = f.suffix.lower().lstrip(".").replace("jpg", "jpeg")
            items.append(Item(image, label, family, str(folder), str(f), fmt, "all"))
    _check_enough(items, rejects)
    return items, rejects


def _check_enough(items: Sequence[Item], rejects: Sequence[tuple[str, str]]) -> None:
    """InputError naming the counts (and the unreadable files) when either class has too few images."""
    counts = {name: sum(i.label == label for i in items) for name, label in (("real", 0), ("fake", 1))}
    short = [f"{n} {name}" for name, n in counts.items() if n < MIN_PER_CLASS]
    if short:
        unread = f"; {len(rejects)} unreadable, e.g. {rejects[0][0]}: {rejects[0][1]}" if rejects else ""
        raise InputError(f"too few readable images for an AUC: {' and '.join(short)} (at least {MIN_PER_CLASS} "
                         f"of each class needed){unread}")


def register_folder(ws: Workspace, folder: Path, label: int, family: str) -> str:
    """The id of the image set made of ``folder``'s files (registered now, or earlier with the same files).

    Reals become a data set, fakes a sample set of ``family``. Rows name each file by its
    absolute path and byte hash (``file_sha256``); byte-identical files share a group, so a
    split never puts a copy on each side.
    """
    from assay.core.imagesets import ImageSetWriter

    folder = folder.resolve()
    files = _files(folder)
    if not files:
        raise InputError(f"no images in {folder}")
    hashes = [sha256_file(f) for f in files]
    digest = hashlib.sha256("\n".join(f"{h} {f.relative_to(folder)}" for h, f in zip(hashes, files)).encode()).hexdigest()
    kind = "samples" if label else "datasets"
    params = {"origin": "folder", "folder": str(folder), "files_digest": digest, "family": family if label else None,
              "images": len(files)}
    for rec in ws.catalog.list(kind):
        if all(rec.params.get(k) == v for k, v in params.items() if k != "images"):
            return rec.id
    writer = ImageSetWriter(ws, kind, f"{family if label else 'real'}-{folder.name}")
    cls = "synthetic" if label else "real"
    writer.rows = [{"file": str(f), "file_sha256": h, "source": f"file_sha256:{h}", "label": cls,
                    **({"family": family} if label else {})} for f, h in zip(files, hashes)]
    return writer.commit(params).id


def register_folders(ws: Workspace, real_dirs: Sequence[str | Path] = (), fake_dirs: Sequence[str | Path] = (),
                     layout_dirs: Sequence[str | Path] = ()) -> tuple[list[str], list[str]]:
    """(real set ids, fake set ids) of the folders the options name (see :func:`register_folder`)."""
    real: list[str] = []
    fake: list[str] = []
    for folder, label, family in folder_sources(real_dirs, fake_dirs, layout_dirs):
        (fake if label else real).append(register_folder(ws, folder, label, family))
    return real, fake
