"""`assay dashboard` commands."""

import typer

app = typer.Typer(help="Review the workspace in a Streamlit app.", no_args_is_help=True)
