"""Conditions for the conditional GAN: manifest labels (gender, age bucket, race) as class indices.

The classes are the values ``assay data prepare`` writes for UTKFace (``male``/``female``, the
five race names, the age buckets of ``data.layouts``); numbers (UTKFace's codes, an age) are
read too. Each key is registered by name, so another label set is one more entry.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any, Callable, Sequence

from assay.core.registry import Registry
from assay.data import AGE_BUCKETS, UTKFACE_GENDERS, UTKFACE_RACES


@dataclass(frozen=True)
class ConditionKey:
    """A categorical condition: ``classes`` are the canonical values (as ``assay data prepare`` writes
    them) used in manifests; ``bucket`` maps a number (an age) to its class."""

    name: str
    classes: tuple[str, ...]
    bucket: Callable[[int], int | None] | None = None

    @property
    def n(self) -> int:
        return len(self.classes)

    def index(self, value: Any) -> int | None:
        """The class index of a label value: a class name (any case), a class index, or for a bucketed
        key a number in a bucket; None when it is none of these."""
        text = str(value).strip().lower() if value is not None else ""
        for i, c in enumerate(self.classes):
            if c.lower() == text:
                return i
        try:
            number = int(text)
        except ValueError:
            return None
        if self.bucket is not None:
            return self.bucket(number)
        return number if 0 <= number < self.n else None

    def parse(self, text: str) -> int:
        """A user's ``--condition`` value as a class index, or a ValueError naming the choices."""
        idx = self.index(text)
        if idx is None:
            hint = " or a number" if self.bucket is not None else f" or 0-{self.n - 1}"
            raise ValueError(f"condition {self.name}: unknown value {text!r}; expected one of "
                             f"{', '.join(self.classes)}{hint}")
        return idx


CONDITIONS: Registry[ConditionKey] = Registry("condition key")


def _age_bucket(age: int) -> int | None:
    for i, (lo, hi, _) in enumerate(AGE_BUCKETS):
        if lo <= age <= hi:
            return i
    return None


for _key in (ConditionKey("gender", UTKFACE_GENDERS),
             ConditionKey("race", UTKFACE_RACES),
             ConditionKey("age", tuple(b[2] for b in AGE_BUCKETS), _age_bucket)):
    CONDITIONS.register(_key.name)(_key)


def keys_of(names: Sequence[str]) -> list[ConditionKey]:
    return [CONDITIONS.get(n) for n in names]


def row_indices(labels: dict[str, Any] | None, keys: Sequence[ConditionKey]) -> list[int] | None:
    """Class indices of one manifest row's labels; None when a label is missing or out of range."""
    labels = labels or {}
    out = []
    for key in keys:
        idx = key.index(labels.get(key.name))
        if idx is None:
            return None
        out.append(idx)
    return out


def parse_condition(assignments: Sequence[str] | dict[str, Any] | None,
                    keys: Sequence[ConditionKey]) -> dict[str, int]:
    """``["gender=female", "age=30"]`` (or a dict) as {key: class index}; unknown keys are an error."""
    if not assignments:
        return {}
    items = assignments.items() if isinstance(assignments, dict) else (a.split("=", 1) for a in assignments)
    known = {k.name: k for k in keys}
    out: dict[str, int] = {}
    for pair in items:
        if len(pair) != 2:
            raise ValueError(f"expected key=value for a condition, got {'='.join(pair)!r}")
        name, value = pair
        if name not in known:
            raise ValueError(f"condition {name!r} is not one this run was trained on "
                             f"({', '.join(known) or 'an unconditional run takes none'})")
        out[name] = known[name].parse(value)
    return out


def fill_condition(given: dict[str, int], keys: Sequence[ConditionKey], seed: int, index: int) -> list[int]:
    """Class indices for one sample: the given ones, the rest drawn deterministically from (seed, index)."""
    out = []
    for key in keys:
        if key.name in given:
            out.append(given[key.name])
        else:
            h = hashlib.sha256(f"{seed}:{index}:{key.name}".encode()).digest()
            out.append(int.from_bytes(h[:8], "big") % key.n)
    return out


def describe(indices: Sequence[int], keys: Sequence[ConditionKey]) -> dict[str, Any]:
    """Class indices as {key: canonical value} for manifests."""
    return {k.name: k.classes[i] for k, i in zip(keys, indices)}
