"""`assay serve`: the detection and verification service, and `assay serve token add|revoke|list` for its tokens."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from assay.core.clitools import print_table
from assay.core.workspace import default_root

app = typer.Typer(help="Detection and verification as an HTTP service (FastAPI on uvicorn).",
                  invoke_without_command=True)
token_app = typer.Typer(help="Bearer tokens of the service: shown once when made, kept only as salted hashes.",
                        no_args_is_help=True)
TOKENS_FILE = "serve-tokens.json"


def _workspace_root(ctx: typer.Context) -> Path:
    return (ctx.find_root().obj or {}).get("workspace_root") or default_root()


def _tokens(ctx: typer.Context, tokens: Path | None) -> Path:
    """The token file: given, else ``serve-tokens.json`` in the workspace."""
    return tokens or _workspace_root(ctx) / TOKENS_FILE


TokensOption = typer.Option(None, "--tokens", help=f"Token file [default: {TOKENS_FILE} in the workspace].")


@app.callback()
def serve_command(
    ctx: typer.Context,
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on (loopback by default)."),
    port: int = typer.Option(8000, "--port", "-p", help="Port."),
    detector: Optional[str] = typer.Option(None, "--detector", "-d", help="Detector id or name [default: the most recent]."),
    tokens: Optional[Path] = TokensOption,
    workers: int = typer.Option(1, "--workers", "-j", help="Worker processes, each loading the detector once, under "
                                "a supervisor that restarts one that dies; 0: the service in this process."),
    public: bool = typer.Option(False, "--public", help="Allow anonymous use (the page at /) under --public-rate per address."),
    token_rate: float = typer.Option(120.0, help="Requests a minute per token (a token's own --rate overrides it)."),
    public_rate: float = typer.Option(20.0, help="Requests a minute per client address without a token (--public)."),
    max_mb: float = typer.Option(50.0, "--max-mb", help="Largest request body, in MiB."),
    max_pixels: int = typer.Option(40_000_000, help="Largest image or video frame, width x height."),
    max_video_s: float = typer.Option(120.0, help="Longest video accepted, in seconds."),
    queue: int = typer.Option(16, help="Requests admitted per worker (running or waiting); more are answered 429."),
    threads: int = typer.Option(1, help="Batches scanned at once per worker."),
    batch: int = typer.Option(8, "--batch", help="Uploads of concurrent requests scanned together in one detector "
                              "call, at most (1: one at a time); a lone request never waits for others."),
    graceful_s: float = typer.Option(30.0, help="On Ctrl-C or SIGTERM: seconds in-flight requests may take to finish."),
    access_log: Optional[Path] = typer.Option(None, help="Append the access log (JSON lines) here [default: stderr]."),
) -> None:
    """Serve POST /v1/scan and /v1/verify, GET /v1/detectors, /healthz, /metrics, /openapi.json and a public page at /."""
    if ctx.invoked_subcommand is not None:
        return
    from assay.serve.server import serve
    from assay.serve.settings import MiB, ServeConfig

    root = ctx.find_root().obj or {}
    serve(ServeConfig(
        workspace=str(_workspace_root(ctx)), catalog_url=root.get("catalog_url"), detector=detector,
        tokens=str(_tokens(ctx, tokens)), host=host, port=port, workers=workers, public=public,
        token_rate=token_rate, public_rate=public_rate, max_bytes=int(max_mb * MiB), max_pixels=max_pixels,
        max_video_s=max_video_s, queue=queue, threads=threads, batch=batch, graceful_s=graceful_s,
        access_log=str(access_log) if access_log else None))


@token_app.command("add")
def token_add(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Who the token is for (a platform, a team)."),
    rate: Optional[float] = typer.Option(None, "--rate", help="Requests a minute [default: the service's --token-rate]."),
    record: bool = typer.Option(False, "--record", help="Record this token's scans in the catalog, like CLI scans."),
    tokens: Optional[Path] = TokensOption,
) -> None:
    """Make a token and print it: the only time it is shown (only its salted hash is kept)."""
    from assay.serve.tokens import TokenStore

    path = _tokens(ctx, tokens)
    typer.echo(TokenStore(path).add(name, rate, record))
    typer.echo(f"token {name!r} added to {path}; it is not shown again", err=True)


@token_app.command("revoke")
def token_revoke(ctx: typer.Context, name: str = typer.Argument(..., help="The token's name."),
                 tokens: Optional[Path] = TokensOption) -> None:
    """Remove a token; a running service refuses it from its next request."""
    from assay.serve.tokens import TokenStore

    TokenStore(_tokens(ctx, tokens)).revoke(name)
    typer.echo(f"token {name!r} revoked", err=True)


@token_app.command("list")
def token_list(ctx: typer.Context, tokens: Optional[Path] = TokensOption) -> None:
    """The tokens' names, ids, rates and record flags (never a token or its hash)."""
    from assay.serve.tokens import TokenStore

    print_table(TokenStore(_tokens(ctx, tokens)).list(), ["name", "id", "rate_per_min", "record", "created"])


app.add_typer(token_app, name="token")
