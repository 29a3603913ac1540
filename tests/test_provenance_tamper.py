"""A tampered C2PA manifest never verifies: the tamper corpus (tests/helpers/tamper.py) in PNG, JPEG and WebP
fails verify, comply and the scan's provenance signals, and none of its fields is reported as fact."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from assay.cli import app
from assay.core.imageio import save
from assay.core.workspace import Workspace
from assay.detect.signals import provenance_signals
from assay.provenance import manifest
from assay.provenance.compliance import comply, get_profiles, profiles
from assay.provenance.keys.signing import (
    SigningIdentity,
    default_keys_dir,
    keygen,
    workspace_trust_anchors,
)
from assay.provenance.stamp.files import stamp_file
from assay.provenance.verify.report import verify_file
from tests.helpers.images import smooth_image
from tests.helpers.tamper import TAMPERS

FORMATS = ("png", "jpg", "webp")
REQUIRE = ("c2pa", "xmp", "watermark")
runner = CliRunner()


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> tuple[Workspace, dict[tuple[str, str], Path], dict[str, Path]]:
    """A workspace, its signed files per format, and every tamper of each."""
    tmp = tmp_path_factory.mktemp("tamper")
    ws = Workspace(tmp / "ws")
    keygen(default_keys_dir(ws))
    identity = SigningIdentity.from_dir(default_keys_dir(ws))
    for seed in (1, 2):
        save(smooth_image(128, seed), tmp / f"src{seed}.png")
    signed, tampered = {}, {}
    for fmt in FORMATS:
        for seed in (1, 2):
            stamp_file(tmp / f"src{seed}.png", tmp / f"signed{seed}.{fmt}", identity, ws=ws)
        signed[fmt] = tmp / f"signed1.{fmt}"
        data, other = signed[fmt].read_bytes(), (tmp / f"signed2.{fmt}").read_bytes()
        for name, tamper in TAMPERS.items():
            out = tmp / f"{name}.{fmt}"
            out.write_bytes(tamper(data, fmt, other))
            tampered[(name, fmt)] = out
    return ws, tampered, signed


def test_the_untampered_files_verify(corpus) -> None:
    ws, _, signed = corpus
    for fmt, path in signed.items():
        report = verify_file(path, ws, workspace_trust_anchors(ws), require=REQUIRE)
        assert report["ok"], (fmt, {k: v for k, v in report["checks"].items() if v["status"] == "fail"})
        assert report["c2pa"]["trust"] == "trusted" and report["c2pa"]["training_mining"]


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("name", sorted(TAMPERS))
def test_every_tampered_file_fails_verify_and_reports_no_field(corpus, name: str, fmt: str) -> None:
    ws, tampered, _ = corpus
    report = verify_file(tampered[(name, fmt)], ws, workspace_trust_anchors(ws), require=REQUIRE)
    assert report["error"] is None and not report["ok"]
    check = report["checks"]["c2pa_manifest"]
    assert check["status"] == "fail"
    codes = report["c2pa"]["failures"]
    assert codes and all(code in check["reason"] for code in codes), (check, codes)
    assert report["c2pa"]["trust"] == "invalid" and report["c2pa"]["validation_state"] == "Invalid"
    # nothing the invalid manifest says is reported
    for key in ("digital_source_type", "signer", "claim_generator", "training_mining"):
        assert report["c2pa"][key] is None, key
    assert report["c2pa"]["actions"] == [] and report["found_via"] != "manifest"
    assert report["implicit_from"] != "manifest"
    assert report["checks"]["c2pa_source_type"]["status"] == "fail"


def test_the_flipped_training_entries_are_named_by_their_code(corpus) -> None:
    ws, tampered, _ = corpus
    for fmt in FORMATS:
        data = tampered[("assertion_bytes", fmt)].read_bytes()
        assert b"gallowed" in data  # the edit happened, length kept
        store = manifest.read_manifest(data, fmt, workspace_trust_anchors(ws))
        assert "assertion.hashedURI.mismatch" in manifest.invalid_codes(store)
        report = verify_file(tampered[("assertion_bytes", fmt)], ws, workspace_trust_anchors(ws), require=REQUIRE)
        assert "assertion.hashedURI.mismatch" in report["checks"]["c2pa_manifest"]["reason"]
        assert "allowed" not in json.dumps(report["c2pa"])


def test_an_untrusted_signer_alone_leaves_the_manifest_valid(corpus) -> None:
    ws, _, signed = corpus
    report = verify_file(signed["jpg"], ws, trust_anchors=None)
    assert report["c2pa"]["failures"] == ["signingCredential.untrusted"]
    assert report["checks"]["c2pa_manifest"]["status"] == "pass" and report["c2pa"]["trust"] == "untrusted"
    assert report["c2pa"]["digital_source_type"]


def test_every_tampered_file_fails_every_profile(corpus) -> None:
    ws, tampered, _ = corpus
    chosen = get_profiles(sorted(profiles()))
    reports = [verify_file(p, ws, workspace_trust_anchors(ws)) for p in tampered.values()]
    result = comply(reports, chosen)
    assert not result["ok"]
    assert all(s["passed"] == 0 and s["failed"] == len(tampered) for s in result["summary"]), result["summary"]
    assert all("fails validation" in r["reason"] or "unreadable" in r["reason"] for r in result["rows"])


def test_the_commands_exit_1_on_the_tampered_files(corpus) -> None:
    ws, tampered, _ = corpus
    files = [str(p) for (name, fmt), p in tampered.items() if fmt == "jpg"]
    env = {"ASSAY_WORKSPACE": str(ws.root)}
    res = runner.invoke(app, ["provenance", "verify", *files, "--require", ",".join(REQUIRE), "--format", "json"],
                        env=env)
    assert res.exit_code == 1, res.output
    assert all(r["checks"]["c2pa_manifest"]["status"] == "fail" for r in json.loads(res.stdout))
    res = runner.invoke(app, ["provenance", "comply", *files, "--profile", "cn-labelling-measures",
                              "--profile", "cn-deep-synthesis"], env=env)
    assert res.exit_code == 1, res.output


def test_scan_signals_call_a_tampered_manifest_invalid(corpus) -> None:
    ws, tampered, signed = corpus
    good = provenance_signals(signed["png"], ws)
    assert good["c2pa_valid"] is True and good["digital_source_type"]
    for fmt in FORMATS:
        signals = provenance_signals(tampered[("assertion_bytes", fmt)], ws)
        assert signals["c2pa_present"] and signals["c2pa_valid"] is False
        assert signals["digital_source_type"] is None and signals["found_via"] != "manifest"


def test_the_dashboard_shows_a_tampered_manifest_as_invalid_and_none_of_its_fields(corpus, monkeypatch) -> None:
    from streamlit.testing.v1 import AppTest

    from tests.helpers.dashboard import render_page

    ws, tampered, signed = corpus
    monkeypatch.setenv("ASSAY_WORKSPACE", str(ws.root))
    at = AppTest.from_function(render_page, args=("provenance",), default_timeout=300).run()
    at.text_input(key="prov-path").set_value(str(signed["png"])).run()
    assert "trainedAlgorithmicMedia" in next(m.value for m in at.markdown if "digitalSourceType" in m.value)
    at.text_input(key="prov-path").set_value(str(tampered[("assertion_bytes", "png")])).run()
    assert not at.exception, [e.value for e in at.exception]
    assert {m.label: m.value for m in at.metric}["C2PA validation"] == "Invalid"
    facts = next(m.value for m in at.markdown if "digitalSourceType" in m.value)
    assert facts.startswith("**Signer**: none") and "**digitalSourceType**: none" in facts
    assert any("nothing in it is evidence" in e.value for e in at.error)
    assert "trainedAlgorithmicMedia" not in " ".join(m.value for m in at.markdown)
