"""A throwaway PostgreSQL server for tests and benchmarks: initdb + pg_ctl in a temporary
folder, on a free loopback port, stopped and removed afterwards.

PostgreSQL refuses to run as root; run as root, the server runs as the unprivileged user
``nobody``, which owns the temporary folder.
"""

from __future__ import annotations

import glob
import os
import secrets
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path
from typing import Any

#: connection password of the test server's superuser (host connections need it: scram-sha-256)
PASSWORD = "assay-test-" + secrets.token_hex(4)
USER = "assay"
START_TRIES = 3


def bin_dir() -> Path | None:
    """The folder holding initdb and pg_ctl: on PATH, else the newest /usr/lib/postgresql/<ver>/bin."""
    found = shutil.which("initdb")
    if found:
        return Path(os.path.realpath(found)).parent
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    return Path(candidates[-1]).parent if candidates else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PgServer:
    """``with PgServer() as pg:`` a running server; ``pg.url(db)`` a URL, ``pg.create_database()`` a fresh one."""

    def __init__(self) -> None:
        found = bin_dir()
        if found is None:
            raise FileNotFoundError("PostgreSQL server binaries (initdb, pg_ctl) not found")
        self.bin = found
        self.port = 0
        self.root = Path(tempfile.mkdtemp(prefix="assay-pg-", dir="/tmp"))
        self.data = self.root / "data"
        self._as: dict[str, Any] = {}
        if os.geteuid() == 0:
            os.chown(self.root, *_ids("nobody"))
            self._as = {"user": "nobody", "group": _ids("nobody")[1]}

    def _run(self, *args: str) -> None:
        subprocess.run([str(self.bin / args[0]), *args[1:]], check=True, capture_output=True, text=True,
                       cwd=self.root, timeout=120, **self._as)

    def start(self) -> "PgServer":
        pwfile = self.root / "pw"
        pwfile.write_text(PASSWORD)
        if self._as:
            os.chown(pwfile, *_ids("nobody"))
        self._run("initdb", "-D", str(self.data), "-U", USER, "--pwfile", str(pwfile), "--auth-local=trust",
                  "--auth-host=scram-sha-256", "-E", "UTF8", "--locale=C", "--no-sync")
        pwfile.unlink()
        for attempt in range(START_TRIES):  # another process may take the free port first
            self.port = _free_port()
            try:
                self._run("pg_ctl", "-D", str(self.data), "-l", str(self.root / "log"), "-w", "-t", "60", "-o",
                          f"-c listen_addresses=127.0.0.1 -c port={self.port} -c unix_socket_directories='' "
                          "-c fsync=off -c max_connections=200", "start")
                return self
            except subprocess.CalledProcessError:
                if attempt == START_TRIES - 1:
                    raise
        return self

    def stop(self) -> None:
        try:
            if (self.data / "postmaster.pid").exists():
                self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> "PgServer":
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def url(self, database: str = "postgres", password: bool = True) -> str:
        secret = f":{PASSWORD}" if password else ""
        return f"postgresql://{USER}{secret}@127.0.0.1:{self.port}/{database}"

    def create_database(self) -> str:
        """A new empty database; returns its URL."""
        import psycopg

        name = "t_" + secrets.token_hex(6)
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name}")
        return self.url(name)


def _ids(user: str) -> tuple[int, int]:
    import pwd

    entry = pwd.getpwnam(user)
    return entry.pw_uid, entry.pw_gid
