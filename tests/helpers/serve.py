"""`assay serve` as a real server for the tests: started by the project's command on a free loopback port."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Iterator

from assay.core.workspace import Workspace
from assay.detect import DetectTrainConfig, train
from tests.helpers.detect_toy import make_toy_workspace

REPO = Path(__file__).resolve().parents[2]
STARTUP_S = 120


def toy_detector_workspace(root: Path) -> tuple[Workspace, str]:
    """A workspace with toy real and up-sampled sets and a spectral detector trained on them (a few seconds)."""
    ws, real, fakes = make_toy_workspace(root)
    record, _ = train(ws, DetectTrainConfig(model="spectral"), [real], fakes, name="toy-spectral")
    assert record is not None
    return ws, record.id


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def health(url: str) -> dict | None:
    try:
        with urllib.request.urlopen(f"{url}/healthz", timeout=5) as reply:
            return json.loads(reply.read())
    except OSError:
        return None


class Server:
    """A running ``python -m assay serve``; ``url`` is where it listens, ``log`` its stderr file."""

    def __init__(self, ws: Workspace, args: list[str], tmp: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.tmp = tmp / "server-tmp"  #: the server's TMPDIR: where its uploads go (and must not stay)
        self.tmp.mkdir(parents=True, exist_ok=True)
        self.log = tmp / f"serve-{self.port}.log"
        env = {**os.environ, "PYTHONPATH": str(REPO), "TMPDIR": str(self.tmp)}
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "assay", "--workspace", str(ws.root), "serve", "--port", str(self.port), *args],
                stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)

    def wait_ready(self) -> None:
        """Until /healthz answers (a worker loads the detector before it takes connections; until the others
        have, the ready ones take them all)."""
        deadline = time.monotonic() + STARTUP_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"assay serve exited with {self.proc.returncode}: {self.log.read_text()[-2000:]}")
            if health(self.url):
                return
            time.sleep(0.2)  # polling the health endpoint, not waiting for a result
        raise AssertionError(f"assay serve not healthy at {self.url}: {self.log.read_text()[-2000:]}")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 90) -> int:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, sig)
        return self.proc.wait(timeout=timeout)

    def leftovers(self) -> list[str]:
        """Upload folders still in the server's TMPDIR (its state folder lives while it runs)."""
        return sorted(p.name for p in self.tmp.iterdir() if not p.name.startswith("assay-serve-state-"))


@contextlib.contextmanager
def running(ws: Workspace, args: list[str], tmp: Path, workers: int = 1) -> Iterator[Server]:
    server = Server(ws, [*args, "--workers", str(workers)], tmp)
    try:
        server.wait_ready()
        yield server
    finally:
        server.stop()


def raw_request_head(url: str, route: str, body_length: int | None, token: str | None, boundary: str
                     ) -> socket.socket:
    """A socket that has sent the head of a multipart POST (the body still to come), for slow-client tests;
    ``body_length`` None: a chunked body (``Transfer-Encoding: chunked``, no Content-Length)."""
    host, port = url.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)), timeout=60)
    length = "Transfer-Encoding: chunked" if body_length is None else f"Content-Length: {body_length}"
    head = [f"POST {route} HTTP/1.1", f"Host: {host}", f"Content-Type: multipart/form-data; boundary={boundary}",
            length, "Connection: close"]
    if token:
        head.append(f"Authorization: Bearer {token}")
    sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode())
    return sock


def read_reply_head(sock: socket.socket) -> tuple[bytes, dict]:
    """The reply's head (lower case) and JSON body on a raw socket; returns once the server closes the connection."""
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    sock.close()
    head, _, body = data.partition(b"\r\n\r\n")
    return head.lower(), json.loads(body) if body else {}


def read_reply(sock: socket.socket) -> tuple[int, dict]:
    """Status and JSON body of the reply on a raw socket (the server closes the connection after it)."""
    head, body = read_reply_head(sock)
    return int(head.split(b" ", 2)[1]), body
