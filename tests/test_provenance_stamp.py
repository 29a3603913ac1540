"""Stamping and verification end to end: formats, tampering, stripping, soft binding, birth, CLI."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from assay.core.imageio import decode, save
from assay.provenance.keys.secret import workspace_secret
from assay.provenance.keys.signing import SigningIdentity, keygen
from assay.provenance.stamp.files import stamp_file
from assay.provenance.stamp.options import StampOptions
from assay.provenance.stamp.records import publish
from assay.provenance.stamp.session import Stamper as make_birth_stamper
from assay.provenance.verify.consent_checks import CONSENT_CHECKS
from assay.provenance.verify.report import CHECKS, verify_file
from tests.helpers.images import smooth_image

LABEL_CHECKS = {"c2pa": ["c2pa_manifest", "c2pa_signature", "c2pa_data_hash", "c2pa_source_type"],
                "xmp": ["gb45438_fields", "sb942_fields"], "visible": ["visible_mark"], "watermark": ["watermark"]}


@pytest.fixture
def keys(tmp_path: Path) -> dict[str, str]:
    return keygen(tmp_path / "keys")


@pytest.fixture
def identity(keys: dict[str, str]) -> SigningIdentity:
    return SigningIdentity.from_files(keys["chain"], keys["key"])


@pytest.fixture
def trust(keys: dict[str, str]) -> str:
    return Path(keys["ca"]).read_text()


def _source(tmp_path: Path, size: int = 128, seed: int = 0) -> Path:
    path = tmp_path / f"src{seed}.png"
    save(smooth_image(size, seed), path)
    return path


@pytest.mark.parametrize("ext", ["png", "jpg", "webp"])
def test_sign_and_read_back_each_format(tmp_path, ws, identity, trust, ext) -> None:
    out = tmp_path / "out" / f"face.{ext}"
    result, record_id = stamp_file(_source(tmp_path), out, identity, ws=ws)
    assert result.labels_applied == ["visible", "watermark", "xmp", "c2pa"]
    report = verify_file(out, ws, trust)
    assert report["ok"] and report["format"] == ext and report["error"] is None
    assert {name: c["status"] for name, c in report["checks"].items()} == {
        name: "absent" if name in CONSENT_CHECKS or name == "c2pa_timestamp" else "pass" for name in CHECKS}
    assert report["c2pa"]["validation_state"] == "Trusted"
    assert report["c2pa"]["digital_source_type"].endswith("/trainedAlgorithmicMedia")
    assert report["c2pa"]["training_mining"]["cawg.ai_generative_training"]["use"] == "notAllowed"
    assert report["watermark"]["content_id"] == result.content_id == report["content_id"]
    assert report["record"]["id"] == record_id and report["found_via"] == "manifest"
    assert report["xmp"]["gb45438"]["ProduceID"] == result.content_id
    json.dumps(report)  # the schema is plain JSON


def test_extra_assertions_reach_the_signed_manifest(tmp_path, identity, trust) -> None:
    from assay.provenance.manifest import (
        CONSENT_ASSERTION,
        active_manifest,
        assertion,
        read_manifest,
    )

    consent = {"label": CONSENT_ASSERTION, "data": {"consent_ids": ["cons-1234abcd"], "scope": "synthesis"}}
    out = tmp_path / "face.png"
    stamp_file(_source(tmp_path), out, identity, StampOptions(extra_assertions=[consent]))
    store = read_manifest(out.read_bytes(), "png", trust)
    assert assertion(active_manifest(store), CONSENT_ASSERTION) == consent["data"]
    assert store["validation_state"] == "Trusted"


def test_untrusted_signer_is_valid_but_not_trusted(tmp_path, identity) -> None:
    out = tmp_path / "face.png"
    stamp_file(_source(tmp_path), out, identity)
    report = verify_file(out)
    assert report["checks"]["c2pa_signature"]["status"] == "pass"
    assert report["checks"]["c2pa_trusted"]["status"] == "fail"
    assert "valid, untrusted signer" in report["checks"]["c2pa_trusted"]["reason"]
    assert report["c2pa"]["validation_state"] == "Valid"


def _flip_one_bit_in_jpeg_scan(data: bytes) -> bytes:
    sos = data.rfind(b"\xff\xda")
    at = sos + (len(data) - sos) * 2 // 3
    while data[at] in (0xFF, 0xFE) or data[at - 1] == 0xFF:
        at += 1
    return data[:at] + bytes([data[at] ^ 0x01]) + data[at + 1:]


def test_one_bit_change_in_image_data_is_a_data_hash_mismatch(tmp_path, ws, identity, trust) -> None:
    out = tmp_path / "face.jpg"
    stamp_file(_source(tmp_path, 160), out, identity, ws=ws)
    tampered = tmp_path / "tampered.jpg"
    tampered.write_bytes(_flip_one_bit_in_jpeg_scan(out.read_bytes()))
    decode(tampered)  # still a readable image
    report = verify_file(tampered, ws, trust)
    assert report["checks"]["c2pa_data_hash"]["status"] == "fail"
    assert "data hash mismatch" in report["checks"]["c2pa_data_hash"]["reason"]
    assert not report["ok"]


def test_pillow_resave_strips_the_manifest_but_the_watermark_finds_the_record(tmp_path, ws, identity, trust) -> None:
    out = tmp_path / "face.png"
    result, record_id = stamp_file(_source(tmp_path), out, identity, ws=ws)
    resaved = tmp_path / "resaved.png"
    Image.open(out).convert("RGB").save(resaved)
    report = verify_file(resaved, ws, trust)
    assert report["checks"]["c2pa_manifest"]["status"] == "absent"
    assert "stripped" in report["checks"]["c2pa_manifest"]["reason"]
    assert report["checks"]["watermark"]["status"] == "pass"
    assert report["checks"]["soft_binding"]["status"] == "pass"
    assert report["found_via"] == "watermark" and report["record"]["id"] == record_id
    assert report["record"]["params"]["content_id"] == result.content_id
    # the visible mark is checked against the record found through the watermark
    assert report["checks"]["visible_mark"]["status"] == "pass"


@pytest.mark.parametrize("label", ["c2pa", "xmp", "visible", "watermark"])
def test_each_label_passes_when_applied_and_fails_when_missing(tmp_path, ws, identity, trust, label) -> None:
    src = _source(tmp_path, 128, 3)
    full, bare = tmp_path / "full.png", tmp_path / "bare.png"
    stamp_file(src, full, identity, ws=ws)
    others = tuple(x for x in ("c2pa", "xmp", "visible", "watermark") if x != label)
    stamp_file(src, bare, identity, StampOptions(labels=others), ws=ws)
    labelled = verify_file(full, ws, trust, require=(label,))
    unlabelled = verify_file(bare, ws, trust, require=(label,))
    for name in LABEL_CHECKS[label]:
        assert labelled["checks"][name]["status"] == "pass", name
        assert unlabelled["checks"][name]["status"] == "fail", name
    assert not unlabelled["ok"]


def test_unlabelled_image_reads_absent_everywhere(tmp_path) -> None:
    report = verify_file(_source(tmp_path, 128, 9))
    assert {c["status"] for c in report["checks"].values()} == {"absent"}
    assert report["watermark"]["status"] == "absent" and report["watermark"]["content_id"] is None
    assert report["ok"] and not report["labelled"]


def test_bad_files_get_a_one_line_reason(tmp_path) -> None:
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    text = tmp_path / "notes.jpg"
    text.write_text("hello")
    assert verify_file(empty)["error"] == "empty file (0 bytes)"
    assert "not an image" in verify_file(text)["error"]
    assert verify_file(tmp_path / "missing.png")["error"].startswith("missing file")


def test_ai_edit_records_its_parent_as_ingredient(tmp_path, identity, trust) -> None:
    parent = _source(tmp_path, 64, 4)
    upscaled = tmp_path / "up_src.png"
    save(np.asarray(Image.open(parent).resize((128, 128), Image.BICUBIC)), upscaled)
    out = tmp_path / "up.png"
    stamp_file(upscaled, out, identity, source_type="edited", parent=parent)
    report = verify_file(out, trust_anchors=trust)
    assert report["c2pa"]["actions"] == ["c2pa.opened", "c2pa.edited"]
    assert report["c2pa"]["digital_source_type"].endswith("/compositeWithTrainedAlgorithmicMedia")
    assert report["checks"]["c2pa_source_type"]["status"] == "pass"
    assert report["c2pa"]["validation_state"] == "Trusted"


def test_too_small_for_a_watermark_is_said_not_silent(tmp_path, ws, identity, trust) -> None:
    out = tmp_path / "tiny.png"
    result, _ = stamp_file(_source(tmp_path, 24), out, identity, ws=ws)
    assert "watermark" not in result.labels_applied
    assert "too small for a watermark" in result.labels_skipped["watermark"]
    report = verify_file(out, ws, trust)
    assert report["checks"]["watermark"]["status"] == "absent"
    assert "too small for a watermark" in report["checks"]["watermark"]["reason"]


def test_32px_face_resaved_by_pillow_is_found_through_the_watermark(tmp_path, ws, identity, trust) -> None:
    out = tmp_path / "face32.png"
    result, record_id = stamp_file(_source(tmp_path, 32, seed=4), out, identity, ws=ws)
    assert result.labels_applied == ["visible", "watermark", "xmp", "c2pa"] and not result.labels_skipped
    assert result.record["watermark"] == {"status": "embedded", "method": "ssgrid-small", "min_side": 32,
                                          "key_id": workspace_secret(ws).watermark_key_id}
    copy = tmp_path / "copy.png"
    Image.open(out).save(copy)  # drops the C2PA manifest and the XMP, keeps the pixels
    report = verify_file(copy, ws, trust)
    assert report["c2pa"]["present"] is False and report["xmp"] is None
    assert report["watermark"]["status"] == "found" and report["watermark"]["method"] == "ssgrid-small"
    assert report["content_id"] == result.content_id and report["found_via"] == "watermark"
    assert report["record"]["id"] == record_id
    assert report["checks"]["soft_binding"]["status"] == "pass" and report["checks"]["watermark"]["status"] == "pass"
    clean = tmp_path / "clean.png"
    save(smooth_image(32, 9), clean)
    assert verify_file(clean, ws, trust)["checks"]["watermark"]["status"] == "absent"


def test_birth_stamper_is_reproducible_and_records_lineage(ws, identity, trust, tmp_path) -> None:
    run = ws.catalog.add("runs", "dcgan-test", {"family": "dcgan"})
    stamper = make_birth_stamper(ws, signer=identity)
    pixels = smooth_image(64, 7)
    meta = {"family": "dcgan", "run_id": run.id, "checkpoint_sha256": "c" * 64, "seed": 3, "latent_index": 5,
            "condition": None, "size": 64}
    data1, extra1 = stamper(pixels, "png", meta)
    data2, extra2 = stamper(pixels, "png", meta)
    assert extra1["content_id"] == extra2["content_id"]
    assert np.array_equal(decode(data1), decode(data2))  # same seed, same pixels
    assert extra1["labels_applied"] == ["visible", "watermark", "xmp", "c2pa"]
    rec = ws.catalog.get(extra1["provenance_id"])
    assert rec.parents == [run.id] and rec.params["generator"]["seed"] == 3
    assert extra1["provenance_id"] in [c.id for c in ws.catalog.children(run.id)]
    path = tmp_path / "sample.png"
    path.write_bytes(data1)
    pending = verify_file(path, ws, trust)  # the sample set never committed: its record is not the file's origin
    assert rec.status == "pending" and not pending["ok"]
    assert "pending" in pending["checks"]["soft_binding"]["reason"]
    publish(ws, [extra1, extra2])
    report = verify_file(path, ws, trust)
    assert report["ok"] and report["checks"]["watermark"]["status"] == "pass"
    assert report["record"]["params"]["generator"]["run_id"] == run.id


def test_birth_stamper_makes_workspace_keys_on_first_use(ws) -> None:
    stamper = make_birth_stamper(ws)
    data, extra = stamper(smooth_image(64, 2), "png", {"family": "dcgan", "checkpoint_sha256": "b" * 64,
                                                        "seed": 1, "latent_index": 2})
    assert (ws.root / "keys" / "signer.key").stat().st_mode & 0o777 == 0o600
    assert extra["labels_applied"][-1] == "c2pa"


def test_birth_stamper_labels_are_configurable(ws) -> None:
    stamper = make_birth_stamper(ws, labels=("visible", "xmp"))
    data, extra = stamper(smooth_image(64, 1), "jpg", {"family": "dcgan", "checkpoint_sha256": "a" * 64,
                                                        "seed": 0, "latent_index": 0})
    assert extra["labels_applied"] == ["visible", "xmp"] and data[:2] == b"\xff\xd8"
    with pytest.raises(ValueError, match="unknown label"):
        make_birth_stamper(ws, labels="c2pa,glitter")


def test_cli_keygen_stamp_verify(tmp_path, ws) -> None:
    from typer.testing import CliRunner

    from assay.cli import app

    runner = CliRunner()
    env = {"ASSAY_WORKSPACE": str(ws.root)}
    assert runner.invoke(app, ["provenance", "keygen"], env=env).exit_code == 0
    src = _source(tmp_path, 96, 2)
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"\x89PNG broken")
    res = runner.invoke(app, ["provenance", "stamp", str(src), str(bad), "--out", str(tmp_path / "o"), "--json",
                              "--format", "webp"], env=env)
    assert res.exit_code == 1  # one file failed, the other was stamped
    rows = json.loads(res.stdout)
    assert rows[0]["out"].endswith("src2.webp") and rows[0]["labels"] == "visible,watermark,xmp,c2pa"
    assert rows[1]["out"] is None and rows[1]["note"].startswith("error:")
    res = runner.invoke(app, ["provenance", "verify", str(tmp_path / "o"), "--format", "json"], env=env)
    assert res.exit_code == 0, res.output
    assert len(json.loads(res.stdout)) == 1  # a folder is expanded to its images
    report = json.loads(res.stdout)[0]
    assert report["checks"]["c2pa_trusted"]["status"] == "pass"  # the workspace dev CA is trusted by default
    res = runner.invoke(app, ["provenance", "lookup", rows[0]["content_id"], "--json"], env=env)
    assert res.exit_code == 0 and json.loads(res.stdout)[0]["id"] == rows[0]["record"]
    assert runner.invoke(app, ["provenance", "lookup", "00000000"], env=env).exit_code == 1
    res = runner.invoke(app, ["provenance", "verify", str(src), "--require", "c2pa", "--format", "json"], env=env)
    assert res.exit_code == 1
    assert json.loads(res.stdout)[0]["checks"]["c2pa_manifest"]["reason"].startswith("required c2pa label missing")


def test_cli_verify_leads_with_one_plain_line_per_file_and_details_on_request(tmp_path, ws) -> None:
    from typer.testing import CliRunner

    from assay.cli import app

    runner = CliRunner()
    env = {"ASSAY_WORKSPACE": str(ws.root)}
    assert runner.invoke(app, ["provenance", "keygen"], env=env).exit_code == 0
    src = _source(tmp_path, 128, 3)
    assert runner.invoke(app, ["provenance", "stamp", str(src), "--out", str(tmp_path / "o")], env=env).exit_code == 0
    stamped = tmp_path / "o" / "src3.png"
    resaved = tmp_path / "resaved.jpg"
    Image.open(stamped).convert("RGB").save(resaved, quality=95)
    files = [str(stamped), str(resaved), str(src), str(tmp_path / "missing.png")]
    res = runner.invoke(app, ["provenance", "verify", *files], env=env)
    lines = res.stdout.strip().splitlines()
    assert len(lines) == 4, res.stdout  # one line per file
    assert lines[0].startswith(f"{stamped}: ok - AI-generated, signed by assay signer (trusted)")
    assert "record prov-" in lines[1] and "found through the watermark" in lines[1]
    assert lines[2].startswith(f"{src}: unlabelled")
    assert lines[3] == f"{tmp_path / 'missing.png'}: unreadable - no such file or directory"
    assert "--detail" in res.stderr and res.exit_code == 1
    for word in ("decoded id", "ssgrid", "c2pa_"):
        assert word not in res.stdout
    detail = runner.invoke(app, ["provenance", "verify", str(stamped), str(src), "--detail"], env=env,
                           terminal_width=400)
    assert detail.exit_code == 0, detail.output
    assert "invisible watermark read: content id" in detail.stdout and "GB 45438 integrity code" in detail.stdout
    assert "China's implicit label, carried in XMP as the TC260:AIGC entry" in detail.stdout
    assert detail.stdout.count("c2pa_data_hash") == 2 and "pixels unchanged since signing" in detail.stdout
    res = runner.invoke(app, ["provenance", "verify", str(resaved), "--require", "c2pa"], env=env)
    assert res.exit_code == 1 and res.stdout.startswith(f"{resaved}: FAILED - ")
    assert "C2PA manifest: required c2pa label missing" in res.stdout


def test_demo_finds_the_stripped_32px_sample_through_its_watermark(ws, identity, tmp_path, capsys) -> None:
    from assay.demo import provenance as demo

    stamper = make_birth_stamper(ws, signer=identity)
    files = []
    for i in range(3):
        data, _ = stamper(smooth_image(32, 20 + i), "png", {"family": "dcgan", "checkpoint_sha256": "d" * 64,
                                                            "seed": 1, "latent_index": i})
        files.append(tmp_path / f"s{i}.png")
        files[-1].write_bytes(data)
    demo.run(ws, files)
    text = capsys.readouterr().out
    record = verify_file(files[0], ws)["record"]["id"]
    assert f"record {record} found through the watermark" in text
    assert (ws.root / "provenance-demo" / "s0.resaved.png").is_file()


def test_verify_says_a_declared_watermark_was_expected_but_not_found(tmp_path, trust) -> None:
    from PIL import PngImagePlugin

    from assay.provenance import implicit

    # the XMP a stamp writes when its watermark read back (a stamp whose watermark does not read back
    # declares none), over other pixels that carry no watermark, with no manifest
    packet = implicit.build_xmp(implicit.label_fields("assay-test", "forge", "1", "2026-01-01T00:00:00Z", "cid-1",
                                                      "trainedAlgorithmicMedia", watermark="ssgrid"))
    assert implicit.parse_xmp(packet)["watermark"] == "ssgrid"
    info = PngImagePlugin.PngInfo()
    info.add_itxt(implicit.PNG_XMP_KEY, packet)
    swapped = tmp_path / "swapped.png"  # other pixels (no watermark), the stamped XMP kept, the manifest dropped
    Image.fromarray(smooth_image(200, 7)).save(swapped, pnginfo=info)
    alone = verify_file(swapped, None, trust)
    check = alone["checks"]["watermark"]
    assert check["status"] == "fail" and "a watermark was expected (the XMP says one was embedded)" in check["reason"]
    assert not alone["ok"]
    Image.fromarray(smooth_image(200, 7)).save(tmp_path / "plain.png")
    assert verify_file(tmp_path / "plain.png", None, trust)["checks"]["watermark"]["status"] == "absent"
