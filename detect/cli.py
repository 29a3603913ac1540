"""`assay detect` commands."""

import typer

app = typer.Typer(help="Train GAN-face detectors, evaluate them per generator, scan images and videos.", no_args_is_help=True)

from detect.scan_cli import scan_command  # noqa: E402

app.command("scan")(scan_command)
