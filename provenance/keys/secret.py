"""The workspace secret: keys the invisible watermark and the GB 45438 ``ReservedCode1`` integrity code.

32 random bytes in ``<workspace>/keys/workspace.secret`` (mode 0600), made by ``keygen``
or on the first stamp, and never replaced (``keygen --force`` rotates the signing keys
only: a new secret would orphan every watermark made before). Whoever lacks it can neither
embed a watermark this workspace decodes nor compute a ``ReservedCode1`` it accepts. The
secret is never printed, logged or written anywhere else; derived values are never stored.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import sys
from dataclasses import dataclass, field
from pathlib import Path

from assay.core.fileio import atomic_write_bytes
from assay.provenance.keys.keyfiles import SECRET_MODE, SigningError, default_keys_dir

SECRET_FILE = "workspace.secret"
SECRET_BYTES = 32


@dataclass(frozen=True)
class WorkspaceSecret:
    """The secret, and what is derived from it (one HMAC-SHA256 per purpose)."""

    key: bytes = field(repr=False)

    def _derive(self, purpose: str, message: str = "") -> bytes:
        sub = hmac.new(self.key, purpose.encode(), hashlib.sha256).digest()
        return hmac.new(sub, message.encode(), hashlib.sha256).digest()

    @property
    def watermark_key(self) -> int:
        """The seed of the watermark's keyed permutation and signs (128 bits)."""
        return int.from_bytes(self._derive("watermark")[:16], "big")

    @property
    def watermark_key_id(self) -> str:
        """A public name of the watermark key (16 hex digits, from its own HMAC: it tells nothing of the key), recorded
        with a keyed watermark so that a reader without that key says so instead of reporting a broken mark."""
        return self._derive("watermark-key-id").hex()[:16]

    def integrity_code(self, content_id: str, content_sha256: str, producer: str) -> str:
        """GB 45438 ``ReservedCode1``: a keyed hash of the content id, the decoded pixels' sha256 and the producer."""
        return self._derive("gb45438-reserved-code-1", "\x1f".join((content_id, content_sha256, producer))).hex()[:32]


def read_secret(keys_dir: Path) -> WorkspaceSecret | None:
    """The secret in ``keys_dir``, or None when there is none."""
    path = Path(keys_dir) / SECRET_FILE
    if not path.is_file():
        return None
    key = path.read_bytes()
    if len(key) != SECRET_BYTES:
        raise SigningError(f"{path} is not a workspace secret ({SECRET_BYTES} bytes expected)")
    return WorkspaceSecret(key)


def make_secret(keys_dir: Path) -> bool:
    """Write a new secret into ``keys_dir`` unless it has one; True when one was made."""
    path = Path(keys_dir) / SECRET_FILE
    if path.exists():
        return False
    atomic_write_bytes(path, secrets.token_bytes(SECRET_BYTES), SECRET_MODE)
    return True


def workspace_secret(ws) -> WorkspaceSecret | None:
    """The workspace's secret, or None (a workspace that never stamped since secrets came in)."""
    return read_secret(default_keys_dir(ws)) if ws is not None else None


def ensure_secret(ws) -> WorkspaceSecret:
    """The workspace's secret, made on first use (a note on stderr says so)."""
    d = default_keys_dir(ws)
    d.mkdir(parents=True, exist_ok=True)
    if make_secret(d):
        print(f"made the workspace secret {d / SECRET_FILE} (keys the watermark; keep it, never share it)",
              file=sys.stderr)
    return read_secret(d)  # type: ignore[return-value]
