"""Plain-dataclass configs: named presets, ``key=value`` overrides from the CLI, JSON round trips."""

from __future__ import annotations

import dataclasses
import json
import typing
from typing import Any, Iterable, TypeVar

C = TypeVar("C")

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def parse_value(value: str, tp: Any, key: str) -> Any:
    """``value`` (text) as type ``tp`` (bool, int, float, str, tuples and lists of them, optionals, dict as JSON);
    a ValueError naming ``key`` when it does not read as one."""
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin is typing.Union or (origin is not None and str(origin) == "<class 'types.UnionType'>"):
        if value.lower() in {"none", "null"} and type(None) in args:
            return None
        for arg in args:
            if arg is type(None):
                continue
            try:
                return parse_value(value, arg, key)
            except ValueError:
                continue
        raise ValueError(f"{key}: cannot read {value!r} as {tp}")
    if origin in (list, tuple):
        inner = args[0] if args else str
        items = [v for v in value.split(",") if v != ""]
        parsed = [parse_value(v, inner, key) for v in items]
        return tuple(parsed) if origin is tuple else parsed
    if tp is bool:
        low = value.lower()
        if low in _TRUE:
            return True
        if low in _FALSE:
            return False
        raise ValueError(f"{key}: expected true/false, got {value!r}")
    if tp in (int, float, str):
        try:
            return tp(value)
        except ValueError:
            raise ValueError(f"{key}: expected {tp.__name__}, got {value!r}") from None
    if tp is dict or origin is dict:
        return json.loads(value)
    return value


def override(cfg: C, assignments: Iterable[str]) -> C:
    """Return a copy of dataclass ``cfg`` with ``key=value`` strings applied (types from the fields)."""
    hints = typing.get_type_hints(type(cfg))
    names = {f.name for f in dataclasses.fields(cfg)}  # type: ignore[arg-type]
    changes: dict[str, Any] = {}
    for item in assignments:
        if "=" not in item:
            raise ValueError(f"expected key=value, got {item!r}")
        key, value = item.split("=", 1)
        key = key.strip().replace("-", "_")
        if key not in names:
            raise ValueError(f"unknown setting {key!r}; known: {', '.join(sorted(names))}")
        changes[key] = parse_value(value.strip(), hints[key], key)
    return dataclasses.replace(cfg, **changes)  # type: ignore[type-var]


def to_dict(cfg: Any) -> dict[str, Any]:
    return dataclasses.asdict(cfg)


def from_dict(cls: type[C], data: dict[str, Any]) -> C:
    """Build ``cls`` from a dict, ignoring keys it does not know (older/newer saved configs)."""
    names = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    hints = typing.get_type_hints(cls)
    kwargs = {}
    for k, v in data.items():
        if k in names:
            kwargs[k] = tuple(v) if typing.get_origin(hints[k]) is tuple and isinstance(v, list) else v
    return cls(**kwargs)
