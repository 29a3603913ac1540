"""What every subsystem's CLI shares: the workspace from the root options, errors, tables, JSON."""

from __future__ import annotations

import json
import sys
from typing import Any, NoReturn, Sequence

import click
import typer
from rich.console import Console
from rich.table import Table
from typer.core import TyperGroup

from assay.core.errors import AssayError
from assay.core.workspace import Workspace

#: human-facing messages and progress go to stderr; results go to stdout
err = Console(stderr=True, soft_wrap=True)
out = Console()


def workspace(ctx: typer.Context, read_only: bool = False) -> Workspace:
    """The workspace chosen by ``assay --workspace`` / ``ASSAY_WORKSPACE`` (default ./assay-workspace).

    ``read_only`` for commands that only read it: they then work on a read-only workspace.
    """
    root = ctx.find_root()
    obj = root.obj if isinstance(root.obj, dict) else {}
    key = "workspace_ro" if read_only else "workspace"
    if key not in obj:
        obj[key] = Workspace(obj.get("workspace_root"), read_only=read_only, catalog_url=obj.get("catalog_url"))
        root.obj = obj
    return obj[key]


def say(stage: str, message: str) -> None:
    """A ``[stage] message`` line on stderr, printed as is (no rich markup)."""
    err.print(f"[{stage}] {message}", markup=False, highlight=False)


def fail(message: str, code: int = 2) -> NoReturn:
    """Print a one-line error and exit with ``code``."""
    err.print(f"[bold red]error:[/] {message}", highlight=False)
    raise typer.Exit(code)


class AssayGroup(TyperGroup):
    """The root command group: any :class:`AssayError` becomes a one-line error and exit 2."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except AssayError as exc:
            fail(str(exc))


def print_table(rows: Sequence[dict[str, Any]], columns: Sequence[str], title: str | None = None) -> None:
    table = Table(title=title, show_lines=False)
    for col in columns:
        table.add_column(col, overflow="fold")
    for row in rows:
        table.add_row(*(_cell(row.get(c)) for c in columns))
    out.print(table)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, (dict, list)):
        return json.dumps(value, default=str)
    return str(value)


def print_json(obj: Any) -> None:
    sys.stdout.write(json.dumps(obj, indent=2, default=str) + "\n")
    sys.stdout.flush()
