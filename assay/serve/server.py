"""Starting the service: check the settings and the detector, then run uvicorn's workers on them."""

from __future__ import annotations

import ipaddress
import os
import signal
import sys
import tempfile
from dataclasses import replace

from assay.core.errors import EnvironmentFault
from assay.core.workspace import Workspace
from assay.detect import load_detector
from assay.serve.settings import ENV_VAR, ServeConfig
from assay.serve.state import SharedState


def is_loopback(host: str) -> bool:
    """Whether ``host`` only listens on this machine (127.0.0.0/8, ::1, localhost)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def pinned(cfg: ServeConfig) -> ServeConfig:
    """``cfg`` with its detector resolved to one catalog id, so that every worker loads the same one (a
    detector trained while the service starts does not split the workers); raises when there is none."""
    _, record = load_detector(Workspace(cfg.workspace, catalog_url=cfg.catalog_url), cfg.detector)
    return replace(cfg, detector=record.id)


class Stopped(Exception):
    """SIGINT or SIGTERM arrived and the server finished its in-flight requests."""


def _stopped(signum: int, frame: object) -> None:
    raise Stopped(signum)


def run_uvicorn(cfg: ServeConfig) -> None:
    """``--workers 0``: the app in this process; N: uvicorn's supervisor and N worker processes (restarted if one dies)."""
    import uvicorn
    from uvicorn.supervisors import Multiprocess

    config = uvicorn.Config("assay.serve.service:from_env", factory=True, host=cfg.host, port=cfg.port,
                            workers=max(1, cfg.workers), timeout_graceful_shutdown=int(cfg.graceful_s),
                            access_log=False, log_level="info", server_header=False)
    if cfg.workers == 0:
        server = uvicorn.Server(config)
        server.run()
        if not server.started:
            raise EnvironmentFault(f"the service did not start on {cfg.host}:{cfg.port} (the log above says why)")
    else:
        Multiprocess(config, sockets=[config.bind_socket()]).run()


def serve(cfg: ServeConfig) -> None:
    """Run the service until SIGINT or SIGTERM; then in-flight requests finish (up to ``cfg.graceful_s``)."""
    cfg = pinned(cfg.check())
    if not is_loopback(cfg.host):
        print(f"warning: listening on {cfg.host}, reachable from other machines; put TLS in front of it",
              file=sys.stderr, flush=True)
    with tempfile.TemporaryDirectory(prefix="assay-serve-state-") as state_dir:
        cfg = replace(cfg, state_dir=state_dir)
        SharedState(state_dir).close()  # made once here, so that the workers do not race to make its tables
        os.environ[ENV_VAR] = cfg.to_env()
        mode = "public (anonymous use allowed)" if cfg.public else "tokens only"
        workers = f"{cfg.workers} worker process(es)" if cfg.workers else "in this process"
        print(f"assay serve: http://{cfg.host}:{cfg.port} ({workers}, batches of up to {cfg.batch}, detector "
              f"{cfg.detector}, {mode})",
              file=sys.stderr, flush=True)
        # in this process, uvicorn shuts down gracefully on SIGINT / SIGTERM, then raises the signal again for the
        # handler it found: this one, so that a requested stop that finished cleanly ends with status 0; its
        # supervisor takes the signals itself and returns once the workers have finished
        previous = {sig: signal.signal(sig, _stopped) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            run_uvicorn(cfg)
        except Stopped:
            print("assay serve: stopped", file=sys.stderr, flush=True)
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
