"""``assay catalog check``: does the catalog agree with the files of its workspace?

Each check is registered in :data:`CHECKS` and gives :class:`Finding` s; ``repair`` fixes what
can be fixed without losing anything:

- ``database``: the database's own consistency check (SQLite's ``integrity_check``); never repaired.
- ``orphans``: lineage, index and reject rows of no artefact; repaired by deleting them.
- ``paths``: a row whose stored path names an older place of a moved workspace (found by its
  tail under the root) is repaired by storing it relative to the root; a missing file or folder,
  or a parent id that no row has, is reported.
- ``hashes``: a stamped file whose bytes are no longer those recorded (``file_sha256``); reported.
- ``pending``: a provenance record whose stamp batch never committed its files; reported.
- ``dangling``: an artefact folder (``<kind>/<id>``) no row names; reported (it may be committing).
- ``temporaries``: a temporary file (:func:`assay.core.fileio.atomic_path`) whose writer has
  died, in the workspace or beside a stamped file; repaired by deleting it.
- ``staging``: unfinished work (``<kind>/.staging-*``): resumable by running its command again,
  so only reported, unless ``drop_staging`` removes those whose lock no live process holds (a scan's
  staging folder has no lock: stop scans first).
"""

from __future__ import annotations

import os
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Iterator

from assay.core.catalog import KINDS, PREFIX_TO_KIND, Record
from assay.core.fileio import sha256_file, temp_writer
from assay.core.locks import holder
from assay.core.registry import Registry
from assay.core.workspace import Workspace

#: provenance record statuses (``assay.provenance``'s, which core cannot import): a later stamp replaced its file;
#: its batch has not committed its files (interrupted, or still running)
RETIRED, PENDING = "retired", "pending"


@dataclass
class Finding:
    """One thing ``catalog check`` found: which ``check``, about what (an id or a path), and whether it was repaired."""

    check: str
    subject: str
    problem: str
    repaired: bool = False

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


@dataclass
class CheckRun:
    """What the checks share: the workspace, the raw rows (paths as stored), and what to repair."""

    ws: Workspace
    rows: list[Record]
    repair: bool
    drop_staging: bool = False

    def resolved(self, rec: Record) -> Path | None:
        return Path(self.ws.catalog.paths.resolve(rec.path)) if rec.path and self.ws.catalog.paths else None


CHECKS: Registry[Callable[[CheckRun], Iterator[Finding]]] = Registry("catalog check")


def check(ws: Workspace, repair: bool = False, drop_staging: bool = False) -> list[Finding]:
    """Every registered check's findings, in registration order (``repair``: fix what is safe to fix)."""
    run = CheckRun(ws, ws.catalog.backend.select(list(KINDS)), repair, drop_staging)
    return [finding for name in CHECKS.ordered() for finding in CHECKS.get(name)(run)]


@CHECKS.register("database")
def _database(run: CheckRun) -> Iterator[Finding]:
    for problem in run.ws.catalog.backend.integrity():
        yield Finding("database", run.ws.catalog.backend.location, problem)


@CHECKS.register("orphans")
def _orphans(run: CheckRun) -> Iterator[Finding]:
    for table, count in run.ws.catalog.backend.orphans(delete=run.repair).items():
        if count:
            yield Finding("orphans", table, f"{count} row(s) of no artefact", run.repair)


@CHECKS.register("paths")
def _paths(run: CheckRun) -> Iterator[Finding]:
    ids = {rec.id for rec in run.rows}
    moved: dict[str, str] = {}
    for rec in run.rows:
        for parent in rec.parents:
            if parent not in ids:
                yield Finding("paths", rec.id, f"its parent {parent} has no row")
        where = run.resolved(rec)
        if where is None:
            continue
        if not where.exists():
            yield Finding("paths", rec.id, f"its {'folder' if rec.kind != 'provenance' else 'file'} {where} is missing")
            continue
        stored = run.ws.catalog.paths.store(where)  # type: ignore[union-attr]
        if stored != rec.path:
            moved[rec.id] = stored
            yield Finding("paths", rec.id, f"stored as {rec.path}, now at {where}", run.repair)
    if moved and run.repair:
        def change(rec: Record) -> None:
            rec.path = moved[rec.id]

        run.ws.catalog.backend.modify(list(moved), change)


@CHECKS.register("hashes")
def _hashes(run: CheckRun) -> Iterator[Finding]:
    """Stamped files whose bytes differ from the record's (a retired record's file was replaced by a later stamp)."""
    for rec in run.rows:
        want, where = rec.params.get("file_sha256"), run.resolved(rec)
        if rec.status != RETIRED and isinstance(want, str) and where is not None and where.is_file() and sha256_file(where) != want:
            yield Finding("hashes", rec.id, f"{where} is not the file stamped (its bytes changed since)")


@CHECKS.register("pending")
def _pending(run: CheckRun) -> Iterator[Finding]:
    for rec in run.rows:
        if rec.status == PENDING:
            yield Finding("pending", rec.id, "its stamp batch never committed its files (interrupted, or still "
                          "running): stamp the same files again")


@CHECKS.register("dangling")
def _dangling(run: CheckRun) -> Iterator[Finding]:
    named = {where.resolve() for rec in run.rows if (where := run.resolved(rec))}
    for kind in KINDS:
        folder = run.ws.root / kind
        for entry in sorted(folder.iterdir()) if folder.is_dir() else ():
            if PREFIX_TO_KIND.get(entry.name.partition("-")[0]) == kind and entry.resolve() not in named:
                yield Finding("dangling", str(entry), "an artefact folder no catalog row names")


def _temp_folders(run: CheckRun) -> Iterator[Path]:
    """The workspace's folders, and those of files stamped outside it."""
    for top, _, _ in os.walk(run.ws.root):
        yield Path(top)
    outside = {where.parent for rec in run.rows if rec.kind == "provenance" and (where := run.resolved(rec))}
    yield from sorted(p for p in outside if run.ws.root.resolve() not in p.resolve().parents and p.is_dir())


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@CHECKS.register("temporaries")
def _temporaries(run: CheckRun) -> Iterator[Finding]:
    for folder in _temp_folders(run):
        for entry in sorted(folder.iterdir()):
            pid = temp_writer(entry.name)
            if pid is None or not entry.is_file() or _alive(pid):
                continue
            if run.repair:
                entry.unlink(missing_ok=True)
            yield Finding("temporaries", str(entry), f"a temporary file its writer (pid {pid}) left when it died",
                          run.repair)


@CHECKS.register("staging")
def _staging(run: CheckRun) -> Iterator[Finding]:
    for kind in KINDS:
        folder = run.ws.root / kind
        for entry in sorted(folder.glob(".staging-*")) if folder.is_dir() else ():
            if not entry.is_dir():
                continue
            live = holder(entry.parent / f"{entry.name}.lock")
            if live is not None:
                yield Finding("staging", str(entry), f"work in progress ({live})")
                continue
            if run.drop_staging:
                shutil.rmtree(entry)
                (entry.parent / f"{entry.name}.lock").unlink(missing_ok=True)
            yield Finding("staging", str(entry), "unfinished work: run its command again to resume it, or drop it "
                          "with --drop-staging", run.drop_staging)
