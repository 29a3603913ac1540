"""Exclusive locks on work in progress (a training run, a data set being prepared).

A lock is an exclusive ``fcntl.flock`` on a lock file that also holds who took it (pid, host,
start time). The OS releases the lock when its process ends, however it ends; a clean release
empties the file first, so a lock file that still names a holder but is not locked was left by
a process that died: a *stale* lock, reported and taken over. The holder line is written in
place (the lock is on the file itself, so it cannot be replaced atomically); a reader that
catches it half-written reports an unknown holder.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import socket
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator

from assay.core.catalog import Record
from assay.core.errors import AssayError

#: the lock file of an artefact folder (a training run): held while a process writes in it
LOCK_FILE = ".lock"


class LockHeld(AssayError):
    """The work is locked by another live process; ``str()`` names it."""


@dataclass(frozen=True)
class Holder:
    """Who took a lock."""

    pid: int
    host: str
    started: str

    def __str__(self) -> str:
        return f"pid {self.pid} on {self.host} (since {self.started})"


@dataclass
class Lock:
    """A held lock; ``stale`` is the holder a dead process left in the file, if any."""

    path: Path
    stale: Holder | None


def _holder(text: str) -> Holder | None:
    try:
        data = json.loads(text)
        return Holder(int(data["pid"]), str(data["host"]), str(data["started"]))
    except (ValueError, KeyError, TypeError):
        return None


def _read(fd: int) -> str:
    os.lseek(fd, 0, os.SEEK_SET)
    return os.read(fd, 4096).decode("utf-8", "replace").strip()


@contextlib.contextmanager
def hold(path: Path, what: str) -> Iterator[Lock]:
    """Take the lock at ``path`` for ``what`` (e.g. "run run-1a2b") or raise :class:`LockHeld` at once."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _holder(_read(fd))
            raise LockHeld(f"{what} is in use by {holder or 'another process'} (lock {path}); "
                           "wait for it to finish or stop it first") from None
        previous = _read(fd)
        me = Holder(os.getpid(), socket.gethostname(), datetime.now(timezone.utc).isoformat(timespec="seconds"))
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(me.__dict__).encode() + b"\n", 0)
        try:
            yield Lock(path, _holder(previous) if previous else None)
        finally:
            os.ftruncate(fd, 0)
    finally:
        os.close(fd)                                             # closing the only descriptor releases the lock


def holder(path: Path) -> Holder | None:
    """The live holder of the lock at ``path``, or None when nobody holds it (or there is no lock file)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return _holder(_read(fd)) or Holder(0, "unknown", "unknown")
        return None
    finally:
        os.close(fd)


def shown_status(rec: Record) -> str:
    """A record's status as users should see it: ``running`` with its folder's lock file left unheld
    means the process that ran it died (killed, crashed), so the work is ``interrupted``."""
    if rec.status != "running" or not rec.path:
        return rec.status
    lock = Path(rec.path) / LOCK_FILE
    return "interrupted" if lock.exists() and holder(lock) is None else rec.status
