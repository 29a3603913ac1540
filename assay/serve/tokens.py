"""Bearer tokens for the service: shown once when made, kept only as a salted SHA-256 in a 0600 JSON file.

A token reads ``assay_<id>_<secret>``: the id finds its entry, the secret (256 random bits) is
checked against the entry's salted hash in constant time. A fast hash suits a random secret of
that length (there is no dictionary to try); a slow password hash would only slow every request.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import secrets
import threading
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from assay.core.errors import InputError
from assay.core.fileio import atomic_write_bytes

SCHEMA = "assay.serve.tokens/1"
PREFIX = "assay"
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


@dataclass(frozen=True)
class Caller:
    """Who a request is from: a token's name (or ``anonymous``), its rate limit key and whether its scans are recorded."""

    name: str
    key: str
    rate_per_min: float | None
    record: bool


def _digest(salt: str, secret: str) -> str:
    return hashlib.sha256(bytes.fromhex(salt) + secret.encode()).hexdigest()


class TokenStore:
    """The token file: ``add`` / ``revoke`` / ``list`` for the operator, ``check`` for every request.

    ``check`` reads the file again when it changed, so a token revoked while the service runs is
    refused from its next request on.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._seen: tuple[int, int] | None = None
        self._entries: dict[str, dict[str, Any]] = {}

    def _read(self) -> dict[str, dict[str, Any]]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            raise InputError(f"token file {self.path} cannot be read: {exc}".splitlines()[0]) from None
        if data.get("schema") != SCHEMA:
            raise InputError(f"token file {self.path} is not an assay token file (schema {SCHEMA})")
        return data["tokens"]

    def _write(self, entries: dict[str, dict[str, Any]]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        body = json.dumps({"schema": SCHEMA, "tokens": entries}, indent=2, sort_keys=True) + "\n"
        atomic_write_bytes(self.path, body.encode(), mode=0o600)

    def add(self, name: str, rate_per_min: float | None = None, record: bool = False) -> str:
        """Make a token called ``name`` and return it: the only time it is shown."""
        if not NAME.match(name):
            raise InputError(f"token name {name!r}: use 1-64 letters, digits, '.', '_' or '-'")
        if rate_per_min is not None and rate_per_min <= 0:
            raise InputError(f"--rate must be positive, got {rate_per_min}")
        entries = self._read()
        if name in entries:
            raise InputError(f"a token named {name!r} exists; revoke it first or choose another name")
        token_id, secret, salt = secrets.token_hex(6), secrets.token_urlsafe(32), secrets.token_hex(16)
        entries[name] = {"id": token_id, "salt": salt, "sha256": _digest(salt, secret), "rate_per_min": rate_per_min,
                         "record": record, "created": datetime.now(timezone.utc).isoformat(timespec="seconds")}
        self._write(entries)
        return f"{PREFIX}_{token_id}_{secret}"

    def revoke(self, name: str) -> None:
        """Remove the token ``name``; InputError when there is none."""
        entries = self._read()
        if name not in entries:
            raise InputError(f"no token named {name!r} in {self.path}")
        del entries[name]
        self._write(entries)

    def list(self) -> list[dict[str, Any]]:
        """Name, id, rate, record flag and creation time of every token (never a hash)."""
        return [{"name": n, "id": e["id"], "rate_per_min": e["rate_per_min"], "record": e["record"],
                 "created": e["created"]} for n, e in sorted(self._read().items())]

    def _current(self) -> dict[str, dict[str, Any]]:
        try:
            st = self.path.stat()
            seen: tuple[int, int] | None = (st.st_mtime_ns, st.st_ino)
        except FileNotFoundError:
            seen = None
        with self._lock:
            if seen != self._seen or seen is None:
                self._entries = {e["id"]: {**e, "name": n} for n, e in self._read().items()}
                self._seen = seen
            return self._entries

    def check(self, token: str) -> Caller | None:
        """The caller a presented token belongs to, or None for an unknown, revoked or malformed one."""
        parts = token.split("_", 2)
        if len(parts) != 3 or parts[0] != PREFIX:
            return None
        entry = self._current().get(parts[1])
        if entry is None or not hmac.compare_digest(entry["sha256"], _digest(entry["salt"], parts[2])):
            return None
        return Caller(entry["name"], f"token:{entry['name']}", entry["rate_per_min"], bool(entry["record"]))
