"""`assay data` commands."""

import typer

app = typer.Typer(help="Turn folders of photos into clean, aligned, labelled face data sets.", no_args_is_help=True)
