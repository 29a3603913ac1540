"""One error hierarchy: every error the suite raises on purpose is an ``AssayError``.

``str(error)`` is a one-line reason meant for the user; the CLI prints it and exits 2.
"""

from __future__ import annotations

import contextlib
import errno
from typing import Iterator


class AssayError(Exception):
    """Base of every deliberate assay error; ``str()`` is a one-line reason."""


class InputError(AssayError, ValueError):
    """A setting, option or argument that cannot be used (what was expected, what came)."""


class UnknownNameError(InputError):
    """A registry lookup of a name nobody registered; the message lists the known names."""


class CatalogError(AssayError):
    """A catalog lookup or write that cannot be done."""


class MediaError(AssayError):
    """An input file (image or video) that cannot be used."""


class ImageError(MediaError):
    """An input image that cannot be used."""


class VideoError(MediaError, ValueError):
    """An input video that cannot be used."""


class OutputError(AssayError):
    """An output file or folder that cannot be written (read-only, missing permission, not a folder)."""


class EnvironmentFault(AssayError):
    """A fault of the machine rather than of an input (disk full, I/O error): the same command can be run again."""


class ModelError(AssayError, RuntimeError):
    """A model (pretrained face model, detector, generator) that cannot be loaded or run."""


#: errnos that say nothing about the file being read or written: the machine is at fault, and a retry may work
TRANSIENT_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EIO, errno.EAGAIN, errno.ENOMEM, errno.EMFILE,
                              errno.ENFILE})


def is_transient(exc: BaseException) -> bool:
    """Whether ``exc`` is an OS error of the machine (disk full, I/O error, ...), not of one file."""
    return isinstance(exc, OSError) and exc.errno in TRANSIENT_ERRNOS


def environment_fault(exc: OSError) -> EnvironmentFault:
    """A one-line :class:`EnvironmentFault` for a transient OS error, naming the file and what to do."""
    where = f" ({exc.filename})" if exc.filename else ""
    return EnvironmentFault(f"{exc.strerror or type(exc).__name__}{where}: fix it (free space, check the disk) "
                            "and run the same command again; work already done is kept")


@contextlib.contextmanager
def machine_faults() -> Iterator[None]:
    """Raise the transient OS errors met inside (disk full, I/O error) as :class:`EnvironmentFault`."""
    try:
        yield
    except OSError as exc:
        if is_transient(exc):
            raise environment_fault(exc) from None
        raise


def media_oserror(exc: OSError, cls: type[MediaError]) -> AssayError:
    """The error for an OSError met reading an input file: a fault of the machine, or a ``cls`` reason."""
    return environment_fault(exc) if is_transient(exc) else cls(oserror_reason(exc))


def oserror_reason(exc: OSError) -> str:
    """A one-line reason for an OSError met while reading an input file or folder."""
    if exc.errno == errno.ELOOP:
        return "symlink loop"
    if exc.errno in (errno.EACCES, errno.EPERM):
        return "unreadable: permission denied"
    if exc.errno == errno.ENOENT:
        return "missing file (broken link?)"
    if exc.errno == errno.EISDIR:
        return "is a directory"
    text = str(exc)
    if "truncated" in text.lower():
        return "truncated image data"
    return f"unreadable: {text.splitlines()[0] if text else type(exc).__name__}"


class MissingExtraError(AssayError, ImportError):
    """An optional dependency a chosen feature needs is not installed; the message names the extra."""
