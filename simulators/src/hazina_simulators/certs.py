"""A throwaway RSA key and self-signed certificate standing in for Safaricom's API certificate.

Tests and the local runtime generate their own; a real certificate is never committed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID


@dataclass(frozen=True)
class KeyAndCertificate:
    private_key_pem: str
    certificate_pem: str


def generate(
    common_name: str = "apicrypt.simulator.local", *, key_size: int = 2048
) -> KeyAndCertificate:
    key = rsa.generate_private_key(public_exponent=65537, key_size=key_size)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=3650))
        .sign(key, hashes.SHA256())
    )
    return KeyAndCertificate(
        private_key_pem=key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode(),
        certificate_pem=certificate.public_bytes(serialization.Encoding.PEM).decode(),
    )


def write(directory: Path) -> tuple[Path, Path]:
    """Write ``daraja-sim.key`` (0600) and ``daraja-sim.crt`` into ``directory``; keep existing ones."""
    directory.mkdir(parents=True, exist_ok=True)
    key_path, cert_path = directory / "daraja-sim.key", directory / "daraja-sim.crt"
    if not (key_path.exists() and cert_path.exists()):
        pair = generate()
        key_path.write_text(pair.private_key_pem)
        key_path.chmod(0o600)
        cert_path.write_text(pair.certificate_pem)
    return key_path, cert_path
