"""What the service's worker processes share: rate-limit buckets and the metrics, in one small SQLite file.

Each worker is its own process (uvicorn ``--workers``), so a limit kept in memory would be
multiplied by the number of workers, and ``/metrics`` would show one worker's share. The
state lives in a folder made for one run of the service and removed when it stops.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from pathlib import Path
from typing import Iterable

#: upper bounds (seconds) of the latency histogram's buckets
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
#: upper bounds (files) of the batch-size histogram's buckets
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64)
#: metric name -> (type, help) for /metrics
METRICS = {
    "assay_serve_requests_total": ("counter", "Requests answered, by route and status code."),
    "assay_serve_request_seconds": ("histogram", "Time from a request's arrival to its answer, by route."),
    "assay_serve_request_bytes_total": ("counter", "Request body bytes received, by route."),
    "assay_serve_refused_total": ("counter", "Requests refused before their work began, by reason."),
    "assay_serve_results_total": ("counter", "Scan results, by verdict (error: the file could not be scanned)."),
    "assay_serve_batch_files": ("histogram", "Uploads scanned together in one detector call (--batch at most)."),
    "assay_serve_in_flight": ("gauge", "Requests admitted and not yet answered, by worker process."),
}
SCHEMA = """
CREATE TABLE IF NOT EXISTS buckets (key TEXT PRIMARY KEY, tokens REAL NOT NULL, at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS counters (name TEXT NOT NULL, labels TEXT NOT NULL, value REAL NOT NULL,
                                     PRIMARY KEY (name, labels));
CREATE TABLE IF NOT EXISTS gauges (name TEXT NOT NULL, labels TEXT NOT NULL, value REAL NOT NULL,
                                   PRIMARY KEY (name, labels));
"""


def labels(**values: str) -> str:
    """Prometheus label text, ``{a="x",b="y"}`` (values escaped)."""
    def esc(v: str) -> str:
        return str(v).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return "{" + ",".join(f'{k}="{esc(v)}"' for k, v in values.items()) + "}"


class SharedState:
    """Rate limits (token buckets) and metrics shared by the workers through ``folder/state.sqlite``."""

    def __init__(self, folder: str | os.PathLike[str]) -> None:
        self.path = Path(folder) / "state.sqlite"
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=OFF")  # the state of one run: nothing to keep after a crash
        self._db.executescript(SCHEMA)

    def _transaction(self, statements: Iterable[tuple[str, tuple]]) -> None:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                for sql, args in statements:
                    self._db.execute(sql, args)
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    def take(self, key: str, rate_per_min: float) -> float | None:
        """Spend one request from ``key``'s bucket (``rate_per_min`` a minute, bursts up to a minute's worth):
        None when allowed, else the seconds until the next request is."""
        now, capacity, per_s = time.time(), max(1.0, rate_per_min), rate_per_min / 60.0
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                row = self._db.execute("SELECT tokens, at FROM buckets WHERE key = ?", (key,)).fetchone()
                tokens = capacity if row is None else min(capacity, row[0] + (now - row[1]) * per_s)
                wait = None if tokens >= 1.0 else (1.0 - tokens) / per_s
                self._db.execute("INSERT OR REPLACE INTO buckets VALUES (?, ?, ?)",
                                 (key, tokens - 1.0 if wait is None else tokens, now))
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return wait

    def count(self, *rows: tuple[str, str, float]) -> None:
        """Add to counters: (metric name, label text, amount) each, in one transaction."""
        self._transaction(("INSERT INTO counters VALUES (?, ?, ?) ON CONFLICT (name, labels) "
                           "DO UPDATE SET value = value + excluded.value", row) for row in rows)

    def answered(self, route: str, status: int, seconds: float, body_bytes: int) -> None:
        """Record one answered request: its count, latency and bytes."""
        route_l = labels(route=route)
        rows = [("assay_serve_requests_total", labels(route=route, code=str(status)), 1.0),
                ("assay_serve_request_bytes_total", route_l, float(body_bytes)),
                ("assay_serve_request_seconds_count", route_l, 1.0),
                ("assay_serve_request_seconds_sum", route_l, seconds)]
        rows += [("assay_serve_request_seconds_bucket", labels(route=route, le=str(b)), 1.0)
                 for b in BUCKETS if seconds <= b]
        rows.append(("assay_serve_request_seconds_bucket", labels(route=route, le="+Inf"), 1.0))
        self.count(*rows)

    def batched(self, files: int) -> None:
        """Record one batch of ``files`` uploads scanned together."""
        rows = [("assay_serve_batch_files_count", "", 1.0), ("assay_serve_batch_files_sum", "", float(files))]
        rows += [("assay_serve_batch_files_bucket", labels(le=str(b)), 1.0) for b in BATCH_BUCKETS if files <= b]
        rows.append(("assay_serve_batch_files_bucket", labels(le="+Inf"), 1.0))
        self.count(*rows)

    def gauge(self, name: str, label_text: str, value: float) -> None:
        self._transaction([("INSERT OR REPLACE INTO gauges VALUES (?, ?, ?)", (name, label_text, value))])

    def drop_gauges(self, label_text: str) -> None:
        """Remove a stopping worker's gauges."""
        self._transaction([("DELETE FROM gauges WHERE labels = ?", (label_text,))])

    def render(self) -> str:
        """Every metric in the Prometheus text format (version 0.0.4)."""
        with self._lock:
            rows = self._db.execute("SELECT name, labels, value FROM counters UNION ALL "
                                    "SELECT name, labels, value FROM gauges ORDER BY 1, 2").fetchall()
        by_family: dict[str, list[str]] = {name: [] for name in METRICS}
        for name, label_text, value in rows:
            family = next((f for f in METRICS if name == f or name.startswith(f + "_")), name)
            by_family.setdefault(family, []).append(f"{name}{label_text} {value:g}")
        out = []
        for family, lines in by_family.items():
            kind, help_text = METRICS.get(family, ("untyped", family))
            out += [f"# HELP {family} {help_text}", f"# TYPE {family} {kind}", *sorted(lines, key=_bucket_order)]
        return "\n".join(out) + "\n"

    def close(self) -> None:
        with self._lock:
            self._db.close()


def _bucket_order(line: str) -> tuple[str, float]:
    """Histogram bucket lines in order of ``le`` (the text format asks for increasing bounds)."""
    head, _, _ = line.partition(" ")
    if 'le="' not in head:
        return (head, 0.0)
    base, _, rest = head.partition('le="')
    bound = rest.split('"', 1)[0]
    return (base, float("inf") if bound == "+Inf" else float(bound))
