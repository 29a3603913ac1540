"""Regulation profiles and `comply`: loading, the files x requirements matrix, stamping by profile."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

from assay.cli import app
from assay.core.imageio import save
from assay.provenance.compliance import (
    ProfileError,
    comply,
    get_profiles,
    load_profile,
    profiles,
)
from assay.provenance.consent.ledger import Ledger
from assay.provenance.consent.policy import require_consent, revoke
from assay.provenance.keys.signing import (
    SigningIdentity,
    default_keys_dir,
    keygen,
    workspace_trust_anchors,
)
from assay.provenance.stamp.files import stamp_file
from assay.provenance.stamp.options import StampOptions
from assay.provenance.verify.report import verify_file
from tests.helpers.images import smooth_image

runner = CliRunner()
APPLIES_FROM = {"eu-ai-act-art50": "2026-08-02", "cn-labelling-measures": "2025-09-01",
                "cn-deep-synthesis": "2023-01-10", "cn-pipl": "2021-11-01", "us-ca-sb942": "2026-08-02"}
P, F, NA = "pass", "fail", "n/a"
#: file -> profile -> requirement statuses, in the profile's order
EXPECTED = {
    "full": {"eu-ai-act-art50": [P, P, P], "cn-labelling-measures": [P, P], "cn-deep-synthesis": [P, NA, P, P],
             "cn-pipl": [P, P, P], "us-ca-sb942": [P, P, P]},
    "partial": {"eu-ai-act-art50": [P, F, F], "cn-labelling-measures": [F, P], "cn-deep-synthesis": [NA, NA, P, F],
                "cn-pipl": [NA, NA, NA], "us-ca-sb942": [P, F, P]},
    "unlabelled": {"eu-ai-act-art50": [F, F, F], "cn-labelling-measures": [F, F], "cn-deep-synthesis": [NA, NA, F, F],
                   "cn-pipl": [NA, NA, NA], "us-ca-sb942": [F, F, F]},
    "edit_without_consent": {"eu-ai-act-art50": [P, P, P], "cn-labelling-measures": [P, P],
                             "cn-deep-synthesis": [F, F, P, P], "cn-pipl": [F, F, F], "us-ca-sb942": [P, P, P]},
}


@pytest.fixture
def signed_ws(ws):
    keygen(default_keys_dir(ws))
    return ws


def _source(tmp_path: Path, seed: int) -> Path:
    path = tmp_path / f"src{seed}.png"
    save(smooth_image(128, seed), path)
    return path


def _files(ws, tmp_path: Path) -> dict[str, Path]:
    identity = SigningIdentity.from_dir(default_keys_dir(ws))
    Ledger(ws).add("subj-ann", "training,generation,publication", "CN", "face synthesis research",
                   granted_at="2025-01-01")
    consent = require_consent(ws, ["subj-ann"], "generation")
    files = {name: tmp_path / f"{name}.png" for name in EXPECTED}
    stamp_file(_source(tmp_path, 1), files["full"], identity, ws=ws, options=StampOptions(
        extra_assertions=[consent.assertion()], catalog_params=consent.catalog_params()))
    stamp_file(_source(tmp_path, 2), files["partial"], identity, StampOptions(labels=("xmp", "c2pa")), ws=ws)
    save(smooth_image(128, 3), files["unlabelled"])
    stamp_file(_source(tmp_path, 4), files["edit_without_consent"], identity, ws=ws, source_type="edited",
               parent=_source(tmp_path, 5))
    return files


def test_shipped_profiles_load_with_their_dates_and_citations() -> None:
    shipped = profiles()
    assert {name: p.applies_from for name, p in shipped.items()} == APPLIES_FROM
    for profile in shipped.values():
        assert profile.requirements and all(r.cites for r in profile.requirements)
    assert shipped["eu-ai-act-art50"].in_force(date(2026, 8, 2)) and not shipped["eu-ai-act-art50"].in_force(
        date(2026, 8, 1))


def test_a_profile_with_an_unknown_check_is_refused_at_load(tmp_path) -> None:
    data = json.loads((Path(__file__).parents[1] / "provenance/profiles/cn-pipl.json").read_text())
    data["requirements"][0]["all"].append("consent_vibes")
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(data))
    with pytest.raises(ProfileError, match="requirement art28-29-separate-consent: unknown check.*consent_vibes"):
        load_profile(path)
    with pytest.raises(ProfileError, match="unknown profile 'nope'"):
        get_profiles(["nope"])


def test_each_profile_gives_the_expected_matrix(signed_ws, tmp_path) -> None:
    files = _files(signed_ws, tmp_path)
    anchors = workspace_trust_anchors(signed_ws)
    report = comply([verify_file(files[name], signed_ws, anchors) for name in EXPECTED], list(profiles().values()))
    got: dict[str, dict[str, list[str]]] = {}
    for row in report["rows"]:
        got.setdefault(Path(row["file"]).stem, {}).setdefault(row["profile"], []).append(row["status"])
        assert row["reason"]
    assert got == EXPECTED
    reasons = {(Path(r["file"]).stem, r["requirement"]): r["reason"] for r in report["rows"]}
    assert "no consent assertion" in reasons[("edit_without_consent", "art14-separate-consent")]
    assert "no AI edit" in reasons[("full", "art14-separate-consent")]
    assert not report["ok"]
    summary = {s["profile"]: (s["passed"], s["failed"]) for s in report["summary"]}
    assert summary["eu-ai-act-art50"] == (2, 2) and summary["cn-pipl"] == (3, 1)


def test_consent_valid_at_creation_but_revoked_later(signed_ws, tmp_path) -> None:
    files = _files(signed_ws, tmp_path)
    anchors = workspace_trust_anchors(signed_ws)
    record = Ledger(signed_ws).for_subject("subj-ann")[0]
    assert b"subj-ann" not in files["full"].read_bytes()  # the manifest names the record, not the person
    revoke(signed_ws, record.id)
    report = verify_file(files["full"], signed_ws, anchors)
    checks = report["checks"]
    assert checks["consent_record"]["status"] == "pass" and checks["consent_at_creation"]["status"] == "pass"
    assert checks["consent_publication"]["status"] == "fail"
    assert checks["consent_publication"]["reason"].startswith("creation was lawful, publication is not")
    statuses = [r["status"] for r in comply([report], get_profiles(["cn-pipl"]))["rows"]]
    assert statuses == [P, P, F]


def _cli(ws, *args: str):
    return runner.invoke(app, ["-w", str(ws.root), "provenance", *args])


def test_comply_cli_exit_code_follows_failures(signed_ws, tmp_path) -> None:
    files = _files(signed_ws, tmp_path)
    ok = _cli(signed_ws, "comply", str(files["full"]), "--profile", "eu-ai-act-art50", "--format", "json")
    assert ok.exit_code == 0, ok.output
    assert {r["status"] for r in json.loads(ok.stdout)["rows"]} == {P}
    bad = _cli(signed_ws, "comply", str(files["full"]), str(files["unlabelled"]), "--profile", "us-ca-sb942",
               "--format", "json")
    assert bad.exit_code == 1
    assert json.loads(bad.stdout)["summary"][0] | {"in_force": None} == {
        "profile": "us-ca-sb942", "version": "2025.1", "applies_from": "2026-08-02", "in_force": None, "files": 2,
        "passed": 1, "failed": 1}


def test_comply_profile_all_checks_every_profile_and_profiles_lists_them(signed_ws, tmp_path) -> None:
    files = _files(signed_ws, tmp_path)
    res = _cli(signed_ws, "comply", str(files["full"]), "--profile", "all", "--profile", "cn-pipl", "--format", "json")
    assert res.exit_code == 0, res.output
    assert [s["profile"] for s in json.loads(res.stdout)["summary"]] == sorted(APPLIES_FROM)  # each once
    bad = _cli(signed_ws, "comply", str(files["full"]), "--profile", "eu")
    assert bad.exit_code == 2 and "all" in bad.output and "assay provenance profiles" in bad.output
    listed = _cli(signed_ws, "profiles", "--json")
    assert listed.exit_code == 0, listed.output
    rows = {r["profile"]: r for r in json.loads(listed.stdout)}
    assert {name: r["applies_from"] for name, r in rows.items()} == APPLIES_FROM
    assert rows["cn-pipl"]["requirements"] == 3 and rows["cn-pipl"]["jurisdiction"] == "CN"
    table = _cli(signed_ws, "profiles")
    assert "us-ca-sb942" in table.stdout and "--profile all" in table.output


def test_stamp_by_profile_applies_what_it_needs_and_refuses_missing_consent(signed_ws, tmp_path) -> None:
    src, parent = _source(tmp_path, 6), _source(tmp_path, 7)
    out = tmp_path / "out"
    res = _cli(signed_ws, "stamp", str(src), "--out", str(out), "--profile", "cn-labelling-measures", "--json")
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)[0]["labels"] == "visible,xmp"
    edit = ["stamp", str(src), "--out", str(out / "edit"), "--profile", "cn-deep-synthesis", "--source-type",
            "edited", "--parent", str(parent), "--json"]
    refused = _cli(signed_ws, *edit)
    assert refused.exit_code == 2 and "need editing consent" in refused.output
    Ledger(signed_ws).add("subj-bea", "generation", "CN", "portrait retouching")
    no_scope = _cli(signed_ws, *edit, "--subject", "subj-bea")
    assert no_scope.exit_code == 2 and "subj-bea" in no_scope.output and "does not cover editing" in no_scope.output
    Ledger(signed_ws).add("subj-bea", "editing", "CN", "portrait retouching")
    res = _cli(signed_ws, *edit, "--subject", "subj-bea")
    assert res.exit_code == 0, res.output
    stamped = Path(json.loads(res.stdout)[0]["out"])
    report = verify_file(stamped, signed_ws, workspace_trust_anchors(signed_ws))
    statuses = [r["status"] for r in comply([report], get_profiles(["cn-deep-synthesis"]))["rows"]]
    assert statuses == [P, P, P, P]
