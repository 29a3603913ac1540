"""Settings onto a run config, by name: its own fields (``steps=2000``), a component's options
(``g.width=0.5``, ``d.mbstd=true``, ``g.name=style``), and the flat names that presets, command lines
and runs saved before per-component options use (``width=0.5``, ``spectral_norm=true``, ``g_ch=32``,
``generator=style``).

A component (the config's ``g`` and ``d``) is a dataclass whose name fields choose entries of
registries (its ``registries``: field -> registry) and whose ``options`` are the keyword arguments
of the chosen entries, typed and defaulted by their signatures (:func:`forge.networks.parameters`),
so a new network's new argument is an option without a line anywhere else. A flat name is, in
this order: a field of the config; a component's name field by its ``flat`` name (``generator``);
``g_KEY`` / ``d_KEY`` for that component's KEY; an older name that an entry declares for one of its
options (``aliases`` in its registry metadata, e.g. ``sr_factor``); else KEY in every component
with an entry that takes it (``width`` sets both networks' widths).
"""

from __future__ import annotations

import copy
import dataclasses
import inspect
import typing
from typing import Any, Iterable, TypeVar

from assay.core.config import parse_value
from assay.forge.networks import RUN_OPTIONS, parameters

C = TypeVar("C")
#: where a setting goes: (component attribute or None for the config's own field, field or option name)
Target = tuple[str | None, str]


def components(cfg: Any) -> dict[str, Any]:
    """The config's components by attribute (``g``, ``d``): the fields holding a dataclass with ``registries``."""
    return {f.name: getattr(cfg, f.name) for f in dataclasses.fields(cfg)
            if hasattr(type(getattr(cfg, f.name)), "registries")}


def name_fields(component: Any) -> list[str]:
    """The fields of a component that name registry entries (``name``, and ``inputs`` for the generator)."""
    return list(type(component).registries)


def known_options(component: Any) -> dict[str, Any]:
    """Option -> type, over every entry of the component's registries (the run's own settings excluded)."""
    out: dict[str, Any] = {}
    for registry in type(component).registries.values():
        for entry in registry.names():
            for key, (tp, _) in parameters(registry.get(entry)).items():
                if key not in RUN_OPTIONS:
                    out.setdefault(key, tp)
    return out


def _aliases(component: Any) -> dict[str, str]:
    out: dict[str, str] = {}
    for registry in type(component).registries.values():
        for entry in registry.names():
            out.update(registry.meta(entry).get("aliases", {}))
    return out


def targets(cfg: Any, key: str) -> list[Target]:
    """Where the setting ``key`` goes (see the module's notes); empty when it names nothing."""
    own = {f.name for f in dataclasses.fields(cfg)}
    parts = components(cfg)
    if "." in key:
        part, _, sub = key.partition(".")
        if part in parts and (sub in name_fields(parts[part]) or sub in known_options(parts[part])):
            return [(part, sub)]
        return []
    if key in own and key not in parts:
        return [(None, key)]
    for part, component in parts.items():
        for f in dataclasses.fields(component):
            if f.metadata.get("flat") == key:
                return [(part, f.name)]
    for part, component in parts.items():
        sub = key.removeprefix(f"{part}_")
        if sub != key and (sub in name_fields(component) or sub in known_options(component)):
            return [(part, sub)]
    found = [(part, _aliases(c)[key]) for part, c in parts.items() if key in _aliases(c)]
    return found or [(part, key) for part, c in parts.items() if key in known_options(c)]


def known_names(cfg: Any) -> list[str]:
    """Every name a setting may have in the dotted form: the config's fields, then ``g.KEY``, ``d.KEY``."""
    parts = components(cfg)
    names = [f.name for f in dataclasses.fields(cfg) if f.name not in parts]
    for part, component in parts.items():
        names += [f"{part}.{k}" for k in [*name_fields(component), *sorted(known_options(component))]]
    return names


def entry_defaults(cfg: Any) -> dict[str, dict[str, dict[str, dict[str, Any]]]]:
    """Each component's options by name field and entry, with their defaults (None where an entry has none):
    ``{"g": {"name": {"style": {"width": 1.0, ...}, ...}, "inputs": {...}}, "d": {...}}``."""
    return {part: {field: {entry: {k: None if default is inspect.Parameter.empty else default
                                   for k, (_, default) in parameters(registry.get(entry)).items()
                                   if k not in RUN_OPTIONS}
                           for entry in registry.names()}
                   for field, registry in type(component).registries.items()}
            for part, component in components(cfg).items()}


def _typed(value: Any, tp: Any, key: str) -> Any:
    """A setting's value as its field or parameter declares it: text is parsed, a list becomes a tuple."""
    if isinstance(value, str):
        return parse_value(value, tp, key)
    origin = typing.get_origin(tp)
    if origin is tuple and isinstance(value, list):
        return tuple(value)
    if tp is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value


def apply(cfg: C, settings: Iterable[tuple[str, Any]], ignore_unknown: bool = False) -> C:
    """A copy of ``cfg`` with each ``(key, value)`` made; an unknown key is a ValueError listing the known
    ones (skipped with ``ignore_unknown``: a saved config's bookkeeping keys). Call :func:`resolve` after."""
    cfg = copy.deepcopy(cfg)
    hints = typing.get_type_hints(type(cfg))
    for key, value in settings:
        key = key.strip().replace("-", "_")
        found = targets(cfg, key)
        if not found and not ignore_unknown:
            raise ValueError(f"unknown setting {key!r}; known: {', '.join(known_names(cfg))}")
        for part, name in found:
            if part is None:
                setattr(cfg, name, _typed(value, hints[name], key))
                continue
            component = getattr(cfg, part)
            if name in name_fields(component):
                setattr(component, name, _typed(value, str, key))
            else:
                component.options[name] = _typed(value, known_options(component)[name], key)
    return cfg


def resolve(cfg: C) -> C:
    """``cfg``, changed in place, with each component's options as its chosen entries take them: the value
    set where one was, the entry's default otherwise; values for options none of them takes are dropped
    (as a preset's ``g.norm`` is for a network without normalisation). An unknown entry name raises
    UnknownNameError."""
    for part, component in components(cfg).items():
        chosen: dict[str, Any] = {}
        for field, registry in type(component).registries.items():
            entry = getattr(component, field)
            for key, (_, default) in parameters(registry.get(entry)).items():
                if key in RUN_OPTIONS or key in chosen:
                    continue
                if key in component.options:
                    chosen[key] = component.options[key]
                elif default is inspect.Parameter.empty:
                    raise ValueError(f"{registry.kind} {entry!r} needs {part}.{key}")
                else:
                    chosen[key] = default
        component.options = chosen
    return cfg


def assignments(texts: Iterable[str]) -> list[tuple[str, str]]:
    """``key=value`` strings (``--set``) as (key, value) pairs."""
    out = []
    for item in texts:
        if "=" not in item:
            raise ValueError(f"expected key=value, got {item!r}")
        key, value = item.split("=", 1)
        out.append((key.strip(), value.strip()))
    return out
