"""`assay dashboard`: start the Streamlit app on the loopback interface."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Optional

import typer

from assay.core.workspace import ENV_VAR, Workspace
from assay.dashboard import uploads

APP = Path(__file__).with_name("app.py")


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
    try:
        raise typer.Exit(subprocess.call(command, env=env))
    except KeyboardInterrupt:
        raise typer.Exit(130) from None
