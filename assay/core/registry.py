"""Name -> object registries (generators, losses, detectors, metrics, regulation profiles...)."""

from __future__ import annotations

import fnmatch
import importlib
import pkgutil
from typing import Any, Callable, Generic, Iterable, Iterator, TypeVar

from assay.core.errors import UnknownNameError

T = TypeVar("T")


class Registry(Generic[T]):
    """A named collection filled by the ``@registry.register("name")`` decorator.

    ``modules`` names the modules whose imports fill the registry (a package brings every
    module in it); they are imported on the first lookup, so a caller never imports them to
    fill the registry, and the modules can import the registry without a cycle.
    """

    def __init__(self, kind: str, modules: Iterable[str] = ()) -> None:
        self.kind = kind
        self._items: dict[str, T] = {}
        self._meta: dict[str, dict[str, Any]] = {}
        self._unloaded = list(modules)

    def register(self, name: str | None = None, **meta: Any) -> Callable[[T], T]:
        """Decorator registering an object under ``name`` (default: its ``__name__``)."""

        def add(obj: T) -> T:
            key = name or getattr(obj, "__name__")
            if key in self._items:
                raise ValueError(f"{self.kind} {key!r} is registered twice")
            self._items[key] = obj
            self._meta[key] = dict(meta)
            return obj

        return add

    def _load(self) -> None:
        """Import the modules that fill the registry (each once; a failed one is tried again next time)."""
        while self._unloaded:
            name = self._unloaded.pop(0)
            try:
                module = importlib.import_module(name)
                for sub in pkgutil.iter_modules(getattr(module, "__path__", [])):
                    importlib.import_module(f"{name}.{sub.name}")
            except BaseException:
                self._unloaded.insert(0, name)
                raise

    def get(self, name: str) -> T:
        """The object registered as ``name``; an UnknownNameError that lists the known names otherwise."""
        self._load()
        try:
            return self._items[name]
        except KeyError:
            known = ", ".join(sorted(self._items)) or "none"
            raise UnknownNameError(f"unknown {self.kind} {name!r}; known: {known}") from None

    def meta(self, name: str) -> dict[str, Any]:
        self.get(name)
        return self._meta[name]

    def ordered(self) -> list[str]:
        """Registered names in the order they were registered (for registries whose order matters)."""
        self._load()
        return list(self._items)

    def names(self, pattern: str = "*") -> list[str]:
        """Registered names matching a shell-style pattern, sorted."""
        self._load()
        return sorted(n for n in self._items if fnmatch.fnmatch(n, pattern))

    def create(self, name: str, *args: Any, **kwargs: Any) -> Any:
        """Look ``name`` up and call it with the given arguments."""
        return self.get(name)(*args, **kwargs)  # type: ignore[operator]

    def __contains__(self, name: object) -> bool:
        self._load()
        return name in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        self._load()
        return len(self._items)


def load_entry(table: dict[str, str], name: str, kind: str) -> Any:
    """``table[name]``, a ``"module:attribute"`` string, imported only now (so an engine's or a
    backend's optional dependency is loaded only when it is chosen)."""
    if name not in table:
        raise UnknownNameError(f"unknown {kind} {name!r}; known: {', '.join(table)}")
    module, attribute = table[name].split(":")
    return getattr(importlib.import_module(module), attribute)
