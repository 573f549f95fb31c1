"""Daraja's SecurityCredential: base64 of the plain initiator password, RSA PKCS#1 v1.5-encrypted
with Safaricom's certificate. Padding is random, so each value differs; any fresh value is valid.
The certificate's validity dates are irrelevant (Safaricom's own expired years ago): never checked.
"""

from __future__ import annotations

import base64

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import padding, rsa


def load_certificate_key(certificate: bytes) -> rsa.RSAPublicKey:
    """The RSA public key of a PEM or DER certificate."""
    cert = (
        x509.load_pem_x509_certificate(certificate)
        if b"-----BEGIN" in certificate
        else x509.load_der_x509_certificate(certificate)
    )
    key = cert.public_key()
    if not isinstance(key, rsa.RSAPublicKey):
        raise ValueError("the M-Pesa certificate must carry an RSA key")
    return key


def security_credential(initiator_password: str, certificate: bytes) -> str:
    encrypted = load_certificate_key(certificate).encrypt(
        initiator_password.encode(), padding.PKCS1v15()
    )
    return base64.b64encode(encrypted).decode()
