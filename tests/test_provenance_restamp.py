"""Re-stamping a re-saved image from the record its watermark finds, and verify/comply offering the command;
stamp's watermark read-back and verify's read are one function, so stamp never claims a mark comply cannot read."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from assay.core.imageio import decode, save
from assay.core.workspace import Workspace
from assay.provenance import watermark
from assay.provenance.compliance import comply, get_profiles
from assay.provenance.keys.secret import ensure_secret, workspace_secret
from assay.provenance.keys.signing import default_keys_dir, keygen, workspace_trust_anchors
from assay.provenance.stamp.batch import StampRequest, stamp_paths
from assay.provenance.stamp.from_record import RestampRefused, restamp, restamp_command
from assay.provenance.stamp.session import stamping
from assay.provenance.verify.report import verify_file
from assay.provenance.verify.summary import summary_line
from tests.helpers.cli import invoke
from tests.helpers.images import smooth_image


@pytest.fixture
def keyed(ws):
    keygen(default_keys_dir(ws))
    return ws


def _stamped_and_resaved(ws, tmp_path: Path, seed: int = 4) -> tuple[Path, Path, str]:
    src = tmp_path / "src.png"
    save(smooth_image(128, seed), src)
    (row,) = stamp_paths(ws, [src], tmp_path / "stamped", progress=False)
    resaved = tmp_path / "resaved.png"
    Image.open(row.out).convert("RGB").save(resaved)  # drops the manifest and the XMP
    return Path(row.out), resaved, row.record


def test_verify_and_comply_offer_the_restamp_command_for_a_resaved_file(keyed, tmp_path) -> None:
    ws = keyed
    stamped, resaved, record_id = _stamped_and_resaved(keyed, tmp_path)
    pem = workspace_trust_anchors(ws)
    report = verify_file(resaved, ws, pem)
    assert report["found_via"] == "watermark" and report["checks"]["c2pa_manifest"]["status"] == "absent"
    command = restamp_command(resaved)
    assert report["restamp"] == command and command.endswith("--out " + str(tmp_path / "resaved.restamped.png"))
    assert command in summary_line(report) and record_id in summary_line(report)
    rows = comply([report], get_profiles(["cn-labelling-measures"]))["rows"]
    failed = [r for r in rows if r["status"] == "fail"]
    assert failed and all(command in r["reason"] for r in failed)  # the metadata requirements say how to fix it
    assert verify_file(stamped, ws, pem)["restamp"] is None  # intact: nothing to offer


def test_restamp_restores_manifest_and_xmp_from_the_record(keyed, tmp_path) -> None:
    ws = keyed
    _, resaved, record_id = _stamped_and_resaved(ws, tmp_path)
    out = tmp_path / "restored.png"
    result, new_id = restamp(ws, resaved, out)
    assert sorted(result.labels_applied) == ["c2pa", "visible", "watermark", "xmp"]
    old, new = ws.catalog.get(record_id), ws.catalog.get(new_id)
    assert new.parents == [record_id] and new.status == "ready" and new.params["restamped_from"] == record_id
    assert new.params["content_id"] == old.params["content_id"]
    assert np.array_equal(decode(out), decode(resaved))  # the pixels are kept
    report = verify_file(out, ws, workspace_trust_anchors(ws))
    assert report["ok"], summary_line(report)
    assert report["c2pa"]["trust"] == "trusted" and report["found_via"] == "manifest"
    assert {report["checks"][n]["status"] for n in ("gb45438_fields", "sb942_fields", "gb45438_integrity",
                                                     "watermark", "visible_mark", "record_match")} == {"pass"}
    assert report["restamp"] is None
    assert comply([report], get_profiles(["cn-labelling-measures"]))["ok"]


def test_restamp_is_refused_without_a_confirmed_record(keyed, tmp_path) -> None:
    ws = keyed
    stamped, resaved, _ = _stamped_and_resaved(ws, tmp_path)
    with pytest.raises(RestampRefused, match="its own manifest names record"):
        restamp(ws, stamped, tmp_path / "a.png")
    plain = tmp_path / "plain.png"
    save(smooth_image(128, 9), plain)
    with pytest.raises(RestampRefused, match="no provenance record of this workspace"):
        restamp(ws, plain, tmp_path / "b.png")
    # the watermark's id copied onto another picture: the picture-match check refuses it
    other = smooth_image(128, 11)
    key = workspace_secret(ws).watermark_key
    cid = verify_file(resaved, ws)["content_id"]
    forged = tmp_path / "forged.png"
    save(watermark.embed_id(other, cid, "auto", key), forged)
    assert verify_file(forged, ws)["restamp"] is None
    with pytest.raises(RestampRefused, match="not confirmed as record"):
        restamp(ws, forged, tmp_path / "c.png")
    assert not any((tmp_path / n).exists() for n in ("a.png", "b.png", "c.png"))  # nothing written


def test_cli_restamp(keyed, tmp_path) -> None:
    _, resaved, record_id = _stamped_and_resaved(keyed, tmp_path)
    out = tmp_path / "restored.webp"
    code, output, crash = invoke("--workspace", str(keyed.root), "provenance", "restamp", str(resaved), "--out",
                                 str(out), "--json")
    assert crash is None and code == 0, output
    (row,) = json.loads(output[output.index("[\n"):])
    assert row["out"] == str(out) and f"from record {record_id}" in row["note"] and "c2pa" in row["labels"]
    code, output, crash = invoke("--workspace", str(keyed.root), "provenance", "restamp", str(resaved), "--out",
                                 str(out))
    assert crash is None and code == 2 and "exists" in output
    code, output, _ = invoke("--workspace", str(keyed.root), "provenance", "verify", str(out))
    assert code == 0, output


NOISE = {
    "uniform": lambda rng: rng.integers(0, 256, (256, 256, 3), dtype=np.uint8),
    "gaussian": lambda rng: np.clip(rng.normal(128, 64, (256, 256, 3)), 0, 255).astype(np.uint8),
}


@pytest.mark.parametrize("fmt", ["png", "jpg"])
@pytest.mark.parametrize("kind", sorted(NOISE))
def test_stamp_claims_a_watermark_exactly_when_comply_reads_it_on_noise(keyed, tmp_path, kind, fmt) -> None:
    src = tmp_path / "in"
    src.mkdir()
    for seed in range(3):
        save(NOISE[kind](np.random.default_rng(seed)), src / f"{kind}{seed}.png")
    rows = list(stamp_paths(keyed, [src], tmp_path / "out", StampRequest(fmt=fmt), progress=False))
    pem = workspace_trust_anchors(keyed)
    for row in rows:
        report = verify_file(row.out, keyed, pem)
        claimed = "watermark" in row.labels.split(",")
        assert claimed == (report["checks"]["watermark"]["status"] == "pass"), (row, report["checks"]["watermark"])
        assert report["checks"]["watermark"]["status"] != "fail"  # never "embedded but does not decode"


def test_stamp_reads_its_watermark_back_with_verifys_function(ws, monkeypatch) -> None:
    calls = []

    def read(rgb, recorded=None, key=None):
        calls.append(recorded.get("method") if recorded else None)
        return watermark.WatermarkReading("absent", "ssgrid", reason="no watermark: check code does not match")

    monkeypatch.setattr(watermark, "read_image_mark", read)
    with stamping(ws, labels="watermark,xmp") as stamper:
        _, extra = stamper.stamp(smooth_image(128, 1), "png", {"seed": 1, "latent_index": 0})
    assert calls == ["ssgrid"] and "watermark" not in extra["labels_applied"]
    assert "does not decode after embedding" in extra["labels_skipped"]["watermark"]


def test_a_keyed_watermark_read_outside_its_workspace_is_not_called_broken(keyed, tmp_path) -> None:
    src = tmp_path / "noise.png"
    save(NOISE["uniform"](np.random.default_rng(7)), src)
    (row,) = stamp_paths(keyed, [src], tmp_path / "out", StampRequest(fmt="jpg"), progress=False)
    assert "watermark" in row.labels.split(",")
    pem = workspace_trust_anchors(keyed)
    other = Workspace(tmp_path / "other")
    ensure_secret(other)
    for ws in (None, other):  # no secret, another workspace's secret
        check = verify_file(row.out, ws, pem)["checks"]["watermark"]
        assert check["status"] == "absent" and "keyed with the secret of the workspace that stamped it" in check["reason"]
    assert verify_file(row.out, keyed, pem)["checks"]["watermark"]["status"] == "pass"
