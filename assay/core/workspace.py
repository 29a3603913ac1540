"""A workspace: one folder holding the catalog database and every artefact's files."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Sequence

from assay.core.catalog import Record, check_kind, open_catalog
from assay.core.catalog_sqlite import open_sqlite
from assay.core.errors import CatalogError
from assay.core.workspace_paths import WorkspacePaths

DEFAULT_WORKSPACE = "assay-workspace"
ENV_VAR = "ASSAY_WORKSPACE"
#: a catalog elsewhere than the workspace's SQLite file (e.g. postgresql://...); --catalog-url
CATALOG_URL_VAR = "ASSAY_CATALOG_URL"
CATALOG_FILE = "catalog.sqlite"


def default_root() -> Path:
    return Path(os.environ.get(ENV_VAR) or DEFAULT_WORKSPACE)


class ReadOnlyWorkspace(CatalogError):
    """A workspace opened for writing whose folder cannot be written."""


class Workspace:
    """Artefact folders are ``<root>/<kind>/<id>``; unfinished work lives in ``<root>/<kind>/.staging-<name>``.

    ``read_only`` opens an existing workspace for reading only: nothing is created, the
    catalog is never migrated or written, and making artefacts is refused. The catalog is
    ``<root>/catalog.sqlite`` unless ``catalog_url`` (or ``ASSAY_CATALOG_URL``) names another.
    """

    def __init__(self, root: str | Path | None = None, read_only: bool = False,
                 catalog_url: str | None = None) -> None:
        self.root = Path(root) if root is not None else default_root()
        self.read_only = read_only
        if self.root.exists() and not self.root.is_dir():
            raise CatalogError(f"workspace {self.root} is a file, not a folder (see --workspace, ASSAY_WORKSPACE)")
        if not read_only:
            try:
                self.root.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise CatalogError(f"cannot make workspace {self.root}: {exc.strerror or exc}") from None
            if not os.access(self.root, os.W_OK):
                raise ReadOnlyWorkspace(f"workspace {self.root} is read-only: this command writes to it "
                                        "(commands that only read work)")
        url = catalog_url or os.environ.get(CATALOG_URL_VAR)
        self.catalog = open_catalog(url, read_only) if url else open_sqlite(self.root / CATALOG_FILE, read_only=read_only)
        self.catalog.paths = WorkspacePaths(self.root)  # rows keep paths relative to the root (it may move)

    def __repr__(self) -> str:
        return f"Workspace({str(self.root)!r}{', read_only=True' if self.read_only else ''})"

    def _writable(self) -> None:
        if self.read_only:
            raise CatalogError(f"workspace {self.root} is open read-only")

    def artefact_dir(self, kind: str, artefact_id: str) -> Path:
        return self.root / check_kind(kind) / artefact_id

    def staging_dir(self, kind: str, name: str) -> Path:
        """A folder for an artefact being made; kept across interruptions so work can resume."""
        self._writable()
        safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in name)
        path = self.root / check_kind(kind) / f".staging-{safe}"
        path.mkdir(parents=True, exist_ok=True)
        return path

    def commit(self, kind: str, name: str, staging: Path, params: dict[str, Any] | None = None,
               parents: Sequence[str] = ()) -> Record:
        """Move a finished staging folder into place and register it in the catalog."""
        self._writable()
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
