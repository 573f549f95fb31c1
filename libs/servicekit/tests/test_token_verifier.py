"""Other services verify identity's tokens from its JWKS: fetched once, refreshed on an unknown kid."""

from __future__ import annotations

import time
import uuid
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi import Depends, FastAPI
from fastapi.testclient import TestClient

from hazina_servicekit.auth import Principal, TokenVerifier, require_roles
from hazina_servicekit.errors import Unauthorized, add_error_handlers


def _jwk(key: Ed25519PrivateKey, kid: str) -> dict[str, Any]:
    data = jwt.algorithms.OKPAlgorithm.to_jwk(key.public_key(), as_dict=True)
    return {**data, "kid": kid, "alg": "EdDSA", "use": "sig"}


def _token(key: Ed25519PrivateKey, kid: str, role: str = "loan_officer", **extra: Any) -> str:
    now = int(time.time())
    claims = {
        "sub": str(uuid.uuid4()),
        "role": role,
        "regions": ["Nakuru"],
        "iss": "hazina-identity",
        "iat": now,
        "exp": now + 60,
        "jti": uuid.uuid4().hex,
        "typ": "access",
        **extra,
    }
    return jwt.encode(claims, key, algorithm="EdDSA", headers={"kid": kid})


class Jwks:
    def __init__(self) -> None:
        self.keys: list[dict[str, Any]] = []
        self.fetches = 0

    def __call__(self) -> dict[str, Any]:
        self.fetches += 1
        return {"keys": list(self.keys)}


def test_keys_are_fetched_once_and_refreshed_for_a_new_kid() -> None:
    first, second = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    jwks = Jwks()
    jwks.keys.append(_jwk(first, "k1"))
    verifier = TokenVerifier(jwks, issuer="hazina-identity", min_refresh_seconds=0)
    for _ in range(5):
        assert verifier.verify(_token(first, "k1")).role == "loan_officer"
    assert jwks.fetches == 1
    jwks.keys.append(_jwk(second, "k2"))  # identity rotated
    assert verifier.verify(_token(second, "k2")).regions == ("Nakuru",)
    assert jwks.fetches == 2


def test_unknown_kids_cannot_make_it_fetch_in_a_loop() -> None:
    key = Ed25519PrivateKey.generate()
    jwks = Jwks()
    jwks.keys.append(_jwk(key, "k1"))
    verifier = TokenVerifier(jwks, issuer="hazina-identity", min_refresh_seconds=60)
    verifier.verify(_token(key, "k1"))
    for _ in range(10):
        with pytest.raises(Unauthorized):
            verifier.verify(_token(key, "bogus"))
    assert jwks.fetches == 1


def test_a_refresh_token_or_foreign_issuer_is_not_an_access_token() -> None:
    key = Ed25519PrivateKey.generate()
    jwks = Jwks()
    jwks.keys.append(_jwk(key, "k1"))
    verifier = TokenVerifier(jwks, issuer="hazina-identity")
    with pytest.raises(Unauthorized):
        verifier.verify(_token(key, "k1", typ="refresh"))
    with pytest.raises(Unauthorized):
        verifier.verify(_token(key, "k1", iss="someone-else"))


def test_require_roles_denies_by_default() -> None:
    key = Ed25519PrivateKey.generate()
    jwks = Jwks()
    jwks.keys.append(_jwk(key, "k1"))
    app = FastAPI()
    app.state.token_verifier = TokenVerifier(jwks, issuer="hazina-identity")
    add_error_handlers(app)

    @app.get("/approve")
    def approve(
        p: Principal = Depends(require_roles("approver_admin", "super_admin")),
    ) -> dict[str, str]:
        return {"role": p.role}

    @app.get("/nobody")
    def nobody(p: Principal = Depends(require_roles())) -> dict[str, str]:
        return {"role": p.role}

    client = TestClient(app)
    as_officer = {"Authorization": f"Bearer {_token(key, 'k1')}"}
    as_approver = {"Authorization": f"Bearer {_token(key, 'k1', role='approver_admin')}"}
    assert client.get("/approve", headers=as_approver).json() == {"role": "approver_admin"}
    assert client.get("/approve", headers=as_officer).status_code == 403
    assert client.get("/approve").status_code == 401
    assert client.get("/nobody", headers=as_approver).status_code == 403
