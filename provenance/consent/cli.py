"""`assay provenance consent ...` and `assay provenance takedowns` commands."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import typer

from assay.core.clitools import err, fail, out, print_json, print_table, workspace

consent_app = typer.Typer(help="The consent ledger: subjects' consent records, revocations, verification.",
                          no_args_is_help=True)
takedowns_app = typer.Typer(help="Takedown queue of revoked consent: what to remove, by when, done by whom.")

RECORD_COLUMNS = ["id", "subject_id", "scopes", "jurisdiction", "granted_at", "expires_at", "revoked_at"]
QUEUE_COLUMNS = ["record", "subject_id", "artefact", "kind", "name", "status", "deadline", "by", "done_at"]


def _records(rows: list[dict[str, Any]], as_json: bool, title: str) -> None:
    if as_json:
        print_json(rows)
    else:
        print_table([{**r, "scopes": ",".join(r["scopes"])} for r in rows], RECORD_COLUMNS, title=title)


@consent_app.command("add")
def add(
    ctx: typer.Context,
    subject: Optional[str] = typer.Option(None, "--subject", help="Subject id (subj-...)."),
    identity: Optional[str] = typer.Option(None, "--identity", help="Or the identity folder name; hashed into the "
                                                                     "subject id, never stored."),
    scopes: str = typer.Option(..., "--scopes", help="Some of training,generation,editing,publication."),
    jurisdiction: str = typer.Option(..., "--jurisdiction", help="Where the consent was given, e.g. EU, CN, US-CA."),
    purpose: str = typer.Option(..., "--purpose", help="The purpose the subject agreed to."),
    granted_at: Optional[str] = typer.Option(None, "--granted-at", help="ISO 8601 \\[default: now]."),
    expires_at: Optional[str] = typer.Option(None, "--expires-at", help="ISO 8601 \\[default: no expiry]."),
    evidence: Optional[Path] = typer.Option(None, "--evidence", help="Signed form or recording; only its SHA-256 "
                                                                      "is kept."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Record a subject's consent (a new ledger entry; prints the record id)."""
    from assay.core.subjects import subject_id_for
    from assay.provenance.consent.ledger import Ledger

    ws = workspace(ctx)
    if (subject is None) == (identity is None):
        fail("give exactly one of --subject and --identity")
    rec = Ledger(ws).add(subject or subject_id_for(ws.root, identity or ""), scopes, jurisdiction, purpose,
                         granted_at, expires_at, evidence)
    _records([rec.to_dict()], as_json, "consent recorded")


@consent_app.command("show")
def show(
    ctx: typer.Context,
    ref: str = typer.Argument(..., help="Consent record id (cons-...) or subject id (subj-...)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """One record (or every record of a subject), with its revocation and takedown items."""
    from assay.provenance.consent.ledger import Ledger

    ledger = Ledger(workspace(ctx))
    records = ledger.for_subject(ref) if ref.startswith("subj-") else [ledger.get(ref)]
    if not records:
        fail(f"no consent record for subject {ref}", code=1)
    rows = [r.to_dict() for r in records]
    if as_json:
        print_json(rows)
        return
    for row in rows:
        print_table([{"field": k, "value": v} for k, v in row.items() if k != "takedown"], ["field", "value"],
                    title=row["id"])
        if row["takedown"]:
            print_table(row["takedown"], ["artefact", "kind", "name", "deadline", "by", "done_at"], title="takedown")


@consent_app.command("list")
def list_records(
    ctx: typer.Context,
    subject: Optional[str] = typer.Option(None, "--subject", help="Only this subject's records."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Every consent record, revoked ones included."""
    from assay.provenance.consent.ledger import Ledger

    rows = [r.to_dict() for r in Ledger(workspace(ctx)).records().values() if subject in (None, r.subject_id)]
    _records(rows, as_json, "consent records")


@consent_app.command("revoke")
def revoke_cmd(
    ctx: typer.Context,
    record: str = typer.Argument(..., help="Consent record id (cons-...)."),
    at: Optional[str] = typer.Option(None, "--at", help="When consent was withdrawn, ISO 8601 \\[default: now]."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Revoke a record and list everything derived from its subject as a takedown queue."""
    from assay.provenance.consent.policy import revoke

    rec = revoke(workspace(ctx), record, at)
    if as_json:
        print_json(rec.to_dict())
        return
    err.print(f"{rec.id} revoked at {rec.revoked_at}; {len(rec.takedown)} item(s) to take down", highlight=False)
    print_table(rec.takedown, ["artefact", "kind", "name", "path", "deadline"], title=f"takedown queue of {rec.id}")


@consent_app.command("import")
def import_cmd(
    ctx: typer.Context,
    file: Path = typer.Argument(..., help="CSV (header line) or JSON list, one row per subject."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Bulk-load consent records; bad rows are reported with their row number, good rows load (exit 1 if any bad)."""
    from assay.provenance.consent.bulk_import import import_file
    from assay.provenance.consent.ledger import Ledger

    result = import_file(Ledger(workspace(ctx)), file)
    if as_json:
        print_json({"loaded": [r.to_dict() for r in result.loaded], "errors": result.errors})
    else:
        for line in result.errors:
            err.print(f"{file}: {line}", highlight=False, markup=False)
        err.print(f"{len(result.loaded)} record(s) loaded, {len(result.errors)} row(s) rejected", highlight=False)
    if result.errors:
        raise typer.Exit(1)


@consent_app.command("verify-ledger")
def verify_ledger(ctx: typer.Context, as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Recompute the ledger's hash chain (exit 1 when an entry was edited, removed or inserted)."""
    from assay.provenance.consent.ledger import Ledger

    report = Ledger(workspace(ctx)).verify()
    if as_json:
        print_json(report)
    elif report["ok"]:
        out.print(f"ledger intact: {report['entries']} entries, head {report['head']}", highlight=False)
    else:
        for problem in report["problems"]:
            err.print(f"tampered: {problem}", highlight=False, markup=False)
    if not report["ok"]:
        raise typer.Exit(1)


@consent_app.command("policy")
def policy_cmd(
    ctx: typer.Context,
    mode: Optional[str] = typer.Option(None, "--mode", help="refuse (default) or warn when consent is missing."),
    takedown_hours: Optional[float] = typer.Option(None, "--takedown-hours", help="Takedown deadline \\[48]."),
) -> None:
    """Show or set the workspace's consent policy."""
    from dataclasses import asdict, replace

    from assay.provenance.consent.policy import load_policy, save_policy

    ws = workspace(ctx)
    policy = load_policy(ws)
    if mode is not None or takedown_hours is not None:
        policy = replace(policy, **{k: v for k, v in (("mode", mode), ("takedown_hours", takedown_hours))
                                    if v is not None})
        save_policy(ws, policy)
    print_json(asdict(policy))


@takedowns_app.callback(invoke_without_command=True)
def takedowns(
    ctx: typer.Context,
    overdue: bool = typer.Option(False, "--overdue", help="Only items past their deadline."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Show the takedown queue (exit 1 when an item is overdue)."""
    from assay.provenance.consent.policy import takedown_queue

    if ctx.invoked_subcommand is not None:
        return
    rows = takedown_queue(workspace(ctx), overdue_only=overdue)
    if as_json:
        print_json(rows)
    else:
        print_table(rows, QUEUE_COLUMNS, title="takedowns")
    if any(r["status"] == "overdue" for r in rows):
        raise typer.Exit(1)


@takedowns_app.command("done")
def done(
    ctx: typer.Context,
    artefact: str = typer.Argument(..., help="Artefact id from the queue."),
    by: str = typer.Option(..., "--by", help="Who took it down."),
) -> None:
    """Mark an artefact taken down (records who and when)."""
    from assay.provenance.consent.policy import mark_done

    closed = mark_done(workspace(ctx), artefact, by)
    err.print(f"{artefact}: {closed} takedown item(s) done by {by}", highlight=False)
