"""Label layouts of photo folders: each parser reads labels and identity from a file's place and name."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

from assay.core.errors import InputError
from assay.core.registry import Registry


class LabelError(InputError):
    """A file name that its layout cannot parse; ``str()`` is a one-line reason."""


@dataclass
class Labels:
    labels: dict[str, Any] = field(default_factory=dict)
    identity: str | None = None


LabelParser = Callable[[Path, Path], Labels]
#: layout name -> parser(path, root) -> Labels (raises LabelError on a malformed name)
LAYOUTS: Registry[LabelParser] = Registry("label layout")

UTKFACE_RE = re.compile(r"^(?P<age>\d+)_(?P<gender>\d+)_(?P<race>\d+)_(?P<datetime>\d+)(\.jpg\.chip)?\.\w+$")
UTKFACE_RACES = ("white", "black", "asian", "indian", "others")
UTKFACE_GENDERS = ("male", "female")


@LAYOUTS.register("utkface")
def utkface(path: Path, root: Path) -> Labels:
    """UTKFace names ``age_gender_race_datetime.jpg.chip.jpg`` (gender 0 male / 1 female; race 0-4)."""
    m = UTKFACE_RE.match(path.name)
    if not m:
        raise LabelError(f"malformed UTKFace name {path.name!r}: expected age_gender_race_datetime")
    age, gender, race = int(m["age"]), int(m["gender"]), int(m["race"])
    if gender > 1:
        raise LabelError(f"malformed UTKFace name {path.name!r}: gender {gender} is not 0 or 1")
    if race > 4:
        raise LabelError(f"malformed UTKFace name {path.name!r}: race {race} is not 0-4")
    if not 0 <= age <= 120:
        raise LabelError(f"malformed UTKFace name {path.name!r}: age {age} out of range")
    return Labels({"age": age, "gender": UTKFACE_GENDERS[gender], "race": UTKFACE_RACES[race],
                   "age_bucket": age_bucket(age), "datetime": m["datetime"]})


@LAYOUTS.register("identity-folders")
def identity_folders(path: Path, root: Path) -> Labels:
    """Folder per identity (LFW ``Name/Name_0001.jpg``, CelebA-style ``<id>/<file>``)."""
    rel = path.relative_to(root)
    if len(rel.parts) < 2:
        raise LabelError(f"{rel} is not inside an identity folder")
    identity = rel.parts[-2]
    return Labels({"identity": identity}, identity)


@LAYOUTS.register("none")
def no_labels(path: Path, root: Path) -> Labels:
    """No labels; identities come from face-embedding clustering."""
    return Labels()


AGE_BUCKETS = ((0, 12, "0-12"), (13, 19, "13-19"), (20, 34, "20-34"), (35, 49, "35-49"), (50, 64, "50-64"), (65, 200, "65+"))


def age_bucket(age: int) -> str:
    return next(label for lo, hi, label in AGE_BUCKETS if lo <= age <= hi)


def guess_layout(paths: Sequence[Path], root: Path) -> str:
    """Pick the layout most files fit: UTKFace names, identity folders, or none."""
    if not paths:
        return "none"
    utk = sum(1 for p in paths if UTKFACE_RE.match(p.name))
    if utk >= 0.5 * len(paths):
        return "utkface"
    nested = sum(1 for p in paths if p != root and len(p.relative_to(root).parts) >= 2)
    if nested == len(paths):
        return "identity-folders"
    return "none"
