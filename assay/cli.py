"""The ``assay`` command: one entry point for every subsystem."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import typer

from assay import __version__
from assay.core.catalog import KINDS
from assay.core.clitools import AssayGroup, err, print_json, print_table, workspace
from assay.core.locks import shown_status
from assay.dashboard import dashboard
from assay.data import app as data_app
from assay.detect import app as detect_app
from assay.forge import app as forge_app
from assay.provenance import app as provenance_app
from assay.serve import app as serve_app

app = typer.Typer(
    cls=AssayGroup,
    help="assay: forge GAN faces, detect them, label and verify media, review it all.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
catalog_app = typer.Typer(help="List, inspect and check the artefacts in the workspace catalog.", no_args_is_help=True)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"assay {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    workspace_root: Optional[Path] = typer.Option(
        None, "--workspace", "-w", envvar="ASSAY_WORKSPACE", help="Workspace folder [default: ./assay-workspace]"),
    catalog_url: Optional[str] = typer.Option(
        None, "--catalog-url", envvar="ASSAY_CATALOG_URL", show_envvar=True,
        help="Catalog elsewhere than the workspace's SQLite file, e.g. postgresql://user@host/db (assay[postgres])."),
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version."),
) -> None:
    ctx.obj = {"workspace_root": workspace_root, "catalog_url": catalog_url}


#: kinds listed one line per batch in ``catalog list`` (one record per stamped file would bury the rest)
GROUPED_KINDS = ("provenance",)


def _batch(row: dict[str, Any]) -> tuple[str, ...]:
    """What a provenance record was stamped as part of: its parents (a sample set), else its source's folder."""
    if row["parents"]:
        return ("parents", *row["parents"])
    source = (row.get("params") or {}).get("source")
    return ("folder", str(Path(source).parent) if source else "")


def group_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``rows`` with those of :data:`GROUPED_KINDS` folded into one row per batch (where the first of it was)."""
    batches: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    listed: list[dict[str, Any] | tuple[str, ...]] = []
    for row in rows:
        if row["kind"] not in GROUPED_KINDS:
            listed.append(row)
            continue
        key = (row["kind"], *_batch(row))
        if key not in batches:
            batches[key] = []
            listed.append(key)
        batches[key].append(row)
    return [item if isinstance(item, dict) else _group_row(item, batches[item]) for item in listed]


def _group_row(key: tuple[str, ...], members: list[dict[str, Any]]) -> dict[str, Any]:
    first, last = members[0], members[-1]
    where = f"from {key[2]}" if key[1] == "folder" and key[2] else "stamped together"
    return {"id": first["id"] if len(members) == 1 else f"{first['id']} .. {last['id']}", "kind": first["kind"],
            "name": f"{len(members)} record(s) {where}", "count": len(members),
            "status": ",".join(sorted({m["status"] for m in members})), "created_at": first["created_at"],
            "parents": first["parents"]}


@catalog_app.command("list")
def catalog_list(
    ctx: typer.Context,
    kind: Optional[str] = typer.Argument(None, help=f"One of: {', '.join(KINDS)}"),
    list_all: bool = typer.Option(False, "--all", help="One line per provenance record, not one per batch."),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON list of every artefact instead of a table."),
) -> None:
    """List artefacts (all kinds, or one); provenance records one line per stamped batch unless --all; a run
    whose process died shows as interrupted."""
    rows = [{**r.to_dict(), "status": shown_status(r)} for r in workspace(ctx, read_only=True).catalog.list(kind)]
    if as_json:
        print_json(rows)
    else:
        print_table(rows if list_all else group_rows(rows), ["id", "kind", "name", "count", "status", "created_at",
                                                             "parents"])


@catalog_app.command("show")
def catalog_show(
    ctx: typer.Context,
    ref: str = typer.Argument(..., help="Artefact id or name"),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Show one artefact with its parameters, lineage and rejects."""
    ws = workspace(ctx, read_only=True)
    rec = ws.resolve(ref)
    row = {**rec.to_dict(), "status": shown_status(rec)}
    row["children"] = [c.id for c in ws.catalog.children(rec.id)]
    row["rejects"] = ws.catalog.rejects(rec.id)
    if as_json:
        print_json(row)
    else:
        print_table([{"field": k, "value": v} for k, v in row.items()], ["field", "value"], title=rec.id)


@catalog_app.command("export")
def catalog_export(
    ctx: typer.Context,
    out: Path = typer.Argument(..., help="JSON-lines file to write (a header line, then one row per artefact)."),
) -> None:
    """Write the workspace's catalog to a file, for `assay catalog import` into another backend."""
    from assay.core.fileio import atomic_write_jsonl

    cat = workspace(ctx, read_only=True).catalog
    atomic_write_jsonl(out, cat.export())
    err.print(f"exported {cat.backend.location} to {out}", highlight=False)


@catalog_app.command("import")
def catalog_import(
    ctx: typer.Context,
    src: Path = typer.Argument(..., exists=True, dir_okay=False, help="A file written by `assay catalog export`."),
) -> None:
    """Add an exported catalog's rows to this workspace's catalog (e.g. one on PostgreSQL), all or none."""
    from assay.core.fileio import read_jsonl

    cat = workspace(ctx).catalog
    count = cat.import_rows(read_jsonl(src))
    err.print(f"imported {count} artefacts into {cat.backend.location}", highlight=False)


@catalog_app.command("check")
def catalog_check(
    ctx: typer.Context,
    repair: bool = typer.Option(False, "--repair", help="Fix what is safe to fix: paths of a moved workspace, rows of "
                                "no artefact, temporary files of writers that died."),
    drop_staging: bool = typer.Option(False, "--drop-staging", help="Also remove unfinished work no live process "
                                      "holds (it can no longer be resumed)."),
    as_json: bool = typer.Option(False, "--json", help="Print the findings as JSON."),
) -> None:
    """Check that the catalog and the workspace's files agree: the database, rows of no artefact, missing, moved or
    changed files, pending stamp records, folders no row names, stale temporaries, unfinished work. Exit 1 while
    anything is left to fix."""
    from assay.core.catalog_check import check

    findings = check(workspace(ctx, read_only=not (repair or drop_staging)), repair, drop_staging)
    rows = [f.to_dict() for f in findings]
    if as_json:
        print_json(rows)
    elif rows:
        print_table(rows, ["check", "subject", "problem", "repaired"])
    left = sum(not f.repaired for f in findings)
    err.print(f"{len(findings)} finding(s), {len(findings) - left} repaired, {left} left", highlight=False)
    if left:
        raise typer.Exit(1)


app.add_typer(data_app, name="data")
app.add_typer(forge_app, name="forge")
app.add_typer(detect_app, name="detect")
app.add_typer(provenance_app, name="provenance")
app.command("dashboard")(dashboard)
app.add_typer(serve_app, name="serve")
app.add_typer(catalog_app, name="catalog")


def main() -> None:
    app()
