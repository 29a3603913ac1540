"""A real RFC 3161 timestamp authority on the loopback for tests: ``openssl ts -reply`` behind an HTTP handler.

``with loopback_tsa(tmp_path) as tsa:`` gives ``tsa.url`` (http://127.0.0.1:PORT/) and
``tsa.ca_pem`` (the TSA's root, to add to the trust anchors); the server thread stops at the end.
"""

from __future__ import annotations

import contextlib
import datetime
import subprocess
import tempfile
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Iterator

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CONFIG = """[ tsa ]
default_tsa = tsa_config1
[ tsa_config1 ]
serial = {dir}/serial
crypto_device = builtin
signer_digest = sha256
default_policy = 1.2.3.4.1
digests = sha256, sha384, sha512
accuracy = secs:1
ordering = yes
tsa_name = no
ess_cert_id_chain = no
ess_cert_id_alg = sha256
"""


@dataclass
class LoopbackTsa:
    url: str
    ca_pem: str
    requests: list[int]  #: size of each request answered


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn), x509.NameAttribute(NameOID.ORGANIZATION_NAME, "tsa test")])


def _usage(**on: bool) -> x509.KeyUsage:
    names = ("digital_signature", "content_commitment", "key_encipherment", "data_encipherment", "key_agreement",
             "key_cert_sign", "crl_sign", "encipher_only", "decipher_only")
    return x509.KeyUsage(**{n: on.get(n, False) for n in names})


def _certs(folder: Path) -> str:
    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca = (x509.CertificateBuilder().subject_name(_name("test TSA root")).issuer_name(_name("test TSA root"))
          .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=30))
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .add_extension(_usage(key_cert_sign=True, crl_sign=True), critical=True)
          .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
          .sign(ca_key, hashes.SHA256()))
    leaf = (x509.CertificateBuilder().subject_name(_name("test TSA")).issuer_name(ca.subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(_usage(digital_signature=True), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))
    pem = serialization.Encoding.PEM
    (folder / "tsa.key").write_bytes(key.private_bytes(pem, serialization.PrivateFormat.PKCS8,
                                                       serialization.NoEncryption()))
    (folder / "tsa.pem").write_bytes(leaf.public_bytes(pem))
    (folder / "ca.pem").write_bytes(ca.public_bytes(pem))
    (folder / "serial").write_text("01\n")
    (folder / "tsa.cnf").write_text(CONFIG.format(dir=folder))
    return ca.public_bytes(pem).decode()


@contextlib.contextmanager
def loopback_tsa() -> Iterator[LoopbackTsa]:
    """Start the responder on 127.0.0.1 (a free port); each reply is bounded to 30 s; stopped on exit."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        ca_pem = _certs(folder)
        answered: list[int] = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                query = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with tempfile.TemporaryDirectory(dir=folder) as work:
                    (Path(work) / "q.tsq").write_bytes(query)
                    done = subprocess.run(["openssl", "ts", "-reply", "-config", str(folder / "tsa.cnf"),
                                           "-queryfile", f"{work}/q.tsq", "-inkey", str(folder / "tsa.key"),
                                           "-signer", str(folder / "tsa.pem"), "-chain", str(folder / "ca.pem"),
                                           "-out", f"{work}/r.tsr"], capture_output=True, timeout=30)
                    reply = (Path(work) / "r.tsr").read_bytes() if done.returncode == 0 else b""
                answered.append(len(query))
                self.send_response(200 if reply else 500)
                self.send_header("Content-Type", "application/timestamp-reply")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args: object) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield LoopbackTsa(f"http://127.0.0.1:{server.server_address[1]}/", ca_pem, answered)
        finally:
            server.shutdown()
            server.server_close()
            thread.join(timeout=10)
