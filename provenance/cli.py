"""`assay provenance` commands."""

import typer

app = typer.Typer(help="C2PA manifests, visible and invisible AI labels, verification.", no_args_is_help=True)
