"""A Python client of ``assay serve``, on the standard library alone.

    client = Client("http://127.0.0.1:8000", token="assay_...")
    result = client.scan("photo.jpg")        # the scan result JSON (docs/detect_scan.md)
    report = client.verify("photo.jpg")      # the verify JSON (docs/provenance.md)
"""

from __future__ import annotations

import json
import mimetypes
import os
import secrets
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from assay.core.errors import AssayError


class ServiceError(AssayError):
    """A refused or failed request: ``status`` is the HTTP status, ``detail`` the service's reason,
    ``body`` the whole JSON answer (a scan that could not read the file still answers with its result)."""

    def __init__(self, status: int, detail: str, body: Any = None, retry_after: float | None = None) -> None:
        super().__init__(f"{status}: {detail}")
        self.status, self.detail, self.body, self.retry_after = status, detail, body, retry_after


def multipart(field: str, filename: str, data: bytes) -> tuple[bytes, str]:
    """A multipart/form-data body with one file, and its content type."""
    boundary = "assay-" + secrets.token_hex(12)
    kind = mimetypes.guess_type(filename)[0] or "application/octet-stream"
    safe = filename.replace('"', "_").replace("\r", "_").replace("\n", "_")
    head = (f'--{boundary}\r\nContent-Disposition: form-data; name="{field}"; filename="{safe}"\r\n'
            f"Content-Type: {kind}\r\n\r\n").encode()
    return head + data + f"\r\n--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


class Client:
    """Calls one service; ``token`` is sent as a bearer token (None for a --public service's anonymous use)."""

    def __init__(self, url: str, token: str | None = None, timeout: float = 120.0) -> None:
        self.url = url.rstrip("/")
        self.token = token if token is not None else os.environ.get("ASSAY_TOKEN")
        self.timeout = timeout

    def _call(self, method: str, route: str, body: bytes | None = None, content_type: str | None = None) -> Any:
        headers = {"Accept": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        if content_type:
            headers["Content-Type"] = content_type
        request = urllib.request.Request(self.url + route, data=body, headers=headers, method=method)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as reply:
                raw = reply.read()
                kind = reply.headers.get("Content-Type", "")
        except urllib.error.HTTPError as exc:
            raw = exc.read()
            try:
                answer = json.loads(raw)
            except ValueError:
                answer = {"detail": raw.decode("utf-8", "replace")[:200] or exc.reason}
            retry = exc.headers.get("Retry-After")
            raise ServiceError(exc.code, str(answer.get("detail")), answer,
                               float(retry) if retry else None) from None
        return json.loads(raw) if kind.startswith("application/json") else raw.decode("utf-8")

    def _upload(self, route: str, path: str | os.PathLike[str] | None, data: bytes | None, name: str | None) -> Any:
        if data is None:
            data = Path(path).read_bytes()  # type: ignore[arg-type]
        body, content_type = multipart("file", name or (Path(path).name if path else "upload"), data)
        return self._call("POST", route, body, content_type)

    def scan(self, path: str | os.PathLike[str] | None = None, data: bytes | None = None, name: str | None = None,
             verify: bool = False) -> dict[str, Any]:
        """The scan result of a file (``path``, or ``data`` called ``name``); ``verify`` adds the verify report."""
        return self._upload("/v1/scan" + ("?verify=true" if verify else ""), path, data, name)

    def verify(self, path: str | os.PathLike[str] | None = None, data: bytes | None = None,
               name: str | None = None) -> dict[str, Any]:
        """The provenance verify report of a file."""
        return self._upload("/v1/verify", path, data, name)

    def detectors(self) -> dict[str, Any]:
        return self._call("GET", "/v1/detectors")

    def health(self) -> dict[str, Any]:
        return self._call("GET", "/healthz")

    def metrics(self) -> str:
        return self._call("GET", "/metrics")
