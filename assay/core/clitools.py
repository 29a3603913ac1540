"""What every subsystem's CLI shares: the workspace from the root options, errors, tables, JSON."""

from __future__ import annotations

import json
import sys
from types import SimpleNamespace
from typing import Any, Iterator, NoReturn, Sequence

import click
import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text
from typer.core import TyperGroup

from assay.core.errors import AssayError
from assay.core.text import one_line
from assay.core.workspace import Workspace

#: human-facing messages and progress go to stderr; results go to stdout
err = Console(stderr=True, soft_wrap=True)
out = Console()
#: the width a table printed to a pipe or file may take: as much as its widest row needs
UNBOUNDED = 1 << 20


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
    err.print(f"[{stage}] {one_line(message)}", markup=False, highlight=False)


def fail(message: str, code: int = 2) -> NoReturn:
    """Print a one-line error (as is: no rich markup, control characters escaped) and exit with ``code``."""
    err.print("[bold red]error:[/] ", end="", highlight=False)
    err.print(one_line(message), markup=False, highlight=False)
    raise typer.Exit(code)


def os_reason(exc: OSError) -> str:
    """A one-line reason for an OS error met outside any one input file (an output, the workspace)."""
    where = f": {exc.filename}" if exc.filename else ""
    return f"{exc.strerror or str(exc).splitlines()[0] if str(exc) else type(exc).__name__}{where}"


def commands(command: Any) -> Iterator[tuple[str, Any]]:
    """(path, command) of ``command`` and every command under it (typer's vendored click types, duck-typed)."""
    yield command.name or "", command
    for sub in getattr(command, "commands", {}).values():
        for path, found in commands(sub):
            yield f"{command.name} {path}".strip() if command.name else path, found


def _untyped_flags(params: list[Any]) -> list[Any]:
    """``params``, with the flags among them showing no ``<bool>`` type in ``--help``."""
    for param in params:
        if getattr(param, "is_flag", False):
            param.metavar = ""
    return params


class AssayGroup(TyperGroup):
    """The root command group: any :class:`AssayError`, and any OS error (disk full, read-only output),
    becomes a one-line error and exit 2. Flags show no type in ``--help`` (they take no value)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        names = SimpleNamespace(help_option_names=self.context_settings.get("help_option_names", ["--help"]))
        for _, command in commands(self):
            _untyped_flags([*command.params, command.get_help_option(names)])  # the help option is made once, here

    def get_params(self, ctx: click.Context) -> list[Any]:
        return _untyped_flags(super().get_params(ctx))  # typer adds its completion flags to the root late

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except AssayError as exc:
            fail(str(exc))
        except OSError as exc:
            fail(os_reason(exc))


def print_table(rows: Sequence[dict[str, Any]], columns: Sequence[str], title: str | None = None) -> None:
    """Print rows as a table on stdout: fitted to a terminal, at full width (never folded) to a pipe or file."""
    table = Table(title=title, show_lines=False)
    for col in columns:
        table.add_column(col, overflow="fold")
    for row in rows:
        table.add_row(*(Text(one_line(_cell(row.get(c)))) for c in columns))
    (out if out.is_terminal else Console(file=out.file, width=UNBOUNDED)).print(table)


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
