"""Assembling detector data from real sets (prepared) and fake sets (forge samples).

- Splits keep every group on one side: a group is a row's ``identity`` (people), else its
  ``source`` (source image), else its pixel hash. A set's own split is kept where every
  group already lies on one side of it; otherwise groups are split by a hash of their key.
- Classes are balanced per split (fakes are drawn from every family in turn).
- Compression parity: both classes pass the same encode path, recorded in the summary.
"""

from __future__ import annotations

import hashlib
import warnings
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np
from tqdm import tqdm

from assay.core.imageio import ImageError, decode
from assay.core.imagesets import open_set
from assay.core.workspace import Workspace

SPLITS = ("train", "val", "test")
SPLIT_FRACTIONS = (0.7, 0.15, 0.15)
REAL = "real"


@dataclass
class Item:
    """One image with its label (0 real, 1 synthetic), family and where it came from."""

    image: np.ndarray
    label: int
    family: str
    set_id: str
    group: str
    source_format: str
    split: str = ""


@dataclass
class Assembled:
    splits: dict[str, list[Item]]
    sets: dict[str, list[str]]  # "real"/"fake" -> set ids
    encode: str
    rejects: list[tuple[str, str]] = field(default_factory=list)

    @property
    def families(self) -> list[str]:
        """Fake families from the fake sets (simulated ones excluded), sorted."""
        from assay.detect.simulate import FAMILY_PREFIX

        return sorted({i.family for items in self.splits.values() for i in items
                       if i.label == 1 and not i.family.startswith(FAMILY_PREFIX)})

    def summary(self) -> dict[str, Any]:
        """Counts per split, class and family; the encode path and source formats per class."""
        out: dict[str, Any] = {"sets": self.sets, "encode_path": {}, "splits": {}, "rejects": len(self.rejects)}
        for split, items in self.splits.items():
            out["splits"][split] = dict(Counter(i.family for i in items))
        for label, cls in ((0, "real"), (1, "synthetic")):
            items = [i for items in self.splits.values() for i in items if i.label == label]
            out["encode_path"][cls] = {
                "source_formats": dict(Counter(i.source_format for i in items)),
                "sizes": dict(Counter(f"{i.image.shape[1]}x{i.image.shape[0]}" for i in items)),
                "re_encoded_as": self.encode}
        return out


def _hash_split(key: str, seed: int) -> str:
    v = int(hashlib.sha256(f"{seed}:{key}".encode()).hexdigest()[:8], 16) / 0xFFFFFFFF
    return SPLITS[0] if v < SPLIT_FRACTIONS[0] else SPLITS[1] if v < SPLIT_FRACTIONS[0] + SPLIT_FRACTIONS[1] else SPLITS[2]


def group_key(row: dict[str, Any]) -> str:
    for k in ("identity", "source"):
        if row.get(k) not in (None, ""):
            return f"{k}:{row[k]}"
    return f"sha256:{row.get('sha256') or row['file']}"


def assign_splits(rows: Sequence[dict[str, Any]], seed: int = 0) -> list[str]:
    """A split per row such that no group straddles two splits."""
    by_group: dict[str, set[str]] = defaultdict(set)
    for r in rows:
        by_group[group_key(r)].add(r.get("split") or "")
    clean = all(len(s) == 1 and next(iter(s)) in SPLITS for s in by_group.values())
    return [r["split"] if clean else _hash_split(group_key(r), seed) for r in rows]


def parse_encode(spec: str) -> tuple[str, int] | None:
    """``none`` -> None; ``png``; ``jpeg`` / ``jpeg:Q`` (quality Q, default 95)."""
    spec = spec.lower()
    if spec == "none":
        return None
    if spec == "png":
        return ("png", 0)
    if spec.startswith(("jpeg", "jpg")):
        q = int(spec.split(":", 1)[1]) if ":" in spec else 95
        if not 1 <= q <= 100:
            raise ValueError(f"JPEG quality must be 1-100, got {q}")
        return ("jpeg", q)
    raise ValueError(f"unknown encode path {spec!r}; expected auto, none, png or jpeg[:QUALITY]")


def reencode(image: np.ndarray, path: tuple[str, int] | None) -> np.ndarray:
    if path is None:
        return image
    from assay.core.imageio import encode

    fmt, q = path
    return decode(encode(image, fmt, q or 95))


#: labels that change pixels: a detector trained on fakes carrying them can learn the label instead
PIXEL_LABELS = frozenset({"visible", "watermark"})


def _warn_pixel_labels(name: str, rows: Sequence[dict]) -> None:
    marked = sum(1 for r in rows if PIXEL_LABELS & set(r.get("labels_applied") or ()))
    if marked:
        warnings.warn(f"{marked} of {len(rows)} images of {name} carry a visible mark or watermark: the detector "
                      "may learn the label, not the generator (sample training sets with "
                      "`assay forge sample --labels c2pa,xmp`)", UserWarning, stacklevel=3)


def _load(ws: Workspace, refs: Sequence[str], label: int, max_per_set: int | None, seed: int,
          rejects: list[tuple[str, str]]) -> tuple[list[Item], list[str]]:
    items: list[Item] = []
    ids = []
    for ref in refs:
        s = open_set(ws, ref)
        ids.append(s.record.id)
        rows = s.rows
        if label == 0 and any(r.get("label") == "synthetic" for r in rows):
            raise ValueError(f"{s.record.kind} {s.record.id} ({s.record.name}) holds synthetic images: "
                             "pass it with --fake, not --real")
        if label == 1:
            _warn_pixel_labels(s.record.name, rows)
        splits = assign_splits(rows, seed)
        order = np.random.default_rng(seed).permutation(len(rows))
        if max_per_set:
            order = order[:max_per_set]

        def read(i: int) -> tuple[int, np.ndarray | str]:
            try:
                return i, decode(s.path(rows[i]))
            except ImageError as exc:
                return i, str(exc)

        with ThreadPoolExecutor(max_workers=4) as pool:
            for i, img in tqdm(pool.map(read, order), total=len(order), desc=f"reading {s.record.name}",
                               unit="img", leave=False):
                row = rows[i]
                if isinstance(img, str):
                    rejects.append((str(s.path(row)), img))
                    continue
                family = REAL if label == 0 else str(row.get("family") or s.record.name)
                fmt = Path(row["file"]).suffix.lower().lstrip(".").replace("jpg", "jpeg")
                items.append(Item(img, label, family, s.record.id, group_key(row), fmt, splits[i]))
    return items, ids


def assemble(ws: Workspace, real: Sequence[str], fake: Sequence[str], *, max_per_set: int | None = None,
             encode: str = "auto", simulate: Sequence[str] = (), sim_steps: int = 100, seed: int = 0,
             require_all_splits: bool = True, sim_stages: Sequence[int] = (1,)) -> Assembled:
    """Load real and fake sets into group-disjoint splits, add simulated fakes, apply the encode path.

    ``simulate`` names artifact simulators (see :mod:`detect.simulate`), built once per entry
    of ``sim_stages`` (1: the x2 simulator, 3: the zoo's x8 generator): each real image gets
    one simulated twin in its own split (the networks are fitted on the train reals).
    ``require_all_splits`` (training) checks that every split holds both classes.
    """
    if not real:
        raise ValueError("no real set given (--real SET)")
    if not fake and not simulate and require_all_splits:
        raise ValueError("no fake set given (--fake SET) and no artifact simulation (--simulate)")
    rejects: list[tuple[str, str]] = []
    reals, real_ids = _load(ws, real, 0, max_per_set, seed, rejects)
    fakes, fake_ids = _load(ws, fake, 1, max_per_set, seed, rejects)
    splits: dict[str, list[Item]] = {s: [] for s in SPLITS}
    for it in reals + fakes:
        splits[it.split].append(it)
    if simulate:
        from assay.detect.simulate import simulate as run_simulation
        from assay.detect.simulate import train_simulators

        fit_on = [i.image for i in splits["train"] if i.label == 0]
        nets = {k: v for st in sim_stages for k, v in train_simulators(simulate, fit_on, sim_steps, seed, st).items()}
        for split in SPLITS:
            src = [i for i in splits[split] if i.label == 0]
            made = run_simulation([i.image for i in src], nets)
            splits[split] += [Item(img, 1, fam, i.set_id, i.group, "simulated", split) for (img, fam), i in zip(made, src)]
    if encode == "auto":
        formats = {i.source_format for items in splits.values() for i in items if i.source_format != "simulated"}
        encode = "none" if len(formats) <= 1 else "jpeg:95"
    path = parse_encode(encode)
    if path is not None:
        for items in splits.values():
            for it in items:
                it.image = reencode(it.image, path)
    for name in SPLITS if require_all_splits else ():
        if not any(i.label == 0 for i in splits[name]) or not any(i.label == 1 for i in splits[name]):
            raise ValueError(f"the {name} split lacks real or fake images: give more images per set")
    return Assembled(splits, {"real": real_ids, "fake": fake_ids}, encode, rejects)


def balanced(items: Sequence[Item], seed: int = 0, exclude_family: str | None = None) -> list[Item]:
    """Equal numbers of real and fake items; fakes drawn from each family in turn."""
    rng = np.random.default_rng(seed)
    reals = [i for i in items if i.label == 0]
    by_family: dict[str, list[Item]] = defaultdict(list)
    for i in items:
        if i.label == 1 and i.family != exclude_family:
            by_family[i.family].append(i)
    for fam in by_family:
        by_family[fam] = [by_family[fam][j] for j in rng.permutation(len(by_family[fam]))]
    n_fake = sum(len(v) for v in by_family.values())
    n = min(len(reals), n_fake)
    fakes: list[Item] = []
    queues = [list(v) for _, v in sorted(by_family.items())]
    while len(fakes) < n:
        for q in queues:
            if q and len(fakes) < n:
                fakes.append(q.pop())
    chosen_reals = [reals[j] for j in rng.permutation(len(reals))[:n]]
    return chosen_reals + fakes
