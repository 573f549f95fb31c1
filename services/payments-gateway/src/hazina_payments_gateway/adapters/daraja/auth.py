"""Daraja OAuth: one cached token per consumer key, refreshed shortly before expiry, one refresh at a time."""

from __future__ import annotations

import asyncio
import base64
import time
from collections.abc import Callable

import httpx
import structlog

log = structlog.get_logger(__name__)


class TokenUnavailableError(Exception):
    """No token could be had (Daraja down, 5xx, bad credentials); nothing was sent with it."""


class DarajaTokens:
    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        consumer_key: str,
        consumer_secret: str,
        refresh_margin_seconds: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._http = http
        self._basic = base64.b64encode(f"{consumer_key}:{consumer_secret}".encode()).decode()
        self._margin = refresh_margin_seconds
        self._clock = clock
        self._token: str | None = None
        self._expires_at = 0.0
        self._lock = asyncio.Lock()

    def _fresh(self) -> str | None:
        if self._token is not None and self._clock() < self._expires_at - self._margin:
            return self._token
        return None

    async def token(self) -> str:
        """A valid token; concurrent callers wait for the one refresh in flight instead of starting theirs."""
        if (token := self._fresh()) is not None:
            return token
        async with self._lock:
            if (token := self._fresh()) is not None:
                return token
            return await self._fetch()

    async def invalidate(self, token: str) -> None:
        """Daraja refused ``token``: drop it unless another caller already replaced it."""
        async with self._lock:
            if self._token == token:
                self._token = None
                self._expires_at = 0.0

    async def _fetch(self) -> str:
        try:
            response = await self._http.get(
                "/oauth/v1/generate",
                params={"grant_type": "client_credentials"},
                headers={"Authorization": f"Basic {self._basic}"},
            )
        except httpx.HTTPError as exc:
            raise TokenUnavailableError(f"token request failed: {type(exc).__name__}") from exc
        if response.status_code != 200:
            code = _error_code(response)
            log.warning("daraja_token_refused", status=response.status_code, code=code)
            raise TokenUnavailableError(f"token request answered {response.status_code} {code}")
        try:
            body = response.json()
            token = str(body["access_token"])
            lifetime = float(str(body.get("expires_in", "3599")))
        except (ValueError, KeyError, TypeError) as exc:
            raise TokenUnavailableError("token response was not understood") from exc
        self._token = token
        self._expires_at = self._clock() + lifetime
        return token


def _error_code(response: httpx.Response) -> str:
    try:
        return str(response.json().get("errorCode", ""))
    except ValueError:
        return ""
