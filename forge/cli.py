"""`assay forge` commands."""

import typer

app = typer.Typer(help="Train and run the GAN family; write labelled synthetic face sets.", no_args_is_help=True)
