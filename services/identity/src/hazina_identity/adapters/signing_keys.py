"""Ed25519 signing keys kept in identity's schema; rotation keeps old public keys published.

A rotated-out key stays in the JWKS until every token it signed has expired, so rotating
never logs anyone out. Private keys never leave this service and are never logged.
"""

from __future__ import annotations

import base64
import json
import time
import uuid
from datetime import datetime, timedelta
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from psycopg_pool import ConnectionPool

from hazina_identity.application.ports import AccessToken

# A rotated-out key keeps verifying for twice the access-token lifetime, far longer than this.
KEY_RECHECK_SECONDS = 30.0

DDL = """
CREATE TABLE IF NOT EXISTS signing_keys (
    kid text PRIMARY KEY,
    private_pem bytea NOT NULL,
    public_jwk jsonb NOT NULL,
    created_at timestamptz NOT NULL,
    retired_at timestamptz
)
"""


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


class SigningKeys:
    def __init__(self, pool: ConnectionPool, *, issuer: str, access_ttl: timedelta) -> None:
        self._pool = pool
        self._issuer = issuer
        self._ttl = access_ttl
        self._active: tuple[str, Ed25519PrivateKey] | None = None
        self._loaded_at = 0.0
        with pool.connection() as conn:
            conn.execute(DDL)

    def rotate(self, now: datetime) -> str:
        """Make a new key the signing key; the old one only verifies from now on."""
        private = Ed25519PrivateKey.generate()
        kid = f"{now:%Y%m%d}-{uuid.uuid4().hex[:8]}"
        public_raw = private.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        jwk = {
            "kty": "OKP",
            "crv": "Ed25519",
            "x": _b64url(public_raw),
            "kid": kid,
            "use": "sig",
            "alg": "EdDSA",
        }
        pem = private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        with self._pool.connection() as conn, conn.transaction():
            conn.execute("UPDATE signing_keys SET retired_at = %s WHERE retired_at IS NULL", (now,))
            conn.execute(
                "INSERT INTO signing_keys (kid, private_pem, public_jwk, created_at) VALUES (%s, %s, %s, %s)",
                (kid, pem, json.dumps(jwk), now),
            )
        self._active = None
        return kid

    def ensure_key(self, now: datetime) -> None:
        with self._pool.connection() as conn:
            row = conn.execute("SELECT 1 FROM signing_keys WHERE retired_at IS NULL").fetchone()
        if row is None:
            self.rotate(now)

    def _signing_key(self) -> tuple[str, Ed25519PrivateKey]:
        # Re-read now and then: `rotate-key` may have run in another process.
        if self._active is None or time.monotonic() - self._loaded_at > KEY_RECHECK_SECONDS:
            with self._pool.connection() as conn:
                row = conn.execute(
                    "SELECT kid, private_pem FROM signing_keys WHERE retired_at IS NULL "
                    "ORDER BY created_at DESC LIMIT 1"
                ).fetchone()
            if row is None:
                raise RuntimeError("no signing key; identity's start-up creates one")
            key = serialization.load_pem_private_key(bytes(row[1]), password=None)
            if not isinstance(key, Ed25519PrivateKey):
                raise RuntimeError("signing key is not Ed25519")
            self._active = (str(row[0]), key)
            self._loaded_at = time.monotonic()
        return self._active

    def issue_access_token(self, claims: dict[str, Any], now: datetime) -> AccessToken:
        kid, key = self._signing_key()
        expires_in = int(self._ttl.total_seconds())
        payload = {
            **claims,
            "iss": self._issuer,
            "iat": int(now.timestamp()),
            "exp": int(now.timestamp()) + expires_in,
            "jti": uuid.uuid4().hex,
            "typ": "access",
        }
        token = jwt.encode(payload, key, algorithm="EdDSA", headers={"kid": kid})
        return AccessToken(token=token, expires_in=expires_in)

    def jwks(self, now: datetime | None = None) -> dict[str, Any]:
        """Public keys that may still verify a live token: the active one and recently retired ones."""
        with self._pool.connection() as conn:
            if now is None:
                rows = conn.execute(
                    "SELECT public_jwk FROM signing_keys WHERE retired_at IS NULL "
                    "OR retired_at > now() - %s ORDER BY created_at DESC",
                    (self._ttl * 2,),
                ).fetchall()
            else:
                rows = conn.execute(
                    "SELECT public_jwk FROM signing_keys WHERE retired_at IS NULL "
                    "OR retired_at > %s ORDER BY created_at DESC",
                    (now - self._ttl * 2,),
                ).fetchall()
        return {"keys": [row[0] for row in rows]}
