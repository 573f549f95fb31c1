"""Verifying identity's access tokens, and ``require_roles``: deny unless a role is allowed.

A valid signature is not enough: a token must also not have been revoked (deactivation, a change
of role or regions, a password change or reset, a sign-out). The verifier asks its
``RevocationCheck`` about every token; ``hazina_servicekit.revocation`` explains where that deny
state comes from in each service.
"""

from __future__ import annotations

import copy
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, Protocol
from uuid import UUID

import httpx
import jwt
from fastapi import Depends, Request

from hazina_servicekit.errors import Forbidden, Unauthorized

ALGORITHMS = ["EdDSA"]
Jwks = dict[str, Any]


@dataclass(frozen=True)
class Principal:
    """The staff member a request acts for, as their access token says."""

    user_id: UUID
    role: str
    regions: tuple[str, ...]
    token_id: str
    branch_id: str | None = None
    session_id: str | None = None  # claim ``sid``: the sign-in (refresh-token family) it belongs to
    revision: int | None = None  # claim ``rev``: the user record's revision it was minted from
    issued_at: int = 0
    expires_at: int = 0


class RevocationCheck(Protocol):
    """Refuses a verified token that must no longer work (raises ``Unauthorized``), or a token it
    cannot judge yet (raises ``ServiceUnavailable``)."""

    def check(self, principal: Principal) -> None: ...


class TokenVerifier:
    """Checks signature, expiry, claims and revocation; keys come from a JWKS, cached and
    refreshed on an unknown ``kid``."""

    def __init__(
        self,
        fetch_jwks: Callable[[], Jwks],
        *,
        issuer: str,
        min_refresh_seconds: float = 5.0,
        leeway_seconds: int = 5,
        revocations: RevocationCheck | None = None,
    ) -> None:
        self._fetch = fetch_jwks
        self._issuer = issuer
        self._min_refresh = min_refresh_seconds
        self._leeway = leeway_seconds
        self._keys: dict[str, Any] = {}
        self._fetched_at = float("-inf")
        self._lock = threading.Lock()
        self.revocations = revocations

    def with_revocations(self, revocations: RevocationCheck) -> TokenVerifier:
        """The same verifier (same keys source) judging revocation with ``revocations``.

        A copy, so an app gets its own deny state even when several apps share a container.
        """
        verifier = copy.copy(self)
        verifier._keys = dict(self._keys)
        verifier._lock = threading.Lock()
        verifier.revocations = revocations
        return verifier

    @classmethod
    def from_url(cls, jwks_url: str, *, issuer: str) -> TokenVerifier:
        def fetch() -> Jwks:
            response = httpx.get(jwks_url, timeout=5.0)
            response.raise_for_status()
            return dict(response.json())

        return cls(fetch, issuer=issuer)

    def _refresh(self, *, force: bool) -> None:
        with self._lock:
            if not force and self._keys:
                return
            if time.monotonic() - self._fetched_at < self._min_refresh and self._keys:
                return
            try:
                jwks = self._fetch()
            except Exception:
                self._fetched_at = time.monotonic()
                if not self._keys:
                    raise
                return
            keys = {}
            for jwk in jwks.get("keys", []):
                if "kid" in jwk:
                    keys[jwk["kid"]] = jwt.PyJWK(jwk).key
            self._keys = keys
            self._fetched_at = time.monotonic()

    def _key_for(self, kid: str) -> Any:
        if kid not in self._keys:
            self._refresh(force=bool(self._keys))
        if kid not in self._keys:
            self._refresh(force=True)
        try:
            return self._keys[kid]
        except KeyError:
            raise Unauthorized("Token signed with an unknown key") from None

    def verify(self, token: str) -> Principal:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise Unauthorized("Invalid token") from None
        kid = header.get("kid")
        if not isinstance(kid, str) or header.get("alg") not in ALGORITHMS:
            raise Unauthorized("Invalid token")
        try:
            key = self._key_for(kid)
        except Unauthorized:
            raise
        except Exception:
            raise Unauthorized("Token keys are unavailable; sign in again shortly") from None
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=ALGORITHMS,
                issuer=self._issuer,
                leeway=self._leeway,
                options={"require": ["exp", "iat", "sub", "jti", "role"]},
            )
        except jwt.ExpiredSignatureError:
            raise Unauthorized("Token has expired") from None
        except jwt.PyJWTError:
            raise Unauthorized("Invalid token") from None
        if claims.get("typ") != "access":
            raise Unauthorized("Invalid token")
        try:
            user_id = UUID(str(claims["sub"]))
        except ValueError:
            raise Unauthorized("Invalid token") from None
        regions = claims.get("regions") or []
        session_id = claims.get("sid")
        revision = claims.get("rev")
        if (session_id is not None and not isinstance(session_id, str)) or (
            revision is not None and (not isinstance(revision, int) or isinstance(revision, bool))
        ):
            raise Unauthorized("Invalid token")
        principal = Principal(
            user_id=user_id,
            role=str(claims["role"]),
            regions=tuple(str(r) for r in regions),
            token_id=str(claims["jti"]),
            branch_id=claims.get("branch_id"),
            session_id=session_id,
            revision=revision,
            issued_at=int(claims["iat"]),
            expires_at=int(claims["exp"]),
        )
        if self.revocations is not None:
            self.revocations.check(principal)
        return principal


def _bearer(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("Authentication required")
    return token.strip()


def current_principal(request: Request) -> Principal:
    verifier: TokenVerifier = request.app.state.token_verifier
    principal = verifier.verify(_bearer(request))
    request.state.principal = principal
    return principal


PrincipalDep = Annotated[Principal, Depends(current_principal)]


def require_roles(*roles: str) -> Callable[[Principal], Principal]:
    """A dependency that admits only the given roles; with none given it admits nobody."""
    allowed = frozenset(roles)

    def _check(principal: PrincipalDep) -> Principal:
        if principal.role not in allowed:
            raise Forbidden("Your role may not do this")
        return principal

    return _check
