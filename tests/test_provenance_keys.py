"""Keys and certificates: keygen's properties, bad identities, TSA failure, key secrecy."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from assay.provenance.keys.signing import SigningError, SigningIdentity, keygen
from assay.provenance.stamp.files import stamp_file
from tests.helpers.images import smooth_image


@pytest.fixture
def keys(tmp_path: Path) -> dict[str, str]:
    return keygen(tmp_path / "keys")


def test_keygen_makes_a_ca_issued_es256_end_entity(keys: dict[str, str]) -> None:
    leaf, ca = x509.load_pem_x509_certificates(Path(keys["chain"]).read_bytes())
    assert isinstance(leaf.public_key(), ec.EllipticCurvePublicKey)
    assert leaf.public_key().curve.name == "secp256r1"
    assert leaf.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is False
    assert leaf.extensions.get_extension_for_class(x509.KeyUsage).value.digital_signature
    eku = leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert ExtendedKeyUsageOID.EMAIL_PROTECTION in list(eku)
    assert leaf.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)
    assert leaf.issuer == ca.subject and leaf.issuer != leaf.subject
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is True
    for name in ("key", "ca_key"):
        assert stat.S_IMODE(Path(keys[name]).stat().st_mode) == 0o600
    with pytest.raises(SigningError, match="already exists"):
        keygen(Path(keys["key"]).parent)


def test_wrong_key_is_refused(tmp_path: Path, keys: dict[str, str]) -> None:
    other = keygen(tmp_path / "other")
    identity = SigningIdentity.from_files(keys["chain"], other["key"])
    with pytest.raises(SigningError, match="wrong key"):
        identity.signer()


def test_broken_chain_is_refused(tmp_path: Path, keys: dict[str, str]) -> None:
    other = keygen(tmp_path / "other")
    leaf = Path(keys["chain"]).read_bytes().split(b"-----END CERTIFICATE-----")[0] + b"-----END CERTIFICATE-----\n"
    broken = tmp_path / "broken.pem"
    broken.write_bytes(leaf + Path(other["ca"]).read_bytes())
    with pytest.raises(SigningError, match="broken certificate chain"):
        SigningIdentity.from_files(broken, keys["key"]).check()
    with pytest.raises(SigningError, match="self-signed"):
        SigningIdentity.from_files(keys["ca"], keys["ca_key"]).check()
    with pytest.raises(SigningError, match="no signing certificate"):
        SigningIdentity.from_dir(tmp_path / "nowhere")


def test_unreachable_tsa_fails_and_writes_nothing(tmp_path: Path, keys: dict[str, str]) -> None:
    from assay.core.imageio import save

    src = tmp_path / "in.png"
    save(smooth_image(96, 0), src)
    out = tmp_path / "out" / "in.png"
    identity = SigningIdentity.from_files(keys["chain"], keys["key"], tsa_url="http://127.0.0.1:9/tsa")
    with pytest.raises(SigningError, match="timestamp authority"):
        stamp_file(src, out, identity)
    assert not out.exists()
    assert not (out.parent.exists() and any(out.parent.iterdir()))  # no temp file left either


def test_private_key_reaches_no_output(tmp_path: Path, keys: dict[str, str], ws) -> None:
    from cryptography.hazmat.primitives import serialization
    from typer.testing import CliRunner

    from assay.cli import app
    from assay.core.imageio import save

    key_pem = Path(keys["key"]).read_bytes()
    key = serialization.load_pem_private_key(key_pem, None)
    scalar = key.private_numbers().private_value.to_bytes(32, "big")
    body = b"".join(key_pem.splitlines()[1:-1])
    src = tmp_path / "face.png"
    save(smooth_image(128, 5), src)
    runner = CliRunner()
    env = {"ASSAY_WORKSPACE": str(ws.root)}
    res_stamp = runner.invoke(app, ["provenance", "stamp", str(src), "--out", str(tmp_path / "o"),
                                    "--cert", keys["chain"], "--key", keys["key"]], env=env)
    assert res_stamp.exit_code == 0, res_stamp.output
    res_verify = runner.invoke(app, ["provenance", "verify", str(tmp_path / "o" / "face.png"), "--format", "json",
                                     "--trust", keys["ca"]], env=env)
    assert res_verify.exit_code == 0, res_verify.output
    stamped = (tmp_path / "o" / "face.png").read_bytes()
    haystacks = [stamped, res_stamp.output.encode(), res_verify.output.encode(),
                 (ws.root / "catalog.sqlite").read_bytes()]
    for extra in ws.root.glob("catalog.sqlite*"):
        haystacks.append(extra.read_bytes())
    for hay in haystacks:
        assert scalar not in hay and body not in hay and b"PRIVATE KEY" not in hay
    assert b"assay signer" in stamped  # the certificate (public) is embedded; the key is not


def test_callback_signer_signs_without_a_key_file(keys: dict[str, str]) -> None:
    from cryptography.hazmat.primitives import hashes, serialization

    from assay.provenance.stamp.image import stamp_pixels
    from assay.provenance.stamp.options import StampOptions

    key = serialization.load_pem_private_key(Path(keys["key"]).read_bytes(), None)
    calls = []

    def kms_sign(data: bytes) -> bytes:
        calls.append(len(data))
        return key.sign(data, ec.ECDSA(hashes.SHA256()))

    identity = SigningIdentity(Path(keys["chain"]).read_bytes(), callback=kms_sign)
    result = stamp_pixels(smooth_image(96, 1), "png", identity, StampOptions(labels=("c2pa",)))
    assert calls and result.labels_applied == ["c2pa"]
    from assay.provenance.manifest import read_manifest
    store = read_manifest(result.data, "png", Path(keys["ca"]).read_text())
    assert store["validation_state"] == "Trusted"
