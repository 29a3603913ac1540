"""Where a workspace keeps its key material, the mode of those files, and the error for key material
that cannot be used; shared by the signing keys and the workspace secret."""

from __future__ import annotations

from pathlib import Path

from assay.core.errors import AssayError

#: mode of every file holding a secret (private keys, the workspace secret), whatever the umask
SECRET_MODE = 0o600


def default_keys_dir(ws) -> Path:
    """Where keygen writes by default: ``<workspace>/keys``."""
    return Path(ws.root) / "keys"


class SigningError(AssayError):
    """Signing cannot go ahead; the message is a one-line reason (never key material)."""
