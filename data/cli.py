"""`assay data` commands."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Optional

import typer

from assay.core.clitools import err, fail, print_json, workspace

if TYPE_CHECKING:
    from assay.data.preparation import PrepareResult

app = typer.Typer(help="Turn folders of photos into clean, aligned, labelled face data sets.", no_args_is_help=True)


@app.command("prepare")
def prepare_cmd(
    ctx: typer.Context,
    src: Path = typer.Argument(..., help="Folder of photos (walked recursively) or one image."),
    out: str = typer.Option(..., "--out", help="Name of the new data set."),
    size: str = typer.Option("64", "--size", help="Output side in pixels: 32, 64, 128, 256, or native (each face "
                             "at its source pixel scale, never resized: what detectors train on)."),
    align: str = typer.Option("dlib", "--align", help="dlib (FFHQ-style from 5 landmarks), center (centre square) or none."),
    detector: str = typer.Option("hog", "--detector", help="dlib face detector: hog (fast) or cnn (more accurate, slow)."),
    no_face: str = typer.Option("skip", "--no-face", help="With --align dlib, a file with no face: skip or center."),
    layout: str = typer.Option("auto", "--layout", help="Label layout: auto, utkface, identity-folders or none."),
    seed: int = typer.Option(0, "--seed", help="Seed of the identity-safe train/val/test split."),
    split: str = typer.Option("0.8,0.1,0.1", "--split", help="train,val,test fractions."),
    workers: int = typer.Option(0, "--workers", help="Processes, or Ray actors with --engine ray (0: all cores)."),
    engine: str = typer.Option("local", "--engine", help="local (this machine's processes) or ray (a Ray cluster; assay[ray])."),
    address: Optional[str] = typer.Option(None, "--address", help="--engine ray: the cluster's address (default: a new local one)."),
    no_embed: bool = typer.Option(False, "--no-embed", help="Skip face embeddings (identity clustering then falls back to one group per image)."),
    consent: Optional[Path] = typer.Option(None, "--consent", help="CSV/JSON linking faces to subject ids (columns subject_id "
                                                         "or identity, and identity or files globs)."),
    subjects_from_layout: bool = typer.Option(False, "--subjects-from-layout",
                                              help="Each layout identity is a subject (keyed hash of its name)."),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
) -> None:
    """Find, align, deduplicate, label and split the faces under SRC into a new data set."""
    from tqdm import tqdm

    from assay.core.engines import Engine
    from assay.data.preparation import PrepareConfig, parse_size, prepare

    cfg = PrepareConfig.from_options(split, size=parse_size(size), align=align, detector=detector, no_face=no_face,
                                     layout=layout,
                                     seed=seed, workers=workers, embed=not no_embed,
                                     subjects_from_layout=subjects_from_layout,
                                     consent_file=str(consent) if consent else None)
    run_on = Engine(engine, workers, address)
    ws = workspace(ctx)
    with tqdm(unit="img", desc=f"prepare {out}", file=err.file, dynamic_ncols=True) as bar:
        def progress(done: int, kept: int, rejected: int) -> None:
            bar.update(done - bar.n)
            bar.set_postfix(kept=kept, skipped=rejected, refresh=False)

        try:
            result = prepare(ws, src, out, cfg, progress, run_on)
        except (FileNotFoundError, ValueError) as exc:  # AssayErrors become one line in the root group
            fail(str(exc))
    _report(result, out, as_json)
    if result.record is None:
        fail(f"nothing usable in {src}: all {result.rejected} files were skipped", code=1)


def _report(result: PrepareResult, out: str, as_json: bool) -> None:
    """The data set's id on stdout (or the summary as JSON); skipped files and warnings on stderr."""
    if result.discarded:
        err.print(f"[yellow]warning:[/] discarded the interrupted prepare of {result.discarded} that used the name "
                  f"{out} (another source or other settings)", highlight=False)
    for r in result.rejects:
        err.print(f"skipped {r['source']}: {r['reason']}", highlight=False, markup=False)
    params = result.record.params if result.record else {}
    summary = {"id": result.record.id if result.record else None, "name": out, "kept": result.kept,
               "rejected": result.rejected, "layout": result.layout, "splits": params.get("splits", {})}
    if "subjects" in params:
        summary.update(subjects=len(params["subjects"]), unlinked_faces=params["unlinked_faces"])
    if as_json:
        print_json(summary)
    elif result.record:
        typer.echo(result.record.id)  # the id alone on stdout, as forge and detect print theirs
        err.print(f"[green]data set {out} ({result.record.id}):[/] {result.kept} faces kept, {result.rejected} skipped; "
                  f"layout {result.layout}; splits {summary['splits']}"
                  + (f"; {summary['subjects']} subjects, {summary['unlinked_faces']} faces unlinked" if "subjects" in summary
                     else ""), highlight=False)
    if result.record and result.record.params["largest_identity_group"] > max(10, 0.2 * result.kept):
        err.print(f"[yellow]warning:[/] one identity group holds {result.record.params['largest_identity_group']} of "
                  f"{result.kept} faces, so the splits are far from their fractions", highlight=False)
