"""ASGI plumbing every service puts in front of its routes: correlation ids, body limits, CORS."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import re
import time
import uuid
from collections.abc import Callable, Sequence
from typing import Any, ClassVar, Protocol, TypeVar

import structlog
from fastapi import FastAPI, Request
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hazina_servicekit.errors import UnhandledErrorMiddleware
from hazina_servicekit.parking import ParkingLot

CORRELATION_HEADER = "x-correlation-id"
_SAFE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
log = structlog.get_logger("http")


def correlation_id(request: Request) -> str:
    """The id that ties this request to the events and messages it causes."""
    return str(getattr(request.state, "correlation_id", "")) or str(uuid.uuid4())


class CorrelationMiddleware:
    """Binds ``correlation_id`` (taken from the header or made) to logs, the request and the response."""

    def __init__(self, app: ASGIApp, redact_path: Callable[[str], str] | None = None) -> None:
        self.app = app
        # Hides secret path segments (e.g. callback tokens) from the request log.
        self.redact_path = redact_path

    def _logged_path(self, path: str) -> str:
        return self.redact_path(path) if self.redact_path else path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        given = headers.get(CORRELATION_HEADER.encode(), b"").decode("latin-1")
        cid = given if _SAFE_ID.match(given) else str(uuid.uuid4())
        scope.setdefault("state", {})["correlation_id"] = cid
        structlog.contextvars.bind_contextvars(correlation_id=cid)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [
                    *message["headers"],
                    (CORRELATION_HEADER.encode(), cid.encode()),
                ]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            log.info(
                "http_request",
                method=scope.get("method"),
                path=self._logged_path(scope.get("path", "")),
                status=status,
                duration_ms=round((time.perf_counter() - started) * 1000, 2),
            )
            structlog.contextvars.unbind_contextvars("correlation_id")


class BodyLimitMiddleware:
    """Refuses bodies over ``max_bytes`` before the app reads them.

    A 400 like any other bad input (the error model's rule), with its own ``code``.
    """

    def __init__(
        self, app: ASGIApp, max_bytes: int, overrides: Sequence[tuple[str, int]] = ()
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.overrides = list(overrides)  # (path prefix, limit) for upload routes

    def _limit(self, path: str) -> int:
        for prefix, limit in self.overrides:
            if path.startswith(prefix):
                return limit
        return self.max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self._limit(scope.get("path", ""))
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await _too_large(send, limit)
            return
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise _BodyTooLargeError
            return message

        try:
            await self.app(scope, limited_receive, send)
        except _BodyTooLargeError:
            await _too_large(send, limit)


class _BodyTooLargeError(Exception):
    pass


async def _too_large(send: Send, limit: int) -> None:
    body = json.dumps(
        {"message": f"request body is larger than {limit} bytes", "code": "payload_too_large"}
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 400,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def add_http_middleware(
    app: FastAPI,
    *,
    cors_origins: Sequence[str],
    max_body_bytes: int,
    body_limit_overrides: Sequence[tuple[str, int]] = (),
    redact_path: Callable[[str], str] | None = None,
) -> None:
    """Outermost first: correlation id, CORS, the 500 of last resort, the body limit, the routes.

    The 500 of last resort sits inside CORS and the correlation id so that a failed request's
    answer still carries both (a browser at another origin can read it, the id finds the log).
    """
    app.add_middleware(
        BodyLimitMiddleware, max_bytes=max_body_bytes, overrides=body_limit_overrides
    )
    app.add_middleware(UnhandledErrorMiddleware)
    app.add_middleware(
        CORSMiddleware,
        allow_origins=list(cors_origins),
        allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
        allow_headers=["Authorization", "Content-Type", "X-Correlation-Id"],
        expose_headers=["X-Total-Count", "X-Correlation-Id", "Retry-After"],
        max_age=600,
    )
    app.add_middleware(CorrelationMiddleware, redact_path=redact_path)


class WritesVisibleFirst:
    """The answer to a write (any method but GET, HEAD, OPTIONS) leaves only once the read side
    includes it (``catch_up``), so every read after it shows it, even when reads leave the read
    side to a follower listening in this or another process (``Projection.catch_up``'s
    ``unless_followed``): staff read their own writes."""

    def __init__(self, app: ASGIApp, catch_up: Callable[[], object]) -> None:
        self.app = app
        self.catch_up = catch_up

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return

        async def send_once_visible(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] < 400:
                try:
                    await asyncio.to_thread(self.catch_up)
                except Exception as exc:  # the write stands; its follower applies it soon
                    log.warning("write_not_yet_visible", error=str(exc))
            await send(message)

        await self.app(scope, receive, send_once_visible)


def client_address(request: Request) -> str:
    """The caller's address as the ASGI server saw it (uvicorn resolves trusted proxy headers)."""
    return request.client.host if request.client else "unknown"


class _WithParking(Protocol):
    @property
    def parking(self) -> ParkingLot: ...


Api = TypeVar("Api", bound=_WithParking)


def api_getters(
    kind: type[Api], name: str
) -> tuple[Callable[[Request], Api], Callable[[Request], ParkingLot]]:
    """The FastAPI dependencies for what a service's routes use, kept on ``app.state.<name>``:
    the object itself, and its parking lot (for ``parked_events_router``'s ``lot_of``)."""

    def get_api(request: Request) -> Api:
        api = getattr(request.app.state, name, None)
        if not isinstance(api, kind):
            raise TypeError(f"app.state.{name} is {type(api).__name__}, not {kind.__name__}")
        return api

    def get_parking(request: Request) -> ParkingLot:
        return get_api(request).parking

    return get_api, get_parking


class _ReadsOrWrites(Protocol):
    __dataclass_fields__: ClassVar[dict[str, Any]]

    @property
    def reading(self) -> bool: ...


Reads = TypeVar("Reads", bound=_ReadsOrWrites)


def reading_by_method(get_api: Callable[[Request], Reads]) -> Callable[[Request], Reads]:
    """``get_api``'s object with ``reading`` set for a GET or HEAD: its ``fresh()`` then leaves
    the read side to a listening follower (``Projection.catch_up(unless_followed=...)``), and a
    write brings it up to date, its answer leaving once it is (``WritesVisibleFirst``)."""

    def get(request: Request) -> Reads:
        api = get_api(request)
        reading = request.method in ("GET", "HEAD")
        return api if api.reading == reading else dataclasses.replace(api, reading=reading)

    return get
