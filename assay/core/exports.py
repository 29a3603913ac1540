"""Public faces of the subsystems. Each subsystem's ``__init__`` lists its public names (``EXPORTS``: name -> the
submodule that defines it, and ``__all__``); everything outside the subsystem (the shell, the dashboard, the other
subsystems, benchmarks) imports only these, from ``assay.<subsystem>``, and import-linter forbids the rest. A name is
imported from its module on first use (PEP 562 ``__getattr__``), so ``import assay.forge`` stays cheap and a
command loads only what it runs (``assay --help`` imports no torch). A public name never equals a submodule's name:
``from assay.forge import train`` must mean one thing."""

from __future__ import annotations

import importlib
import sys
from typing import Any, Callable, Mapping


def public_face(package: str, exports: Mapping[str, str]) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``__getattr__`` and ``__dir__`` for ``package`` whose public names (``exports``: name -> submodule) are
    imported from their submodules when first asked for, then kept in the package's namespace."""

    def __getattr__(name: str) -> Any:
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f"{package}.{module}"), name)
        setattr(sys.modules[package], name, value)
        return value

    def __dir__() -> list[str]:
        return sorted(set(vars(sys.modules[package])) | set(exports))

    return __getattr__, __dir__
