"""Atomic file writes (temp name in the same folder, fsync, rename) and JSON Lines helpers."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import tempfile
from pathlib import Path
from typing import Any, Iterable, Iterator

from assay.core.errors import OutputError

#: what a temporary file's name holds after its writer's pid and random letters (``.x.png.<pid>.<random>.tmp.png``)
TEMP_TAG = ".tmp"
_TEMP_NAME = re.compile(r"^\..+\.(?P<pid>\d+)\.[a-z0-9_]+\.tmp(\.[^.]*)?$")


def _fsync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _umask() -> int:
    """The process umask (read from /proc where it can be, so no other thread sees it changed)."""
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str], mode: int | None = None, exclusive: bool = False) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success it is fsynced and renamed onto ``path``.

    ``exclusive`` never replaces a file: the finished file is linked to ``path``, which fails
    with ``FileExistsError`` when another writer got there first (as ``O_EXCL`` would).

    The file gets ``mode`` (e.g. 0o600 for keys), by default 0o666 less the umask, as a
    plain ``open`` would give it (the temporary file starts at 0600 whatever the umask).
    On an exception the temporary file is removed and ``path`` is left as it was.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.{os.getpid()}.", suffix=TEMP_TAG + target.suffix,
                               dir=target.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.chmod(tmp_path, 0o666 & ~_umask() if mode is None else mode)
        with open(tmp_path, "rb+") as fh:
            os.fsync(fh.fileno())
        if exclusive:
            os.link(tmp_path, target)
        else:
            os.replace(tmp_path, target)
        _fsync_dir(target.parent)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def temp_writer(name: str) -> int | None:
    """The process id that made the temporary file named ``name`` (see :func:`atomic_path`), None for other names."""
    found = _TEMP_NAME.match(name)
    return int(found["pid"]) if found else None


def check_writable_folder(folder: str | os.PathLike[str]) -> Path:
    """Make ``folder`` (with its parents) and prove a file can be written in it, before any work is done.

    Raises :class:`OutputError` with a one-line reason (read-only file system, permission
    denied, a file in the way, disk full).
    """
    path = Path(folder)
    try:
        path.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=f".assay-write-check.{os.getpid()}.", suffix=TEMP_TAG, dir=path)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise OutputError(f"cannot write to {path}: {exc.strerror or exc}") from None
    return path


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes, mode: int | None = None,
                       exclusive: bool = False) -> None:
    """Write ``data`` atomically (see :func:`atomic_path` for ``mode`` and ``exclusive``)."""
    with atomic_path(path, mode, exclusive) as tmp:
        tmp.write_bytes(data)


def atomic_write_text(path: str | os.PathLike[str], text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: str | os.PathLike[str], obj: Any) -> None:
    atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=True, default=str) + "\n")


def atomic_write_jsonl(path: str | os.PathLike[str], rows: Iterable[dict[str, Any]]) -> None:
    atomic_write_text(path, "".join(json.dumps(r, sort_keys=True, default=str) + "\n" for r in rows))


def append_jsonl(path: str | os.PathLike[str], row: dict[str, Any]) -> None:
    """Append one JSON line and fsync it (journal files, metrics)."""
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(json.dumps(row, sort_keys=True, default=str) + "\n")
        fh.flush()
        os.fsync(fh.fileno())


def read_jsonl(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """Rows of a JSON Lines file; a torn last line (interrupted append) is ignored."""
    rows = []
    p = Path(path)
    if not p.exists():
        return rows
    with open(p, encoding="utf-8") as fh:
        for line in fh:
            line = line.strip()
            if not line:
                continue
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError:
                break
    return rows


def read_json(path: str | os.PathLike[str]) -> Any:
    return json.loads(Path(path).read_text(encoding="utf-8"))


def sha256_file(path: str | os.PathLike[str], chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()
