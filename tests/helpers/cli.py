"""The root CLI run in this process, for tests and the scripts they run in child processes."""

from __future__ import annotations

from typer.testing import CliRunner

from assay.cli import app


def invoke(*args: str) -> tuple[int, str, str | None]:
    """(exit code, output, name of an uncaught exception or None) of ``assay ARGS`` in this process."""
    res = CliRunner().invoke(app, list(args))
    crash = res.exception if res.exception is not None and not isinstance(res.exception, SystemExit) else None
    return res.exit_code, res.output, type(crash).__name__ if crash else None
