"""The service's settings: one dataclass, handed to every worker process through the environment as JSON."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, fields
from typing import Any

from assay.core.errors import InputError

#: the environment variable a worker reads its settings from (uvicorn starts workers by import string)
ENV_VAR = "ASSAY_SERVE_CONFIG"
MiB = 1 << 20


@dataclass
class ServeConfig:
    """How ``assay serve`` runs; the defaults are the documented ones (docs/serve.md)."""

    workspace: str = "assay-workspace"  #: the workspace the detector is loaded from and scans are recorded in
    catalog_url: str | None = None  #: catalog elsewhere than the workspace's SQLite file
    detector: str | None = None  #: detector id or name (None: the workspace's most recent)
    tokens: str = "assay-workspace/serve-tokens.json"  #: the token file (salted hashes only)
    state_dir: str = ""  #: the folder of the state shared by the workers (rate limits, metrics); set by serve()
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1  #: worker processes under uvicorn's supervisor, each loading the detector once (0: this process)
    public: bool = False  #: anonymous use of /v1 (and the page's uploads) by client address
    token_rate: float = 120.0  #: requests per minute per token (a token's own rate overrides it)
    public_rate: float = 20.0  #: requests per minute per client address without a token
    max_bytes: int = 50 * MiB  #: largest request body
    max_pixels: int = 40_000_000  #: largest image (or video frame), width x height
    max_video_s: float = 120.0  #: longest video accepted ("short video")
    queue: int = 16  #: requests admitted per worker (running or waiting); more get 429
    threads: int = 1  #: batches scanned at once per worker
    batch: int = 8  #: uploads of concurrent requests scanned together in one detector call, at most
    graceful_s: float = 30.0  #: on SIGTERM / Ctrl-C, how long in-flight requests may take to finish
    access_log: str | None = None  #: JSON-lines access log file (None: stderr)

    def check(self) -> "ServeConfig":
        """Self, or InputError naming the first setting out of range."""
        if self.workers < 0:
            raise InputError(f"--workers must be >= 0 (0: in this process), got {self.workers}")
        positive = {"batch": self.batch, "queue": self.queue, "threads": self.threads,
                    "max_bytes": self.max_bytes, "max_pixels": self.max_pixels, "token_rate": self.token_rate,
                    "public_rate": self.public_rate, "max_video_s": self.max_video_s}
        for name, value in positive.items():
            if value <= 0:
                raise InputError(f"--{name.replace('_', '-')} must be positive, got {value}")
        if not 0 < self.port < 65536:
            raise InputError(f"--port must be in 1..65535, got {self.port}")
        return self

    def to_env(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_env(cls) -> "ServeConfig":
        """The settings ``serve`` put in :data:`ENV_VAR`."""
        raw = os.environ.get(ENV_VAR)
        if not raw:
            raise InputError(f"{ENV_VAR} is not set: start the service with `assay serve`")
        data: dict[str, Any] = json.loads(raw)
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})
