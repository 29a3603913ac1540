"""Consent ledger: refusals, revocation, tampering, takedowns through lineage, import, linking faces, manifests."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import numpy as np
import pytest

from assay.core.imageio import save
from assay.core.subjects import subject_id_for
from assay.data.preparation import PrepareConfig, prepare
from assay.provenance.consent.bulk_import import import_file
from assay.provenance.consent.ledger import ConsentError, Ledger
from assay.provenance.consent.policy import (
    ConsentPolicy,
    mark_done,
    require_consent,
    revoke,
    takedown_queue,
)

PURPOSE = "research on face synthesis"


def _grant(ws, subject: str, scopes: str = "training,generation", **kw):
    return Ledger(ws).add(subject, scopes, "EU", PURPOSE, granted_at=kw.pop("granted_at", "2025-01-01"), **kw)


@pytest.mark.parametrize("setup, reason", [
    (lambda ws: None, "no consent record"),
    (lambda ws: _grant(ws, "subj-ann", "training"), "does not cover generation"),
    (lambda ws: _grant(ws, "subj-ann", expires_at="2025-03-01"), "expired at 2025-03-01"),
    (lambda ws: revoke(ws, _grant(ws, "subj-ann").id, at="2025-02-01"), "revoked at 2025-02-01"),
])
def test_refusals_name_the_subjects_and_why(ws, setup, reason) -> None:
    setup(ws)
    _grant(ws, "subj-bob")
    with pytest.raises(ConsentError) as exc:
        require_consent(ws, ["subj-ann", "subj-bob"], "generation", at="2025-06-01", what="sampling run-1")
    message = str(exc.value)
    assert "subj-ann" in message and reason in message and "1 subject(s)" in message
    assert "subj-bob" not in message  # bob's consent is fine
    assert "\n" not in message


def test_warn_policy_returns_the_consent_found(ws) -> None:
    good = _grant(ws, "subj-bob")
    consent = require_consent(ws, ["subj-ann", "subj-bob"], "training", at="2025-06-01",
                              policy=ConsentPolicy(mode="warn"))
    assert [r.id for r in consent.records] == [good.id]
    assert consent.missing == {"subj-ann": "no consent record"}


def test_a_revoked_record_stays_visible_with_its_revocation(ws) -> None:
    rec = _grant(ws, "subj-ann")
    revoke(ws, rec.id, at="2025-05-01T10:00:00Z")
    records = Ledger(ws).records()
    assert records[rec.id].revoked_at == "2025-05-01T10:00:00+00:00"
    assert records[rec.id].scopes == ["training", "generation"]
    assert ws.catalog.get(rec.id).params["subject_id"] == "subj-ann"  # the catalog row is never edited
    with pytest.raises(ConsentError, match="already revoked"):
        revoke(ws, rec.id)


def test_the_ledger_refuses_edits_and_detects_tampering(ws) -> None:
    first = _grant(ws, "subj-ann")
    _grant(ws, "subj-bob")
    assert Ledger(ws).verify()["ok"]
    db = sqlite3.connect(ws.catalog.backend.location)
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        db.execute("UPDATE ledger SET entry = '{}' WHERE seq = 1")
    db.execute("DROP TRIGGER ledger_no_update")  # someone with the file bypasses the trigger...
    entry = json.loads(db.execute("SELECT entry FROM ledger WHERE seq = 1").fetchone()[0])
    entry["scopes"] = ["training", "generation", "publication"]
    db.execute("UPDATE ledger SET entry = ? WHERE seq = 1", (json.dumps(entry),))
    db.commit()
    report = Ledger(ws).verify()  # ...and the hash chain catches it
    assert not report["ok"]
    assert report["problems"] == ["entry 1: content does not match its hash (edited after it was written)"]
    assert first.id in Ledger(ws).records()


def test_removing_an_entry_breaks_the_chain(ws) -> None:
    for name in ("subj-ann", "subj-bob", "subj-cyd"):
        _grant(ws, name)
    db = sqlite3.connect(ws.catalog.backend.location)
    db.execute("DROP TRIGGER ledger_no_delete")
    db.execute("DELETE FROM ledger WHERE seq = 2")
    db.commit()
    problems = Ledger(ws).verify()["problems"]
    assert any(p.startswith("entry 3: links to") and "removed or inserted" in p for p in problems)
    assert any("does not match a ledger entry" in p for p in problems)  # bob's catalog row lost its entry


def _lineage(ws, subject: str) -> dict[str, str]:
    ds = ws.catalog.add("datasets", f"set-{subject}", {"subjects": [subject]})
    run = ws.catalog.add("runs", f"run-{subject}", parents=[ds.id])
    smp = ws.catalog.add("samples", f"smp-{subject}", parents=[run.id, ds.id])
    prov = ws.catalog.add("provenance", None, {"content_id": "00000000"}, parents=[run.id])
    return {"datasets": ds.id, "runs": run.id, "samples": smp.id, "provenance": prov.id}


def test_revocation_builds_the_takedown_queue_through_lineage_and_only_that(ws) -> None:
    ann, bob = _lineage(ws, "subj-ann"), _lineage(ws, "subj-bob")
    edit = ws.catalog.add("provenance", None, {"consent": {"scope": "editing", "subjects": ["subj-ann"]}})
    rec = _grant(ws, "subj-ann")
    revoked = revoke(ws, rec.id, at="2025-05-01T00:00:00Z")
    assert {i["artefact"] for i in revoked.takedown} == set(ann.values()) | {edit.id}
    assert not {i["artefact"] for i in revoked.takedown} & set(bob.values())
    assert {i["deadline"] for i in revoked.takedown} == {"2025-05-03T00:00:00+00:00"}  # 48 hours

    queue = takedown_queue(ws, at="2025-05-02T00:00:00Z")
    assert {r["status"] for r in queue} == {"open"} and takedown_queue(ws, overdue_only=True,
                                                                        at="2025-05-02T00:00:00Z") == []
    assert mark_done(ws, ann["runs"], "ops@example.org", at="2025-05-02T12:00:00Z") == 1
    late = {r["artefact"]: r for r in takedown_queue(ws, at="2025-05-04T00:00:00Z")}
    assert late[ann["runs"]]["status"] == "done" and late[ann["runs"]]["by"] == "ops@example.org"
    assert late[ann["runs"]]["done_at"] == "2025-05-02T12:00:00+00:00"
    assert {a for a, r in late.items() if r["status"] == "overdue"} == set(late) - {ann["runs"]}
    with pytest.raises(ConsentError, match="no open takedown item"):
        mark_done(ws, ann["runs"], "ops@example.org")


def test_takedown_deadline_follows_the_policy(ws) -> None:
    _lineage(ws, "subj-ann")
    rec = revoke(ws, _grant(ws, "subj-ann").id, at="2025-05-01T00:00:00Z", policy=ConsentPolicy(takedown_hours=24))
    assert {i["deadline"] for i in rec.takedown} == {"2025-05-02T00:00:00+00:00"}


def test_import_rejects_malformed_rows_with_row_numbers_and_loads_the_rest(ws, tmp_path) -> None:
    path = tmp_path / "consents.csv"
    path.write_text("subject_id,scopes,jurisdiction,purpose,granted_at,expires_at\n"
                    "subj-ann,training;generation,EU,research,2025-01-01,\n"
                    "Ann Smith,training,EU,research,2025-01-01,\n"
                    "subj-bob,dancing,EU,research,2025-01-01,\n"
                    "subj-cyd,training,,research,2025-01-01,\n"
                    "subj-dee,training,EU,research,yesterday,\n"
                    "subj-eve,training,EU,research,2025-01-01,2024-01-01\n"
                    "subj-fay,editing,CN,face edit,2025-02-01,2026-02-01\n")
    result = import_file(Ledger(ws), path)
    assert [r.subject_id for r in result.loaded] == ["subj-ann", "subj-fay"]
    assert [e.split(":")[0] for e in result.errors] == ["row 2", "row 3", "row 4", "row 5", "row 6"]
    assert "Ann Smith" in result.errors[0] and "dancing" in result.errors[1] and "jurisdiction" in result.errors[2]
    assert {r.subject_id for r in Ledger(ws).records().values()} == {"subj-ann", "subj-fay"}


def test_import_json_derives_subject_ids_from_identities_without_storing_them(ws, tmp_path) -> None:
    path = tmp_path / "consents.json"
    path.write_text(json.dumps([{"identity": "Jane_Doe", "files": "Jane_Doe/*", "scopes": ["training"],
                                 "jurisdiction": "EU", "purpose": "research"}, "not an object"]))
    result = import_file(Ledger(ws), path)
    assert [r.subject_id for r in result.loaded] == [subject_id_for(ws.root, "Jane_Doe")]
    assert result.errors[0].startswith("row 2: unknown column")
    assert "Jane_Doe" not in json.dumps(ws.catalog.ledger())


def _photos(root: Path) -> Path:
    rng = np.random.default_rng(0)
    for person in ("Jane_Doe", "John_Roe"):
        for i in range(2):
            path = root / person / f"{person}_{i}.png"
            path.parent.mkdir(parents=True, exist_ok=True)
            save(rng.integers(0, 255, (40, 40, 3), dtype=np.uint8), path)
    return root


CFG = dict(size=32, align="center", embed=False, workers=1)


def test_prepare_links_faces_to_subjects_from_a_consent_file(ws, tmp_path) -> None:
    consent = tmp_path / "subjects.csv"
    consent.write_text("subject_id,files\nsubj-jane,Jane_Doe/*\n")
    result = prepare(ws, _photos(tmp_path / "photos"), "linked", PrepareConfig(**CFG, consent_file=str(consent)))
    rows = [json.loads(line) for line in (Path(result.record.path) / "manifest.jsonl").read_text().splitlines()]
    assert {r["source"]: r["subject_id"] for r in rows} == {
        "Jane_Doe/Jane_Doe_0.png": "subj-jane", "Jane_Doe/Jane_Doe_1.png": "subj-jane",
        "John_Roe/John_Roe_0.png": None, "John_Roe/John_Roe_1.png": None}
    assert result.record.params["subjects"] == ["subj-jane"] and result.record.params["unlinked_faces"] == 2


def test_prepare_refuses_a_malformed_consent_file_naming_the_row(ws, tmp_path) -> None:
    consent = tmp_path / "subjects.csv"
    consent.write_text("subject_id,files\nsubj-jane,Jane_Doe/*\nJane Doe,John_Roe/*\n")
    with pytest.raises(ValueError, match="row 2"):
        prepare(ws, _photos(tmp_path / "photos"), "bad", PrepareConfig(**CFG, consent_file=str(consent)))
    assert ws.catalog.list("datasets") == []


def test_training_is_refused_without_consent_naming_the_subjects(ws, tmp_path) -> None:
    from assay.forge.config import make_config
    from assay.forge.training import train

    result = prepare(ws, _photos(tmp_path / "photos"), "faces", PrepareConfig(**CFG, subjects_from_layout=True))
    jane, john = subject_id_for(ws.root, "Jane_Doe"), subject_id_for(ws.root, "John_Roe")
    assert result.record.params["subjects"] == sorted([jane, john])
    Ledger(ws).add(jane, "training", "EU", PURPOSE)
    with pytest.raises(ConsentError) as exc:
        train(ws, "faces", make_config("dcgan", 32, steps=1), progress=False)
    assert john in str(exc.value) and jane not in str(exc.value)
    assert ws.catalog.list("runs") == []


def test_real_faces_without_consent_records_stop_training_unless_waived_and_the_waiver_fails_comply(
        ws, tmp_path) -> None:
    from typer.testing import CliRunner

    from assay.cli import app
    from assay.core.imagesets import open_set
    from assay.forge.config import make_config
    from assay.forge.sampling import sample
    from assay.forge.training import train
    from assay.provenance.compliance import comply, get_profiles
    from assay.provenance.keys.signing import workspace_trust_anchors
    from assay.provenance.verify.report import verify_file

    prepare(ws, _photos(tmp_path / "photos"), "faces", PrepareConfig(**CFG))  # no subject links at all
    cfg = make_config("dcgan", 32, steps=1, batch=4, g_ch=4, d_ch=4, z_dim=16, threads="1")
    with pytest.raises(ConsentError, match="4 of its 4 faces are real people's faces linked to no consent record"
                                           ".*--no-consent-records REASON"):
        train(ws, "faces", cfg, progress=False)
    assert ws.catalog.list("runs") == []
    res = CliRunner().invoke(app, ["-w", str(ws.root), "forge", "train", "--data", "faces", "--size", "32",
                                   "--steps", "1", "--no-consent-records", " "])
    assert res.exit_code != 0 and "needs a reason" in res.output and ws.catalog.list("runs") == []

    run = train(ws, "faces", cfg, progress=False, no_consent_records="in-house test of the pipeline")
    waiver = ws.catalog.get(run).params["consent_waiver"]
    assert waiver == {"reason": "in-house test of the pipeline", "dataset": ws.resolve("faces").id,
                      "unlinked_faces": 4, "subjects_without_record": 0}
    samples = open_set(ws, sample(ws, run, 2, name="s", progress=False))
    report = verify_file(samples.path(samples.rows[0]), ws, workspace_trust_anchors(ws))
    assert report["checks"]["consent_record"]["status"] == "fail"
    assert "in-house test of the pipeline" in report["checks"]["consent_record"]["reason"]
    rows = comply([report], get_profiles(["cn-pipl", "cn-deep-synthesis"]))["rows"]
    status = {r["requirement"]: r["status"] for r in rows}
    assert {status[k] for k in ("art28-29-separate-consent", "art28-purpose", "art15-withdrawal")} == {"fail"}
    assert status["art14-training-data"] == "fail"
    assert "without consent records" in next(r["reason"] for r in rows if r["requirement"] == "art28-purpose")


def test_a_waiver_does_not_override_a_withdrawn_consent(ws, tmp_path) -> None:
    from assay.forge.config import make_config
    from assay.forge.training import train

    prepare(ws, _photos(tmp_path / "photos"), "faces", PrepareConfig(**CFG, subjects_from_layout=True))
    jane = subject_id_for(ws.root, "Jane_Doe")
    revoke(ws, _grant(ws, jane, "training").id)
    with pytest.raises(ConsentError) as exc:
        train(ws, "faces", make_config("dcgan", 32, steps=1), progress=False, no_consent_records="research")
    assert jane in str(exc.value) and "revoked" in str(exc.value)
    assert subject_id_for(ws.root, "John_Roe") not in str(exc.value)  # no record at all: waived
