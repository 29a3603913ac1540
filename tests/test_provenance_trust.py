"""Provenance that can be trusted: the keyed watermark and the record comparison, trust states in scan,
timestamps from a loopback TSA, key rotation, identity fields, ReservedCode1, watermark read-back,
file modes, the C2PA certificate profile, and pending records of interrupted batches."""

from __future__ import annotations

import datetime
import hashlib
import io
import json
import os
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image, PngImagePlugin
from typer.testing import CliRunner

from assay.cli import app
from assay.core.imageio import decode, save
from assay.core.imagesets import ImageSetWriter
from assay.detect.scan_output import FORMATS as SCAN_FORMATS
from assay.detect.signals import provenance_signals
from assay.forge.config import make_config
from assay.forge.sampling import sample
from assay.forge.training import train
from assay.provenance import implicit, manifest, watermark
from assay.provenance.keys.secret import SECRET_FILE, workspace_secret
from assay.provenance.keys.signing import (
    SigningIdentity,
    default_keys_dir,
    keygen,
    workspace_trust_anchors,
)
from assay.provenance.stamp.files import stamp_file
from assay.provenance.stamp.options import StampOptions
from assay.provenance.stamp.session import Stamper as make_birth_stamper
from assay.provenance.verify.report import verify_file
from tests.helpers.faces import tiny_faces
from tests.helpers.images import smooth_image
from tests.helpers.tsa import loopback_tsa

runner = CliRunner()


def _env(ws) -> dict[str, str]:
    return {"ASSAY_WORKSPACE": str(ws.root)}


def _source(tmp_path: Path, seed: int = 1, size: int = 128) -> Path:
    path = tmp_path / f"src{seed}.png"
    save(smooth_image(size, seed), path)
    return path


@pytest.fixture
def signed(ws):
    """A workspace with keys (and so a secret) and its signing identity."""
    keygen(default_keys_dir(ws))
    return ws, SigningIdentity.from_dir(default_keys_dir(ws))


def test_a_forged_watermark_does_not_verify_as_the_record(signed, tmp_path) -> None:
    ws, identity = signed
    result, record_id = stamp_file(_source(tmp_path), tmp_path / "out.png", identity, ws=ws)
    cid = result.content_id
    photo = smooth_image(128, 99)  # someone else's picture
    # without the workspace key: the public key's watermark does not decode here, so no record is found
    forged = tmp_path / "forged.png"
    save(watermark.embed_id(photo, cid), forged)
    report = verify_file(forged, ws, workspace_trust_anchors(ws))
    assert report["record"] is None and report["watermark"]["status"] == "absent"
    assert report["checks"]["soft_binding"]["status"] == "absent"
    # with the key: the id decodes and finds the record, but the record is not this picture
    keyed = tmp_path / "keyed.png"
    save(watermark.embed_id(photo, cid, key=workspace_secret(ws).watermark_key), keyed)
    report = verify_file(keyed, ws, workspace_trust_anchors(ws))
    assert report["found_via"] == "watermark" and report["record"]["id"] == record_id
    assert report["checks"]["record_match"]["status"] == "fail" and not report["ok"]
    assert "copied onto another picture" in report["checks"]["record_match"]["reason"]
    # the stamped file itself, re-saved as JPEG (manifest and XMP gone): still matches its record
    copy = tmp_path / "copy.jpg"
    Image.open(tmp_path / "out.png").convert("RGB").save(copy, quality=90)
    report = verify_file(copy, ws, workspace_trust_anchors(ws))
    assert report["found_via"] == "watermark" and report["checks"]["record_match"]["status"] == "pass"
    assert report["ok"]


def test_the_secret_is_0600_and_in_no_record_or_manifest(signed, tmp_path) -> None:
    ws, identity = signed
    path = default_keys_dir(ws) / SECRET_FILE
    assert path.stat().st_mode & 0o777 == 0o600
    secret = path.read_bytes()
    out = tmp_path / "out.png"
    _, record_id = stamp_file(_source(tmp_path), out, identity, ws=ws)
    stored = json.dumps(ws.catalog.get(record_id).to_dict())
    assert secret.hex() not in stored and secret.hex() not in out.read_bytes().hex()
    assert "key" not in repr(workspace_secret(ws))
    keygen(default_keys_dir(ws), force=True)
    assert path.read_bytes() == secret  # rotation keeps the watermark key


def test_scan_shows_the_trust_state_in_every_format(signed, tmp_path) -> None:
    ws, identity = signed
    trusted, untrusted, unsigned = tmp_path / "t.png", tmp_path / "u.png", tmp_path / "n.png"
    stamp_file(_source(tmp_path, 1), trusted, identity, ws=ws)
    keygen(tmp_path / "stranger")
    stamp_file(_source(tmp_path, 2), untrusted, SigningIdentity.from_dir(tmp_path / "stranger"), ws=ws)
    save(smooth_image(64, 3), unsigned)
    states = {p.name: provenance_signals(p, ws) for p in (trusted, untrusted, unsigned)}
    assert {k: v["c2pa_trust"] for k, v in states.items()} == {"t.png": "trusted", "u.png": "untrusted",
                                                                 "n.png": "absent"}
    assert states["u.png"]["c2pa_valid"] is True  # valid, so trust is what tells them apart
    for fmt in ("table", "csv", "json", "jsonl"):
        stream = io.StringIO()
        writer = SCAN_FORMATS.create(fmt, stream)
        writer.begin()
        writer.write({"status": "ok", "verdict": "real", "probability": 0.1, "path": str(untrusted),
                      "provenance": states["u.png"]})
        writer.end()
        assert "untrusted" in stream.getvalue(), fmt


def test_timestamp_from_a_loopback_tsa_is_present_and_verified(signed, tmp_path) -> None:
    ws, identity = signed
    with loopback_tsa() as tsa:
        stamped = SigningIdentity.from_dir(default_keys_dir(ws), tsa.url)
        assert stamped.timestamp_note() is None
        stamp_file(_source(tmp_path), tmp_path / "ts.png", stamped, ws=ws)
        assert len(tsa.requests) == 1
    anchors = workspace_trust_anchors(ws)
    report = verify_file(tmp_path / "ts.png", ws, anchors + tsa.ca_pem)
    check = report["checks"]["c2pa_timestamp"]
    assert check["status"] == "pass" and "trusted timestamp authority" in check["reason"]
    assert report["c2pa"]["signer"]["time"] and report["ok"]
    assert "not chain" in verify_file(tmp_path / "ts.png", ws, anchors)["checks"]["c2pa_timestamp"]["reason"]
    stamp_file(_source(tmp_path, 2), tmp_path / "plain.png", identity, ws=ws)
    plain = verify_file(tmp_path / "plain.png", ws, anchors)["checks"]["c2pa_timestamp"]
    assert plain["status"] == "absent" and "reads Invalid once it expires" in plain["reason"]


def test_stamp_without_a_tsa_says_so(ws, tmp_path) -> None:
    env = _env(ws)
    assert runner.invoke(app, ["provenance", "keygen"], env=env).exit_code == 0
    res = runner.invoke(app, ["provenance", "stamp", str(_source(tmp_path)), "--out", str(tmp_path / "o")], env=env)
    assert res.exit_code == 0 and "no timestamp authority configured" in res.stderr


def test_rotation_keeps_files_signed_before_trusted(ws, tmp_path) -> None:
    env = _env(ws)
    assert runner.invoke(app, ["provenance", "keygen"], env=env).exit_code == 0
    res = runner.invoke(app, ["provenance", "stamp", str(_source(tmp_path)), "--out", str(tmp_path / "o")], env=env)
    assert res.exit_code == 0
    res = runner.invoke(app, ["provenance", "keygen", "--force"], env=env)
    assert res.exit_code == 0 and "warning: keys rotated" in res.stderr
    assert len(list((default_keys_dir(ws) / "retired").glob("*.pem"))) == 1
    res = runner.invoke(app, ["provenance", "verify", str(tmp_path / "o"), "--format", "json"], env=env)
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)[0]["c2pa"]["trust"] == "trusted"


def test_identity_fields_are_settable_and_appear_in_xmp_and_manifest(signed, tmp_path) -> None:
    ws, _ = signed
    (ws.root / "provenance.json").write_text(json.dumps({"provider": "lab-42", "system_name": "facegen"}))
    res = runner.invoke(app, ["provenance", "stamp", str(_source(tmp_path)), "--out", str(tmp_path / "o"),
                              "--system-version", "2.1", "--json"], env=_env(ws))
    assert res.exit_code == 0, res.output
    data = (tmp_path / "o" / "src1.png").read_bytes()
    fields = implicit.parse_xmp(implicit.read_xmp(data))
    signed_copy = manifest.assertion(manifest.active_manifest(manifest.read_manifest(data, "png")),
                                     manifest.LABELS_ASSERTION)["implicit"]
    for found in (fields, signed_copy):
        assert found["sb942"]["Provider"] == "lab-42" and found["sb942"]["SystemName"] == "facegen"
        assert found["sb942"]["SystemVersion"] == "2.1" and found["gb45438"]["ContentProducer"] == "lab-42"
        gb = found["gb45438"]
        assert gb["ContentPropagator"] == gb["PropagateID"] == gb["ReservedCode2"] == ""
    stamper = make_birth_stamper(ws, labels=("xmp",))
    data, _ = stamper(smooth_image(64, 1), "png", {"family": "dcgan", "run_id": "run-x", "checkpoint_sha256": "ab" * 32,
                                                   "seed": 0, "latent_index": 0})
    sb = implicit.parse_xmp(implicit.read_xmp(data))["sb942"]
    assert sb["Provider"] == "lab-42" and sb["SystemName"] == "dcgan"
    assert sb["SystemVersion"] == "run run-x checkpoint " + "ab" * 8


def _resave_png(data: bytes, pixels: np.ndarray, xmp: bytes) -> bytes:
    info = PngImagePlugin.PngInfo()
    info.add_itxt(implicit.PNG_XMP_KEY, xmp.decode(), zip=False)
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, format="PNG", pnginfo=info)
    return buf.getvalue()


def test_reserved_code1_is_keyed_and_catches_tampering(signed, tmp_path) -> None:
    ws, _ = signed
    out = tmp_path / "x.png"
    stamp_file(_source(tmp_path), out, None, StampOptions(labels=("xmp",)), ws=ws)
    assert verify_file(out, ws)["checks"]["gb45438_integrity"]["status"] == "pass"
    assert verify_file(out)["checks"]["gb45438_integrity"]["status"] == "absent"  # no workspace, no key
    data = out.read_bytes()
    xmp = implicit.read_xmp(data)
    pixels = decode(data).copy()
    pixels[10:20, 10:20] = 255 - pixels[10:20, 10:20]
    tampered = tmp_path / "tampered.png"
    tampered.write_bytes(_resave_png(data, pixels, xmp))
    check = verify_file(tampered, ws)["checks"]["gb45438_integrity"]
    assert check["status"] == "fail" and "does not match" in check["reason"]
    gb = implicit.parse_xmp(xmp)["gb45438"]
    public = hashlib.sha256(f"{gb['ContentProducer']}\x1f{gb['ProduceID']}".encode()).hexdigest()[:32]
    assert len(gb["ReservedCode1"]) == 32 and gb["ReservedCode1"] != public  # not the old public digest
    relabelled = tmp_path / "relabelled.png"
    relabelled.write_bytes(_resave_png(data, decode(data), xmp.replace(b"assay", b"other")))
    assert verify_file(relabelled, ws)["checks"]["gb45438_integrity"]["status"] == "fail"


def test_a_watermark_that_does_not_read_back_is_not_reported_applied(signed, tmp_path) -> None:
    ws, identity = signed
    noise = tmp_path / "noise.png"
    save((np.random.default_rng(0).integers(0, 2, (64, 64, 1)) * 255).astype(np.uint8).repeat(3, 2), noise)
    result, _ = stamp_file(noise, tmp_path / "out.png", identity, ws=ws)
    assert "watermark" not in result.labels_applied and "does not decode" in result.labels_skipped["watermark"]
    assert result.record["watermark"]["status"] == "not_decodable"
    assert verify_file(tmp_path / "out.png", ws, workspace_trust_anchors(ws))["checks"]["watermark"]["status"] == "absent"


@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o077, 0o600)])
def test_outputs_follow_the_umask_and_keys_stay_0600(ws, tmp_path, umask, mode) -> None:
    old = os.umask(umask)
    try:
        keygen(default_keys_dir(ws))
        stamp_file(_source(tmp_path), tmp_path / "out.png", SigningIdentity.from_dir(default_keys_dir(ws)), ws=ws)
        sample_row = ImageSetWriter(ws, "samples", "modes").add_bytes(b"\x89PNG", {}, "a.png")
    finally:
        os.umask(old)
    assert (tmp_path / "out.png").stat().st_mode & 0o777 == mode
    assert (ws.staging_dir("samples", "modes") / sample_row["file"]).stat().st_mode & 0o777 == mode
    assert (default_keys_dir(ws) / "dev-ca.pem").stat().st_mode & 0o777 == mode
    for secret in ("signer.key", "dev-ca.key", SECRET_FILE):
        assert (default_keys_dir(ws) / secret).stat().st_mode & 0o777 == 0o600


def _leaf_without_aki(folder: Path) -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    keygen(folder)
    ca_key = serialization.load_pem_private_key((folder / "dev-ca.key").read_bytes(), None)
    ca = x509.load_pem_x509_certificate((folder / "dev-ca.pem").read_bytes())
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.timezone.utc)
    leaf = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "no aki"),
                                                              x509.NameAttribute(NameOID.ORGANIZATION_NAME, "t")]))
            .issuer_name(ca.subject).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=2))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(True, False, False, False, False, False, False, False, False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False)
            .sign(ca_key, hashes.SHA256()))
    pem = serialization.Encoding.PEM
    (folder / "leaf.pem").write_bytes(leaf.public_bytes(pem) + ca.public_bytes(pem))
    (folder / "leaf.key").write_bytes(key.private_bytes(pem, serialization.PrivateFormat.PKCS8,
                                                        serialization.NoEncryption()))
    return folder / "leaf.pem", folder / "leaf.key"


def test_a_certificate_c2pa_would_refuse_is_refused_before_the_first_file(ws, tmp_path) -> None:
    chain, key = _leaf_without_aki(tmp_path / "own")
    res = runner.invoke(app, ["provenance", "stamp", str(_source(tmp_path)), "--out", str(tmp_path / "o"),
                              "--cert", str(chain), "--key", str(key)], env=_env(ws))
    assert res.exit_code == 2 and "no Authority Key Identifier" in res.output
    assert not (tmp_path / "o").exists() and ws.catalog.list("provenance") == []


def test_a_rerun_skips_what_was_stamped_and_overwrite_retires_it(signed, tmp_path) -> None:
    ws, _ = signed
    env, out = _env(ws), tmp_path / "o"
    args = ["provenance", "stamp", str(_source(tmp_path)), "--out", str(out), "--json"]
    first = json.loads(runner.invoke(app, args, env=env).stdout)[0]
    assert ws.catalog.get(first["record"]).status == "ready"
    before = (out / "src1.png").read_bytes()
    again = json.loads(runner.invoke(app, args, env=env).stdout)[0]
    assert again["note"].startswith("skipped") and again["record"] == first["record"]
    assert (out / "src1.png").read_bytes() == before
    replaced = json.loads(runner.invoke(app, args + ["--overwrite"], env=env).stdout)[0]
    assert ws.catalog.get(first["record"]).status == "retired"
    assert ws.catalog.get(replaced["record"]).status == "ready" and replaced["record"] != first["record"]
    (out / "src1.png").write_bytes(b"someone else's file")
    res = runner.invoke(app, args, env=env)
    assert res.exit_code == 1 and "--overwrite replaces it" in json.loads(res.stdout)[0]["note"]
    assert (out / "src1.png").read_bytes() == b"someone else's file"


def test_an_interrupted_stamp_leaves_a_pending_record_that_a_rerun_settles(signed, tmp_path, monkeypatch) -> None:
    import assay.provenance.stamp.files as stamp_module
    ws, identity = signed
    out = tmp_path / "out.png"

    def killed(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(stamp_module, "atomic_write_bytes", killed)
    with pytest.raises(KeyboardInterrupt):
        stamp_file(_source(tmp_path), out, identity, ws=ws)
    monkeypatch.undo()
    (orphan,) = ws.catalog.list("provenance")
    assert orphan.status == "pending" and not out.exists()
    result, record_id = stamp_file(_source(tmp_path), out, identity, ws=ws)
    report = verify_file(out, ws, workspace_trust_anchors(ws))
    assert report["ok"] and report["record"]["id"] == record_id != orphan.id


def test_an_interrupted_sample_leaves_pending_records(ws) -> None:
    torch.set_num_threads(1)
    ds = tiny_faces(ws)
    run = train(ws, ds, make_config("dcgan", 32, steps=2, batch=8, g_ch=4, d_ch=4, z_dim=16, checkpoint_every=2,
                                    sample_every=2), progress=False)
    birth = make_birth_stamper(ws, labels=("xmp",))
    calls = []

    def interrupted(pixels, fmt, meta):
        if len(calls) == 2:
            raise KeyboardInterrupt
        calls.append(meta["latent_index"])
        return birth(pixels, fmt, meta)

    with pytest.raises(KeyboardInterrupt):
        sample(ws, run, 4, stamper=interrupted, progress=False)
    assert [r.status for r in ws.catalog.list("provenance")] == ["pending", "pending"]
    assert ws.catalog.list("samples") == []
    sample(ws, run, 3, labels=("xmp",), progress=False)
    assert [r.status for r in ws.catalog.list("provenance")] == ["pending", "pending", "ready", "ready", "ready"]
