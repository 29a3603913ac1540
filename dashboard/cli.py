"""`assay dashboard`: start the Streamlit app on the loopback interface."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Optional

import typer

from assay.core.workspace import ENV_VAR, Workspace
from assay.dashboard import uploads

APP = Path(__file__).with_name("app.py")
#: seconds the Streamlit server gets to stop after SIGTERM before it is killed
STOP_TIMEOUT_S = 10


def dashboard(
    ctx: typer.Context,
    workspace_root: Optional[Path] = typer.Option(
        None, "--workspace", "-w", help="Workspace folder [default: the root --workspace, else ./assay-workspace]"),
    port: int = typer.Option(8501, "--port", "-p", min=1, max=65535, help="Port on 127.0.0.1."),
) -> None:
    """Review the workspace in a Streamlit app on http://127.0.0.1:PORT (prints the address; Ctrl-C stops it)."""
    root_obj = ctx.find_root().obj
    chosen = workspace_root or (root_obj or {}).get("workspace_root")
    ws = Workspace(chosen)
    env = {**os.environ, ENV_VAR: str(ws.root.resolve()), "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false"}
    command = [sys.executable, "-m", "streamlit", "run", str(APP), "--server.address", "127.0.0.1",
               "--server.port", str(port), "--server.headless", "true", "--global.developmentMode", "false",
               "--client.toolbarMode", "minimal", "--server.fileWatcherType", "none",
               "--server.maxUploadSize", str(uploads.MAX_UPLOAD_MB)]
    typer.echo(f"dashboard: http://127.0.0.1:{port} (workspace {ws.root.resolve()})")
    sys.stdout.flush()
    raise typer.Exit(serve(command, env))


class Stopped(Exception):
    """SIGTERM or SIGHUP reached the dashboard command."""


def _stop(signum: int, frame: object) -> None:
    raise Stopped(signum)


def serve(command: list[str], env: dict[str, str]) -> int:
    """Run the Streamlit server ``command`` and return its exit status; Ctrl-C, SIGTERM or SIGHUP to this process
    stop the server too (it is never left serving the port), and return 128 + the signal's number."""
    previous = {sig: signal.signal(sig, _stop) for sig in (signal.SIGTERM, signal.SIGHUP)}
    child = None
    try:
        child = subprocess.Popen(command, env=env)
        return child.wait()
    except KeyboardInterrupt:
        return 128 + signal.SIGINT
    except Stopped as exc:
        return 128 + int(exc.args[0])
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if child is not None and child.poll() is None:
            child.terminate()
            try:
                child.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
