"""`make demo`'s consent step: demo consent for the demo faces, a compliance report, one revocation."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from assay.core.clitools import out, print_table, say
from assay.core.workspace import Workspace
from assay.provenance import (
    Ledger,
    comply,
    dataset_subjects,
    profiles,
    revoke,
    utc,
    verify_file,
    workspace_trust_anchors,
)

DEMO_PURPOSE = "assay demo: train a toy GAN and publish its labelled samples"


def grant_demo_consent(ws: Workspace, dataset_id: str) -> int:
    """Give every subject of the set without a valid record a demo record (all scopes); returns how many."""
    ledger = Ledger(ws)
    now = utc()
    lacking = [s for s in dataset_subjects(ws, dataset_id)
               if not any(r.problem("training", now) is None for r in ledger.for_subject(s))]
    for subject in lacking:
        ledger.add(subject, "training,generation,editing,publication", "EU", DEMO_PURPOSE)
    return len(lacking)


def run(ws: Workspace, dataset_id: str, files: list[Path]) -> None:
    """Print a comply report for up to three samples (the matrix of the first, the summary of all), then revoke one subject and print its takedown queue."""
    subjects = dataset_subjects(ws, dataset_id)
    if not subjects or not files:
        out.print(f"consent demo: {dataset_id} has no linked subjects (prepared without --consent)")
        return
    anchors = workspace_trust_anchors(ws)
    report = comply([verify_file(f, ws, anchors) for f in files[:3]], list(profiles().values()))
    first = [r for r in report["rows"] if r["file"] == str(files[0])]
    print_table(first, ["profile", "requirement", "cites", "status", "reason"], title=f"compliance of {files[0].name}")
    print_table(report["summary"], ["profile", "applies_from", "in_force", "files", "passed", "failed"],
                title="compliance summary")
    record = next(r for r in Ledger(ws).for_subject(subjects[0]) if not r.revoked_at)
    say("consent", f"subject {subjects[0]} withdraws consent: assay provenance consent revoke {record.id}")
    revoked = revoke(ws, record.id)
    items = revoked.takedown
    print_table([i for i in items if i["kind"] != "provenance"], ["artefact", "kind", "name", "deadline"],
                title=f"takedown queue of {record.id} (due {items[0]['deadline'] if items else '-'})")
    kinds = Counter(i["kind"] for i in items)
    out.print(f"takedown list: {len(items)} items ({', '.join(f'{n} {k}' for k, n in sorted(kinds.items()))}); "
              "see `assay provenance takedowns`", highlight=False)
