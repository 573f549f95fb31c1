"""One error model: every 4xx/5xx body is ``{"message": ..., "code": ...}`` (plus ``errors`` for validation)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = structlog.get_logger(__name__)


class ServiceError(Exception):
    """An error the client can act on; ``status`` and ``code`` travel to the response."""

    status: int = 400
    code: str = "bad_request"

    def __init__(
        self, message: str, *, code: str | None = None, headers: Mapping[str, str] | None = None
    ):
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        self.headers = dict(headers or {})


class BadRequest(ServiceError):
    status, code = 400, "bad_request"


class Unauthorized(ServiceError):
    """Only for a missing, invalid or expired token: staff frontends log out on a 401."""

    status, code = 401, "unauthorized"


class Forbidden(ServiceError):
    status, code = 403, "forbidden"


class NotFound(ServiceError):
    status, code = 404, "not_found"


class Conflict(ServiceError):
    status, code = 409, "conflict"


class ServiceUnavailable(ServiceError):
    status, code = 503, "unavailable"


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name.removesuffix("Error")).lower()


def error_body(
    message: str, code: str, errors: Sequence[Mapping[str, Any]] | None = None
) -> dict[str, Any]:
    body: dict[str, Any] = {"message": message, "code": code}
    if errors:
        body["errors"] = list(errors)
    return body


def _field_path(loc: Sequence[Any]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header", "form")]
    return ".".join(parts)


def _readable(err: Mapping[str, Any]) -> str:
    field = _field_path(err.get("loc", ()))
    kind = err.get("type", "")
    msg = str(err.get("msg", "is invalid"))
    if kind == "missing":
        return f"{field} is required" if field else "a required value is missing"
    if kind == "json_invalid":
        return "request body is not valid JSON"
    if kind == "extra_forbidden":
        return f"{field} is not an accepted field"
    msg = msg.removeprefix("Value error, ")
    return f"{field}: {msg}" if field else msg


def validation_response(errors: Sequence[Mapping[str, Any]]) -> JSONResponse:
    details = [{"field": _field_path(e.get("loc", ())), "message": _readable(e)} for e in errors]
    message = "; ".join(d["message"] for d in details) or "invalid request"
    return JSONResponse(error_body(message, "validation_error", details), status_code=400)


def add_error_handlers(
    app: FastAPI, domain_errors: Mapping[type[Exception], int] | None = None
) -> None:
    """Register the one error model; ``domain_errors`` maps a service's domain exceptions to statuses."""

    @app.exception_handler(ServiceError)
    async def _service_error(_: Request, exc: ServiceError) -> JSONResponse:
        return JSONResponse(
            error_body(exc.message, exc.code), status_code=exc.status, headers=exc.headers
        )

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        return validation_response(exc.errors())

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        message = exc.detail if isinstance(exc.detail, str) else "request failed"
        if exc.status_code == 404 and message == "Not Found":
            message = "Not found"
        if exc.status_code == 405:
            message = "Method not allowed"
        return JSONResponse(
            error_body(
                message, _snake(type(exc).__name__) if exc.status_code >= 500 else "http_error"
            ),
            status_code=exc.status_code,
            headers=getattr(exc, "headers", None),
        )

    for exc_type, status in (domain_errors or {}).items():

        def _make(status: int) -> Any:
            async def _domain(_: Request, exc: Exception) -> JSONResponse:
                return JSONResponse(
                    error_body(str(exc), _snake(type(exc).__name__)), status_code=status
                )

            return _domain

        app.add_exception_handler(exc_type, _make(status))

    # Only for an exception raised outside UnhandledErrorMiddleware (in the outer middleware):
    # Starlette answers with this and re-raises, and uvicorn then closes the connection.
    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled_error", error_type=type(exc).__name__)
        return JSONResponse(error_body("Internal server error", "internal_error"), status_code=500)


class UnhandledErrorMiddleware:
    """Answers an exception no handler took with the error model's 500, and keeps the connection.

    Starlette's own last resort (``ServerErrorMiddleware``) sends the 500 and then re-raises, so
    the server can log it; uvicorn, seeing an exception after the answer started, closes the
    connection. Behind the front door that connection sits in Caddy's keep-alive pool: the next
    request Caddy sends on it is reset, and the caller gets a 502 for a request that did nothing
    wrong. Here the exception is logged and ends with the answer. Only an answer already half
    sent is re-raised, since closing the connection is then the one honest way to end it.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = finished = False

        async def tracking_send(message: Message) -> None:
            nonlocal started, finished
            if message["type"] == "http.response.start":
                started = True
            elif message["type"] == "http.response.body" and not message.get("more_body"):
                finished = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as exc:
            log.exception("unhandled_error", error_type=type(exc).__name__)
            if finished:
                return
            if started:
                raise
            response = JSONResponse(
                error_body("Internal server error", "internal_error"), status_code=500
            )
            await response(scope, receive, send)
