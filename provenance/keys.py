"""Signing identities: a local development CA and ES256 signer, user chains and keys, callbacks.

The private key is read from its file only when a signer is made and is never logged,
printed or written anywhere else.
"""

from __future__ import annotations

import datetime
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from assay.core.errors import AssayError
from assay.core.fileio import atomic_path, atomic_write_bytes

KEY_FILE = "signer.key"
CHAIN_FILE = "signer-chain.pem"
CA_FILE = "dev-ca.pem"
CA_KEY_FILE = "dev-ca.key"


def default_keys_dir(ws) -> Path:
    """Where keygen writes by default: ``<workspace>/keys``."""
    return Path(ws.root) / "keys"


def workspace_trust_anchors(ws) -> str | None:
    """PEM of the workspace's development CA when keygen has made one, else None."""
    ca = default_keys_dir(ws) / CA_FILE
    return ca.read_text() if ca.is_file() else None


class SigningError(AssayError):
    """Signing cannot go ahead; the message is a one-line reason (never key material)."""


@dataclass
class SigningIdentity:
    """What signs a manifest: a PEM chain (leaf first) and either a PEM key file or a callback.

    ``callback`` takes the bytes to sign and returns an ES256 signature (DER or raw r||s),
    so an HSM or cloud KMS can sign without the key ever reaching this process.
    ``tsa_url`` is an RFC 3161 timestamp authority; signing fails when it cannot be reached.
    """

    chain_pem: bytes
    key_path: Path | None = None
    callback: Callable[[bytes], bytes] | None = None
    tsa_url: str | None = None

    @classmethod
    def from_files(cls, chain: str | Path, key: str | Path, tsa_url: str | None = None) -> "SigningIdentity":
        chain_path = Path(chain)
        if not chain_path.is_file():
            raise SigningError(f"certificate chain not found: {chain_path}")
        if not Path(key).is_file():
            raise SigningError(f"private key file not found: {key}")
        return cls(chain_path.read_bytes(), Path(key), None, tsa_url)

    @classmethod
    def from_dir(cls, keys_dir: str | Path, tsa_url: str | None = None) -> "SigningIdentity":
        """The identity ``keygen`` wrote into ``keys_dir``."""
        d = Path(keys_dir)
        if not (d / CHAIN_FILE).is_file():
            raise SigningError(f"no signing certificate in {d}: run `assay provenance keygen` or pass --cert/--key")
        return cls.from_files(d / CHAIN_FILE, d / KEY_FILE, tsa_url)

    def check(self) -> None:
        """Raise :class:`SigningError` when the chain is broken, the leaf unfit or the key does not match it."""
        from cryptography import x509
        from cryptography.exceptions import InvalidSignature
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import ec

        try:
            certs = x509.load_pem_x509_certificates(self.chain_pem)
        except ValueError:
            raise SigningError("certificate chain is not valid PEM") from None
        leaf = certs[0]
        now = datetime.datetime.now(datetime.timezone.utc)
        for cert, issuer in zip(certs, certs[1:]):
            try:
                cert.verify_directly_issued_by(issuer)
            except (ValueError, TypeError, InvalidSignature):
                raise SigningError(f"broken certificate chain: {cert.subject.rfc4514_string()} "
                                   f"is not signed by {issuer.subject.rfc4514_string()}") from None
        for cert in certs:
            if not cert.not_valid_before_utc <= now <= cert.not_valid_after_utc:
                raise SigningError(f"certificate {cert.subject.rfc4514_string()} is outside its validity period")
        if leaf.issuer == leaf.subject:
            raise SigningError("the signing certificate is self-signed; C2PA needs a leaf issued by a CA")
        try:
            if leaf.extensions.get_extension_for_class(x509.BasicConstraints).value.ca:
                raise SigningError("the signing certificate is a CA certificate; C2PA needs an end-entity leaf")
        except x509.ExtensionNotFound:
            pass
        if not isinstance(leaf.public_key(), ec.EllipticCurvePublicKey):
            raise SigningError("the signing certificate's key is not an EC (ES256) key")
        if self.key_path is not None:
            try:
                key = serialization.load_pem_private_key(self.key_path.read_bytes(), password=None)
            except (ValueError, TypeError):
                raise SigningError(f"private key {self.key_path} is not an unencrypted PEM key") from None
            if key.public_key().public_numbers() != leaf.public_key().public_numbers():
                raise SigningError("wrong key: the private key does not match the signing certificate")
        elif self.callback is None:
            raise SigningError("a signing identity needs a key file or a signing callback")

    def signer(self):
        """A ``c2pa.Signer`` for this identity (checked first)."""
        import c2pa

        self.check()
        if self.tsa_url and not self.tsa_url.startswith(("http://", "https://")):
            raise SigningError(f"timestamp authority URL must be http(s): {self.tsa_url}")
        try:
            if self.callback is not None:
                return c2pa.Signer.from_callback(self.callback, c2pa.C2paSigningAlg.ES256,
                                                 self.chain_pem.decode(), self.tsa_url)
            info = c2pa.C2paSignerInfo(c2pa.C2paSigningAlg.ES256, self.chain_pem,
                                       self.key_path.read_bytes(), self.tsa_url)  # type: ignore[union-attr]
            return c2pa.Signer.from_info(info)
        except c2pa.C2paError as exc:
            raise SigningError(f"cannot make a signer: {str(exc).splitlines()[0]}") from None


def ensure_keys(ws, tsa_url: str | None = None) -> SigningIdentity:
    """The workspace's signing identity, making development keys with :func:`keygen` when there are none."""
    d = default_keys_dir(ws)
    if not (d / CHAIN_FILE).is_file():
        import sys

        keygen(d)
        print(f"made development signing keys in {d} (replace them with your own for production)", file=sys.stderr)
    return SigningIdentity.from_dir(d, tsa_url)


def _name(common_name: str, organization: str):
    from cryptography import x509
    from cryptography.x509.oid import NameOID

    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization)])


def _key_usage(**on: bool):
    from cryptography import x509

    names = ["digital_signature", "content_commitment", "key_encipherment", "data_encipherment",
             "key_agreement", "key_cert_sign", "crl_sign", "encipher_only", "decipher_only"]
    return x509.KeyUsage(**{n: on.get(n, False) for n in names})


def _write_private_key(path: Path, key) -> None:
    from cryptography.hazmat.primitives import serialization

    data = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())
    with atomic_path(path) as tmp:
        os.chmod(tmp, 0o600)
        tmp.write_bytes(data)
    os.chmod(path, 0o600)


def keygen(keys_dir: str | Path, organization: str = "assay development", common_name: str = "assay signer",
           days: int = 365, force: bool = False) -> dict[str, str]:
    """Write a development CA and an ES256 signing certificate issued by it into ``keys_dir``.

    The leaf is an end entity (not a CA) with digitalSignature and the emailProtection
    extended key usage, and carries an Organization in its subject. Key files get mode 0600.
    Returns the paths written (never key material).
    """
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID

    d = Path(keys_dir)
    if (d / KEY_FILE).exists() and not force:
        raise SigningError(f"{d / KEY_FILE} already exists (use --force to replace it)")
    d.mkdir(parents=True, exist_ok=True)
    os.chmod(d, 0o700)
    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = _name(f"{organization} development CA", organization)
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number())
          .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=days * 5))
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .add_extension(_key_usage(key_cert_sign=True, crl_sign=True), critical=True)
          .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = (x509.CertificateBuilder().subject_name(_name(common_name, organization)).issuer_name(ca_name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=days))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(_key_usage(digital_signature=True), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))
    pem = serialization.Encoding.PEM
    _write_private_key(d / CA_KEY_FILE, ca_key)
    _write_private_key(d / KEY_FILE, key)
    atomic_write_bytes(d / CA_FILE, ca.public_bytes(pem))
    atomic_write_bytes(d / CHAIN_FILE, leaf.public_bytes(pem) + ca.public_bytes(pem))
    return {"ca": str(d / CA_FILE), "chain": str(d / CHAIN_FILE), "key": str(d / KEY_FILE),
            "ca_key": str(d / CA_KEY_FILE)}
