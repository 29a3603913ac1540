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

from assay.core.fileio import atomic_write_bytes
from assay.provenance.keys.keyfiles import SECRET_MODE, SigningError, default_keys_dir
from assay.provenance.keys.secret import SECRET_FILE, make_secret

KEY_FILE = "signer.key"
CHAIN_FILE = "signer-chain.pem"
CA_FILE = "dev-ca.pem"
CA_KEY_FILE = "dev-ca.key"
#: where ``keygen --force`` keeps the CAs it replaced: still trust anchors for files signed before
RETIRED_DIR = "retired"
def trust_anchor_files(keys_dir: Path) -> list[Path]:
    """The development CA in ``keys_dir`` and the CAs rotation retired, current first."""
    d = Path(keys_dir)
    return [p for p in [d / CA_FILE] + sorted((d / RETIRED_DIR).glob("*.pem")) if p.is_file()]


def workspace_trust_anchors(ws) -> str | None:
    """PEM of the workspace's development CA and of every CA ``keygen --force`` retired, else None."""
    return "".join(p.read_text() for p in trust_anchor_files(default_keys_dir(ws))) or None


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
        c2pa_profile(leaf)
        if self.key_path is not None:
            try:
                key = serialization.load_pem_private_key(self.key_path.read_bytes(), password=None)
            except (ValueError, TypeError):
                raise SigningError(f"private key {self.key_path} is not an unencrypted PEM key") from None
            if key.public_key().public_numbers() != leaf.public_key().public_numbers():
                raise SigningError("wrong key: the private key does not match the signing certificate")
        elif self.callback is None:
            raise SigningError("a signing identity needs a key file or a signing callback")

    def timestamp_note(self) -> str | None:
        """Without a timestamp authority, the one-line warning of what that costs (None with one)."""
        from cryptography import x509

        if self.tsa_url:
            return None
        expiry = x509.load_pem_x509_certificates(self.chain_pem)[0].not_valid_after_utc.date().isoformat()
        return ("no timestamp authority configured (tsa_url in the workspace's provenance.json, or --tsa-url): "
                f"the manifests carry no trusted time and read Invalid once the signing certificate expires ({expiry})")

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


#: extended key usages C2PA accepts on a signing certificate (C2PA 2.x, "certificate profile")
C2PA_EKUS = {"1.3.6.1.5.5.7.3.4": "emailProtection", "1.3.6.1.5.5.7.3.36": "documentSigning",
             "1.3.6.1.5.5.7.3.8": "timeStamping", "1.3.6.1.5.5.7.3.9": "OCSPSigning",
             "1.3.6.1.4.1.62558.2.1": "c2pa claimSigning"}


def c2pa_profile(leaf) -> None:
    """Raise :class:`SigningError` when the leaf lacks what c2pa demands of a signer (it would refuse every file):
    an Authority Key Identifier, the digitalSignature key usage, and one of :data:`C2PA_EKUS`."""
    from cryptography import x509

    def extension(cls):
        try:
            return leaf.extensions.get_extension_for_class(cls).value
        except x509.ExtensionNotFound:
            return None

    if extension(x509.AuthorityKeyIdentifier) is None:
        raise SigningError("the signing certificate has no Authority Key Identifier, which C2PA requires")
    usage = extension(x509.KeyUsage)
    if usage is None or not usage.digital_signature:
        raise SigningError("the signing certificate lacks the digitalSignature key usage, which C2PA requires")
    ekus = {e.dotted_string for e in extension(x509.ExtendedKeyUsage) or ()}
    if not ekus & C2PA_EKUS.keys():
        raise SigningError("the signing certificate's extended key usage has none of "
                           f"{', '.join(C2PA_EKUS.values())}, one of which C2PA requires")


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
    atomic_write_bytes(path, data, SECRET_MODE)


def keygen(keys_dir: str | Path, organization: str = "assay development", common_name: str = "assay signer",
           days: int = 365, force: bool = False) -> dict[str, str]:
    """Write a development CA and an ES256 signing certificate issued by it into ``keys_dir``.

    The leaf is an end entity (not a CA) with digitalSignature and the emailProtection
    extended key usage, and carries an Organization in its subject. Key files get mode 0600.
    With ``force`` the CA being replaced is kept under ``retired/`` (``retired_ca`` in the
    result), so files it signed still verify as trusted. The workspace secret
    (:mod:`provenance.keys.secret`) is made when missing and never replaced.
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
    retired = _retire_ca(d)
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
    make_secret(d)
    paths = {"ca": str(d / CA_FILE), "chain": str(d / CHAIN_FILE), "key": str(d / KEY_FILE),
             "ca_key": str(d / CA_KEY_FILE), "secret": str(d / SECRET_FILE)}
    return {**paths, "retired_ca": str(retired)} if retired else paths


def _retire_ca(d: Path) -> Path | None:
    """Keep the CA about to be replaced under ``retired/`` (a trust anchor for what it signed); its path, or None."""
    from cryptography import x509

    ca = d / CA_FILE
    if not ca.is_file():
        return None
    serial = x509.load_pem_x509_certificate(ca.read_bytes()).serial_number
    target = d / RETIRED_DIR / f"dev-ca-{serial:x}.pem"
    atomic_write_bytes(target, ca.read_bytes())
    return target
