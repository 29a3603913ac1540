"""Catalog paths relative to the workspace root, so that a workspace keeps working when moved, copied or used
from another folder.

A path inside the workspace is stored relative to its root (``runs/run-1a2b``); one outside
it (a stamped file in the user's ``--out`` folder) is stored absolute. Reading resolves a
stored path against the root. Rows written before paths were kept this way still read:
an absolute or current-folder-relative path that exists is used as it is, and one that no
longer exists (the workspace was moved) is found by its tail under the root
(``/old/place/ws/runs/run-1a2b`` -> ``<root>/runs/run-1a2b``).
"""

from __future__ import annotations

import os
from pathlib import Path

#: the fewest trailing parts a moved row's path is matched by under the root (``<kind>/<id>``)
MIN_TAIL = 2


class WorkspacePaths:
    """Stores and resolves catalog paths for the workspace at ``root``."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(os.path.abspath(root))

    def store(self, path: str | Path) -> str:
        """The form kept in the catalog: relative to the root (POSIX separators) when inside it, else absolute."""
        absolute = Path(os.path.abspath(path))
        for root, target in ((self.root, absolute), (self.root.resolve(), absolute.resolve())):
            try:
                return target.relative_to(root).as_posix()
            except ValueError:
                continue
        return str(absolute)

    def resolve(self, stored: str) -> str:
        """The path a stored one names now (see the module's docstring); the root-relative reading when none exists."""
        path = Path(stored)
        mine = path if path.is_absolute() else self.root / path
        if mine.exists():
            return str(mine)
        if not path.is_absolute() and path.exists():  # an older row, relative to the folder its command ran in
            return str(path.absolute())
        parts = path.parts
        for k in range(len(parts) - 1, MIN_TAIL - 1, -1):  # an older row of a workspace that has moved since
            tail = self.root.joinpath(*parts[-k:])
            if tail.exists():
                return str(tail)
        return str(mine)
