"""`assay detect scan`: stream verdicts for images and videos, with provenance signals beside them."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, List, Optional

import typer

from assay.core.clitools import err, fail, workspace
from assay.core.text import one_line
from assay.core.workspace import ReadOnlyWorkspace, Workspace

if TYPE_CHECKING:
    from assay.detect.scan import Scan

#: exit status after Ctrl-C (128 + SIGINT), apart from the scan's own 0 / 1 / 2
INTERRUPTED = 130


def _workspace(ctx: typer.Context, name: str | None, resume: bool) -> tuple[Workspace, bool]:
    """The workspace, and whether the scan is recorded in it: not when it is read-only (the scan still runs)."""
    try:
        return workspace(ctx), True
    except ReadOnlyWorkspace as exc:
        if name or resume:
            fail(f"{exc}; --name and --resume need a recorded scan")
        err.print(f"warning: {exc}; the scan is not recorded", highlight=False)
        return workspace(ctx, read_only=True), False


def scan_command(
    ctx: typer.Context,
    paths: List[Path] = typer.Argument(..., help="Image or video files and folders."),
    detector: Optional[str] = typer.Option(None, "--detector", "-d", help="Detector id or name (default: the most recent)."),
    recursive: bool = typer.Option(False, "--recursive", "-r", help="Descend into sub-folders."),
    fmt: str = typer.Option("table", "--format", "-f", help="table, json, jsonl or csv."),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Write results to this file instead of stdout."),
    explain: Optional[Path] = typer.Option(None, "--explain", help="Write Grad-CAM / spectrum explanations here."),
    threshold: Optional[float] = typer.Option(None, help="Flag at calibrated P(synthetic) >= this "
                                              "[default: the detector's, from `assay detect calibrate`, else 0.5]."),
    every: float = typer.Option(1.0, "--every", help="Video: seconds between sampled frames."),
    max_frames: int = typer.Option(300, help="Video: most frames sampled per file."),
    video_fraction: float = typer.Option(0.5, help="Video: flagged when this fraction of frames is flagged."),
    margin: float = typer.Option(0.25, help="Face crop margin, as a fraction of the face box side."),
    face_detector: str = typer.Option("blazeface", help="Face finder: blazeface, hog, hog-half, cnn, crop (every "
                                      "input is a face crop) or auto (crops detected)."),
    max_faces: Optional[int] = typer.Option(None, help="Score at most this many faces per image or frame, largest first."),
    workers: int = typer.Option(0, "--workers", "-j", help="Processes scanning in parallel (0: every core; 1 with CUDA)."),
    engine: str = typer.Option("local", "--engine", help="local (this machine's processes) or ray (a Ray cluster; assay[ray])."),
    address: Optional[str] = typer.Option(None, "--address", help="--engine ray: the cluster's address (default: a new local one)."),
    batch: int = typer.Option(16, help="Images per batch (faces found together, regions scored in one call)."),
    provenance: bool = typer.Option(True, help="Read C2PA and the invisible watermark of each file."),
    reduced_decode: bool = typer.Option(False, "--reduced-decode", help="Decode JPEGs reduced (1/2 to 1/8, in the DCT "
                                        "domain) to what the face finder and the detector's view need."),
    name: Optional[str] = typer.Option(None, help="Catalog name of the scan (default: scan-<time>)."),
    resume: bool = typer.Option(False, help="Go on with the interrupted scan --name, skipping files it scanned."),
) -> None:
    """Scan images and videos for GAN faces. Exit 0: nothing flagged, 1: something flagged, 2: errors only."""
    from tqdm import tqdm

    from assay.detect.scan import Scan, ScanOptions, find_media
    from assay.detect.scan_output import check_output, result_output

    options = ScanOptions(threshold=threshold, margin=margin, face_detector=face_detector, max_faces=max_faces,
                          frame_every_s=every, max_frames=max_frames, video_fraction=video_fraction,
                          explain_dir=str(explain) if explain else None, workers=workers, engine=engine,
                          address=address, batch=batch, provenance=provenance, reduced_decode=reduced_decode)
    check_output(fmt, out)
    ws, record = _workspace(ctx, name, resume)
    jobs = find_media(paths, recursive)
    scan = Scan(ws, detector, options, name=name, record=record, resume=resume)
    _warn_unexplained(scan)
    bar = tqdm(total=len(jobs), desc="scan", unit="file", file=sys.stderr)
    try:
        with result_output(fmt, out) as writer, bar:
            for result in scan.run_jobs(jobs, paths, recursive):
                if result["status"] == "error":
                    bar.write(one_line(f"error: {result['path']}: {result['error']}"), file=sys.stderr)
                writer.write(result)
                bar.update(1)
    except KeyboardInterrupt:
        fail(f"interrupted after {bar.n} of {len(jobs)} files; go on with: assay detect scan ... "
             f"--name {scan.name} --resume", code=INTERRUPTED)
    _print_summary(scan)
    raise typer.Exit((scan.summary or {}).get("exit_code", 2))


def _warn_unexplained(scan: "Scan") -> None:
    """A warning when --explain was asked of a detector that has no explanation."""
    from assay.detect.explain import explainer_for

    if scan.options.explain_dir is not None and explainer_for(scan.detector) is None:
        err.print(f"warning: no explanation for a {scan.scanner.detector_info['type']} detector "
                  "(Grad-CAM needs a torch detector, the spectrum plot the spectral one)", highlight=False)


def _print_summary(scan: "Scan") -> None:
    from assay.detect.scan_output import summary_line

    summary = scan.summary or {}
    where = f"; recorded as {scan.record.id}" if scan.record else ""
    err.print(summary_line(summary) + where, highlight=False)
