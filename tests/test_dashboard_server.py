"""`assay dashboard` as a process: it serves on a loopback port and SIGTERM stops its Streamlit server too."""

from __future__ import annotations

import os
import signal

from assay.core.workspace import Workspace
from tests.helpers.server import free_port, listening, start_dashboard, wait_healthy

STARTUP_S = 120


def test_sigterm_to_the_dashboard_stops_its_streamlit_server(tmp_path) -> None:
    ws = Workspace(tmp_path / "ws")
    port = free_port()
    proc = start_dashboard(ws.root, port)
    try:
        assert proc.stdout.readline().startswith(f"dashboard: http://127.0.0.1:{port}")
        wait_healthy(f"http://127.0.0.1:{port}", proc, STARTUP_S)
        os.kill(proc.pid, signal.SIGTERM)  # the command only, as a service manager stops it, not its group
        assert proc.wait(timeout=60) == 128 + signal.SIGTERM
        assert not listening(port), "the streamlit child still serves the port"
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        try:
            os.killpg(proc.pid, signal.SIGKILL)  # the server, if it outlived the command
        except ProcessLookupError:
            pass
