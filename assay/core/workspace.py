"""A workspace: one folder holding the catalog database and every artefact's files."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Sequence

from assay.core.catalog import Catalog, Record, check_kind

DEFAULT_WORKSPACE = "assay-workspace"
ENV_VAR = "ASSAY_WORKSPACE"


def default_root() -> Path:
    return Path(os.environ.get(ENV_VAR) or DEFAULT_WORKSPACE)


class Workspace:
    """Artefact folders are ``<root>/<kind>/<id>``; unfinished work lives in ``<root>/<kind>/.staging-<name>``."""

    def __init__(self, root: str | Path | None = None) -> None:
        self.root = Path(root) if root is not None else default_root()
        self.root.mkdir(parents=True, exist_ok=True)
        self.catalog = Catalog(self.root / "catalog.sqlite")

    def __repr__(self) -> str:
        return f"Workspace({str(self.root)!r})"

    def artefact_dir(self, kind: str, artefact_id: str) -> Path:
        return self.root / check_kind(kind) / artefact_id

    def staging_dir(self, kind: str, name: str) -> Path:
        """A folder for an artefact being made; kept across interruptions so work can resume."""
        safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in name)
        path = self.root / check_kind(kind) / f".staging-{safe}"
        path.mkdir(parents=True, exist_ok=True)
        return path

    def commit(self, kind: str, name: str, staging: Path, params: dict[str, Any] | None = None,
               parents: Sequence[str] = ()) -> Record:
        """Move a finished staging folder into place and register it in the catalog."""
        artefact_id = self.catalog.new_id(kind)
        final = self.artefact_dir(kind, artefact_id)
        os.replace(staging, final)
        try:
            return self.catalog.add(kind, name, params, parents, path=final, artefact_id=artefact_id)
        except BaseException:
            os.replace(final, staging)
            raise

    def resolve(self, ref: str, kind: str | None = None) -> Record:
        """An artefact by id or name (see :meth:`Catalog.get`)."""
        return self.catalog.get(ref, kind)

    def path_of(self, rec: Record) -> Path:
        if not rec.path:
            raise FileNotFoundError(f"{rec.kind} {rec.id} has no files")
        return Path(rec.path)
