"""`assay provenance` commands."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import typer

from assay.core.clitools import err, fail, out, print_json, print_table, workspace
from assay.core.text import one_line
from assay.core.workspace import Workspace
from assay.provenance.consent.cli import consent_app, takedowns_app

app = typer.Typer(help="C2PA manifests, visible and invisible AI labels, verification, consent, compliance.",
                  no_args_is_help=True)
app.add_typer(consent_app, name="consent")
app.add_typer(takedowns_app, name="takedowns")


@app.command()
def keygen(
    ctx: typer.Context,
    out: Optional[Path] = typer.Option(None, "--out", help="Folder for the keys \\[default: <workspace>/keys]"),
    organization: str = typer.Option("assay development", help="Organization in the certificates' subject."),
    common_name: str = typer.Option("assay signer", help="Common name of the signing certificate."),
    days: int = typer.Option(365, help="Validity of the signing certificate in days."),
    force: bool = typer.Option(False, "--force", help="Replace existing keys (the old CA stays a trust anchor)."),
) -> None:
    """Make a development CA and an ES256 signing certificate (key files mode 0600)."""
    from assay.provenance.keys.signing import SigningError, default_keys_dir
    from assay.provenance.keys.signing import keygen as make_keys

    target = out or default_keys_dir(workspace(ctx))
    try:
        paths = make_keys(target, organization, common_name, days, force)
    except SigningError as exc:
        fail(str(exc))
    print_table([{"file": k, "path": v} for k, v in paths.items()], ["file", "path"], title="keys written")
    err.print(f"`assay provenance verify` trusts {paths['ca']} in this workspace; elsewhere pass it with --trust "
              "(it is a development CA, not a public trust anchor).", highlight=False)
    if "retired_ca" in paths:
        err.print(f"warning: keys rotated; the previous CA is kept as a trust anchor in {paths['retired_ca']} so files "
                  "signed before still verify (pass it with --trust elsewhere)", highlight=False)


@app.command()
def stamp(
    ctx: typer.Context,
    files: list[Path] = typer.Argument(..., help="Images (PNG, JPEG, WebP), videos (MP4, MOV, AVI, WebM) or folders."),
    labels: Optional[str] = typer.Option(None, help="Labels to apply, comma separated \\[default: all, or what "
                                                    "--profile needs]."),
    profile: list[str] = typer.Option([], "--profile", help="Regulation profile(s): apply exactly the labels they "
                                                           "need; refuse without the consent they need."),
    subject: list[str] = typer.Option([], "--subject", help="Subject id(s) whose face the file shows: their consent "
                                                           "is checked and referenced in the manifest."),
    out: Path = typer.Option(Path("stamped"), "--out", help="Output folder (inputs are never overwritten)."),
    fmt: Optional[str] = typer.Option(None, "--format", help="Output format png|jpg|webp \\[default: the input's]."),
    source_type: str = typer.Option("created", help="created (generated) or edited (AI edit of --parent)."),
    parent: Optional[Path] = typer.Option(None, help="The original photo of an AI edit (recorded as ingredient)."),
    text: str = typer.Option("AI-generated", help="Visible mark text (CJK text needs --font)."),
    font: Optional[Path] = typer.Option(None, help="TrueType/OpenType font for the visible mark."),
    position: str = typer.Option("bottom-right", help="Mark position: bottom-right|bottom-left|top-right|top-left."),
    height: float = typer.Option(0.06, help="Mark text height as a fraction of the shorter side (>= 0.05)."),
    mark_seconds: Optional[float] = typer.Option(None, help="Video: seconds from the start that carry the mark "
                                                           "(>= 2) \\[default: the whole clip]."),
    watermark_method: str = typer.Option("auto", "--watermark",
                                         help="Watermark method: auto (by image size)|ssgrid|ssgrid-small|dwtDctSvd."),
    cert: Optional[Path] = typer.Option(None, help="PEM certificate chain, leaf first \\[default: keygen's]."),
    key: Optional[Path] = typer.Option(None, help="PEM private key of the leaf \\[default: keygen's]."),
    tsa_url: Optional[str] = typer.Option(None, help="RFC 3161 timestamp authority URL \\[default: tsa_url in "
                                                     "<workspace>/provenance.json]."),
    provider: Optional[str] = typer.Option(None, help="Producer / provider id (GB 45438, SB 942) \\[default: "
                                                      "provenance.json's, else assay]."),
    system_name: Optional[str] = typer.Option(None, help="AI system name (SB 942) \\[default: provenance.json's]."),
    system_version: Optional[str] = typer.Option(None, help="AI system version (SB 942) \\[default: "
                                                            "provenance.json's]."),
    overwrite: bool = typer.Option(False, help="Replace existing outputs (their records are retired) instead of "
                                               "skipping the ones this workspace stamped."),
    thumbnail: bool = typer.Option(False, help="Embed a thumbnail in the manifest (about 250 KB)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON rows instead of a table."),
) -> None:
    """Label images and MP4 video: C2PA manifest, XMP fields, visible mark, invisible watermark."""
    from assay.provenance.stamp.batch import ROW_FIELDS, StampRequest, stamp_paths

    request = StampRequest(labels=labels, profiles=tuple(profile), subjects=tuple(subject), fmt=fmt,
                           source_type=source_type, parent=parent, text=text, font=font, position=position,
                           height=height, mark_seconds=mark_seconds, watermark_method=watermark_method, cert=cert,
                           key=key, tsa_url=tsa_url, provider=provider, system_name=system_name,
                           system_version=system_version, overwrite=overwrite, thumbnail=thumbnail)
    results = list(stamp_paths(workspace(ctx), files, out, request))
    rows = [r.to_dict() for r in results]
    if as_json:
        print_json(rows)
    else:
        print_table(rows, ROW_FIELDS, title="stamped")
    if any(r.failed for r in results):
        raise typer.Exit(1)


@app.command()
def restamp(
    ctx: typer.Context,
    file: Path = typer.Argument(..., help="A re-saved image whose watermark finds its provenance record."),
    out: Path = typer.Option(..., "--out", help="Output image (png, jpg or webp by its suffix; never the input)."),
    trust: list[Path] = typer.Option([], "--trust", help="PEM trust anchor(s) \\[default: the workspace dev CA]."),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON row instead of a table."),
) -> None:
    """Restore a re-saved image's XMP and C2PA manifest from the record its watermark finds (signed anew), once the
    picture is confirmed as that record's."""
    from assay.provenance.stamp.batch import ROW_FIELDS, StampedFile
    from assay.provenance.stamp.from_record import restamp as restamp_file

    ws = workspace(ctx)
    result, record_id = restamp_file(ws, file, out, trust_anchors=_trust_anchors(ws, trust))
    row = StampedFile(str(file), str(out), result.content_id, ",".join(result.labels_applied), record_id,
                      "; ".join([f"from record {result.record['restamped_from']}", *result.labels_skipped.values()]))
    if as_json:
        print_json([row.to_dict()])
    else:
        print_table([row.to_dict()], ROW_FIELDS, title="re-stamped")


@app.command()
def comply(
    ctx: typer.Context,
    files: list[Path] = typer.Argument(..., help="Files or folders to check."),
    profile: list[str] = typer.Option(..., "--profile", help="Regulation profile name, all (every profile), or a "
                                                            ".json path; repeatable. See `assay provenance profiles`."),
    output_format: str = typer.Option("table", "--format", help="table or json."),
    trust: list[Path] = typer.Option([], "--trust", help="PEM trust anchor(s) \\[default: the workspace dev CA]."),
) -> None:
    """Which requirement of which regulation each file meets: pass / fail / n/a with the reason (exit 1 on a fail)."""
    from assay.provenance.compliance import comply as run_comply
    from assay.provenance.compliance import get_profiles
    from assay.provenance.verify.report import verify_paths

    if output_format not in ("table", "json"):
        fail(f"--format must be table or json, got {output_format!r}")
    chosen = get_profiles(profile)
    ws = workspace(ctx, read_only=True)
    report = run_comply(list(verify_paths(files, ws, _trust_anchors(ws, trust))), chosen)
    if output_format == "json":
        print_json(report)
    else:
        print_table(report["rows"], ["file", "profile", "requirement", "cites", "status", "reason"], title="compliance")
        print_table(report["summary"], ["profile", "version", "applies_from", "in_force", "files", "passed", "failed"],
                    title="summary")
    if not report["ok"]:
        raise typer.Exit(1)


@app.command()
def profiles(
    as_json: bool = typer.Option(False, "--json", help="Print JSON rows."),
) -> None:
    """The regulation profiles comply checks against (and stamp --profile labels for)."""
    from assay.provenance.compliance import profile_rows

    rows = profile_rows()
    if as_json:
        print_json(rows)
    else:
        print_table(rows, ["profile", "version", "jurisdiction", "applies_from", "in_force", "requirements", "labels",
                           "title"], title="regulation profiles")
        err.print("check files with: assay provenance comply FILES --profile NAME (repeatable, or --profile all)",
                  highlight=False)


def _trust_anchors(ws: Workspace | None, trust: list[Path]) -> str | None:
    """The PEM trust anchors: the ``--trust`` files, else the workspace's (its dev CA and those it retired)."""
    from assay.provenance.keys.signing import workspace_trust_anchors

    missing = [str(p) for p in trust if not p.is_file()]
    if missing:
        fail(f"trust anchor file not found: {', '.join(missing)}")
    return "".join(p.read_text() for p in trust) or (workspace_trust_anchors(ws) if ws is not None else None)


@app.command()
def lookup(
    ctx: typer.Context,
    content_id: str = typer.Argument(..., help="Content id (8 hex digits) from a manifest, watermark or XMP."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Find the provenance records carrying a content id (the soft binding, by hand)."""
    from assay.provenance.payload import check_content_id
    from assay.provenance.stamp.records import find_by_content_id

    try:
        cid = check_content_id(content_id)
    except ValueError as exc:
        fail(str(exc))
    rows = find_by_content_id(workspace(ctx, read_only=True), cid)
    if as_json:
        print_json(rows)
    elif rows:
        print_table([{"id": r["id"], "created_at": r["created_at"], "parents": r["parents"], "path": r["path"],
                      "labels": ",".join(r["params"].get("labels", [])),
                      "generator": r["params"].get("generator")} for r in rows],
                    ["id", "created_at", "parents", "path", "labels", "generator"], title=f"content id {cid}")
    if not rows:
        fail(f"no provenance record carries content id {cid}", code=1)


@app.command()
def verify(
    ctx: typer.Context,
    files: list[Path] = typer.Argument(..., help="Files or folders to check."),
    output_format: str = typer.Option("table", "--format", help="table or json."),
    trust: list[Path] = typer.Option([], "--trust", help="PEM trust anchor(s) \\[default: the workspace dev CA]."),
    no_workspace: bool = typer.Option(False, "--no-workspace", help="Do not look content ids up in the catalog."),
    require: str = typer.Option("", help="Labels whose absence fails, e.g. c2pa,xmp,visible,watermark."),
    detail: bool = typer.Option(False, "--detail", help="Every check of every file, with its reason."),
) -> None:
    """Check every label of each file: one line per file (what it declares, who signed it, what failed and why);
    --detail for every check. Exit 1 if any check failed."""
    from assay.provenance.verify.report import verify_paths
    from assay.provenance.verify.summary import summary_line

    if output_format not in ("table", "json"):
        fail(f"--format must be table or json, got {output_format!r}")
    ws = None if no_workspace else workspace(ctx, read_only=True)
    pem = _trust_anchors(ws, trust)
    try:
        results = list(verify_paths(files, ws, pem, tuple(s.strip() for s in require.split(",") if s.strip()),
                                    progress=True))
    except ValueError as exc:
        fail(str(exc))
    if output_format == "json":
        print_json(results)
    elif detail:
        print_table(_check_rows(results), ["file", "check", "what", "status", "reason"], title="provenance checks")
    else:
        for r in results:
            out.print(one_line(summary_line(r)), highlight=False, markup=False, soft_wrap=True)
        err.print("every check with its reason: --detail", highlight=False)
    if any(r["error"] or not r["ok"] for r in results):
        raise typer.Exit(1)


def _check_rows(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One table row per file and check (a file that could not be read: one ``read`` row)."""
    from assay.provenance.verify.summary import title

    rows = []
    for r in results:
        if r["error"]:
            rows.append({"file": r["file"], "check": "read", "what": "the file", "status": "fail",
                         "reason": r["error"]})
            continue
        rows.extend({"file": r["file"], "check": name, "what": title(name), "status": c["status"],
                     "reason": c["reason"]} for name, c in r["checks"].items())
    return rows
