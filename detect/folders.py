"""Evaluation data from plain folders: ``--real-dir``/``--fake-dir``, or the ``0_real``/``1_fake`` layout.

The layout is the one CNNDetection (Wang et al. 2020) and most published test sets use:
``ROOT/<generator>/[<category>/]0_real/*`` and ``.../1_fake/*``, found at any depth. Every
``1_fake`` folder's images form the family named by its path under ROOT (its first
component, e.g. ``stylegan``; ROOT's own name when ``1_fake`` sits directly in ROOT); every
``0_real`` folder's images are reals.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

from assay.core.errors import ImageError, InputError
from assay.core.imageio import decode
from assay.core.media import IMAGE_EXTS, iter_media
from assay.detect.data import REAL, Item, parse_encode, reencode

REAL_DIR, FAKE_DIR = "0_real", "1_fake"
#: fewest readable images per class that give an AUC worth printing
MIN_PER_CLASS = 5


def layout_folders(root: Path) -> list[tuple[Path, int, str]]:
    """(folder, label, family) for every ``0_real`` / ``1_fake`` folder under ``root`` (sorted)."""
    found = []
    for d in sorted(p for p in root.rglob("*") if p.is_dir() and p.name in (REAL_DIR, FAKE_DIR)):
        rel = d.parent.relative_to(root).parts
        fake = d.name == FAKE_DIR
        found.append((d, int(fake), (rel[0] if rel else root.name) if fake else REAL))
    if not found:
        raise InputError(f"no {REAL_DIR} or {FAKE_DIR} folder under {root}")
    return found


def load_folders(real_dirs: Sequence[Path] = (), fake_dirs: Sequence[Path] = (), layout_dirs: Sequence[Path] = (),
                 encode: str = "none", max_per_folder: int | None = None, seed: int = 0
                 ) -> tuple[list[Item], list[tuple[str, str]]]:
    """Images of the folders (recursively) as items, through the encode path; and the rejects (file, reason).

    Files that cannot be read (empty, broken links, link loops, undecodable) are rejects, never silently dropped;
    :class:`InputError` when fewer than :data:`MIN_PER_CLASS` readable images of either class are left.
    """
    sources = [(Path(d), 0, REAL) for d in real_dirs] + [(Path(d), 1, Path(d).name) for d in fake_dirs]
    for root in layout_dirs:
        sources += layout_folders(Path(root))
    path = parse_encode(encode)
    items: list[Item] = []
    rejects: list[tuple[str, str]] = []
    for folder, label, family in sources:
        if not folder.is_dir():
            raise InputError(f"not a folder: {folder}")
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
