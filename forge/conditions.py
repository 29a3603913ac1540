"""Conditions for the conditional GAN: manifest labels (gender, age bucket, race) as class indices.

Each key knows its classes, how to read a manifest row's ``labels`` value, and how to read a
user's ``--condition key=value``. Registered by name so another label set is one more entry.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any, Callable, Sequence

from assay.registry import Registry


@dataclass(frozen=True)
class ConditionKey:
    """A categorical condition: ``classes`` are the canonical values written to manifests."""

    name: str
    classes: tuple[Any, ...]
    from_label: Callable[[Any], int | None]
    aliases: dict[str, int]

    @property
    def n(self) -> int:
        return len(self.classes)

    def parse(self, text: str) -> int:
        """A user's value (a class, an alias, or for age a number) as a class index."""
        key = str(text).strip().lower()
        if key in self.aliases:
            return self.aliases[key]
        for i, c in enumerate(self.classes):
            if str(c).lower() == key:
                return i
        idx = self.from_label(key)
        if idx is None:
            raise ValueError(f"condition {self.name}: unknown value {text!r}; expected one of "
                             f"{', '.join(map(str, self.classes))} or {', '.join(sorted(self.aliases))}")
        return idx


CONDITIONS: Registry[ConditionKey] = Registry("condition key")

AGE_BUCKETS = ((0, 12, "0-12"), (13, 19, "13-19"), (20, 29, "20-29"), (30, 44, "30-44"), (45, 59, "45-59"),
               (60, 10_000, "60+"))


def _int_in(n: int) -> Callable[[Any], int | None]:
    def read(value: Any) -> int | None:
        try:
            v = int(value)
        except (TypeError, ValueError):
            return None
        return v if 0 <= v < n else None
    return read


def _age_bucket(value: Any) -> int | None:
    try:
        age = int(value)
    except (TypeError, ValueError):
        return None
    for i, (lo, hi, _) in enumerate(AGE_BUCKETS):
        if lo <= age <= hi:
            return i
    return None


def _register(key: ConditionKey) -> None:
    CONDITIONS.register(key.name)(key)


_register(ConditionKey("gender", (0, 1), _int_in(2), {"male": 0, "m": 0, "female": 1, "f": 1}))
_register(ConditionKey("race", (0, 1, 2, 3, 4), _int_in(5),
                       {"white": 0, "black": 1, "asian": 2, "indian": 3, "others": 4, "other": 4}))
_register(ConditionKey("age", tuple(b[2] for b in AGE_BUCKETS), _age_bucket, {}))


def keys_of(names: Sequence[str]) -> list[ConditionKey]:
    return [CONDITIONS.get(n) for n in names]


def row_indices(labels: dict[str, Any] | None, keys: Sequence[ConditionKey]) -> list[int] | None:
    """Class indices of one manifest row's labels; None when a label is missing or out of range."""
    labels = labels or {}
    out = []
    for key in keys:
        idx = key.from_label(labels.get(key.name))
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
