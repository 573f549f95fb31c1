"""Tokens other services trust: tampering, expiry, unknown keys and key rotation."""

from __future__ import annotations

import base64
import json
from datetime import timedelta
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi.testclient import TestClient


def _me(client: TestClient, token: str) -> Any:
    return client.get("/api/auth/me", headers={"Authorization": f"Bearer {token}"})


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


class TestTokensAreRejected:
    def test_when_the_payload_is_tampered_with(self, client: TestClient, h: Any) -> None:
        token = h.login(client, h.ADMIN_USERNAME, h.ADMIN_PASSWORD)["token"]
        header, _payload, signature = token.split(".")
        claims = jwt.decode(token, options={"verify_signature": False})
        forged = f"{header}.{_b64({**claims, 'role': 'super_admin', 'sub': claims['sub'][::-1]})}.{signature}"
        response = _me(client, forged)
        assert response.status_code == 401
        assert response.json()["message"] == "Invalid token"

    def test_when_expired(self, client: TestClient, h: Any, clock: Any) -> None:
        clock.advance(hours=-11)  # issued eleven hours ago, valid for a working day (ten)
        token = h.login(client, h.ADMIN_USERNAME, h.ADMIN_PASSWORD)["token"]
        response = _me(client, token)
        assert response.status_code == 401
        assert response.json()["message"] == "Token has expired"

    def test_when_signed_with_an_unknown_key(self, client: TestClient) -> None:
        stranger = Ed25519PrivateKey.generate()
        token = jwt.encode(
            {
                "sub": "00000000-0000-0000-0000-000000000001",
                "role": "super_admin",
                "iss": "hazina-identity",
                "iat": 0,
                "exp": 4102444800,
                "jti": "x",
                "typ": "access",
            },
            stranger,
            algorithm="EdDSA",
            headers={"kid": "not-a-key-we-have"},
        )
        assert _me(client, token).status_code == 401

    def test_when_a_known_kid_is_signed_by_another_key(self, client: TestClient, h: Any) -> None:
        real = h.login(client, h.ADMIN_USERNAME, h.ADMIN_PASSWORD)["token"]
        kid = jwt.get_unverified_header(real)["kid"]
        claims = jwt.decode(real, options={"verify_signature": False})
        forged = jwt.encode(
            claims, Ed25519PrivateKey.generate(), algorithm="EdDSA", headers={"kid": kid}
        )
        assert _me(client, forged).status_code == 401

    def test_when_the_algorithm_is_none(self, client: TestClient, h: Any) -> None:
        real = h.login(client, h.ADMIN_USERNAME, h.ADMIN_PASSWORD)["token"]
        claims = jwt.decode(real, options={"verify_signature": False})
        kid = jwt.get_unverified_header(real)["kid"]
        unsigned = f"{_b64({'alg': 'none', 'kid': kid})}.{_b64(claims)}."
        assert _me(client, unsigned).status_code == 401

    def test_when_missing_or_malformed(self, client: TestClient) -> None:
        assert client.get("/api/auth/me").status_code == 401
        assert client.get("/api/auth/me", headers={"Authorization": "Basic abc"}).status_code == 401
        assert _me(client, "a.b.c").status_code == 401
        assert client.get("/api/auth/me").json()["message"] == "Authentication required"


class TestKeyRotation:
    def test_rotating_keys_logs_nobody_out(
        self, client: TestClient, h: Any, container: Any
    ) -> None:
        before = h.login(client, h.ADMIN_USERNAME, h.ADMIN_PASSWORD)["token"]
        old_kid = jwt.get_unverified_header(before)["kid"]
        new_kid = container.keys.rotate(container.clock.now())
        after = h.login(client, h.ADMIN_USERNAME, h.ADMIN_PASSWORD)["token"]
        assert jwt.get_unverified_header(after)["kid"] == new_kid != old_kid
        assert _me(client, before).status_code == 200
        assert _me(client, after).status_code == 200
        kids = {k["kid"] for k in client.get("/.well-known/jwks.json").json()["keys"]}
        assert {old_kid, new_kid} <= kids

    def test_a_retired_key_leaves_the_jwks_once_its_tokens_have_expired(
        self, container: Any
    ) -> None:
        now = container.clock.now()
        old = container.keys.jwks(now)["keys"][0]["kid"]
        container.keys.rotate(now)
        ttl = timedelta(seconds=container.settings.access_token_ttl_seconds)
        later = now + 2 * ttl + timedelta(minutes=1)
        assert old not in {k["kid"] for k in container.keys.jwks(later)["keys"]}


def test_a_rotation_by_another_process_is_picked_up(
    client: TestClient, h: Any, container: Any, monkeypatch: Any
) -> None:
    from hazina_identity.adapters import signing_keys

    other_process = signing_keys.SigningKeys(
        container.pool, issuer="hazina-identity", access_ttl=timedelta(minutes=15)
    )
    before = h.login(client, h.ADMIN_USERNAME, h.ADMIN_PASSWORD)["token"]
    new_kid = other_process.rotate(container.clock.now())
    monkeypatch.setattr(signing_keys, "KEY_RECHECK_SECONDS", 0.0)
    after = h.login(client, h.ADMIN_USERNAME, h.ADMIN_PASSWORD)["token"]
    assert jwt.get_unverified_header(after)["kid"] == new_kid
    assert _me(client, before).status_code == 200
