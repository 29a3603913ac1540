"""One error hierarchy: every error the suite raises on purpose is an ``AssayError``.

``str(error)`` is a one-line reason meant for the user; the CLI prints it and exits 2.
"""

from __future__ import annotations

import errno


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


class ModelError(AssayError, RuntimeError):
    """A model (pretrained face model, detector, generator) that cannot be loaded or run."""


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
