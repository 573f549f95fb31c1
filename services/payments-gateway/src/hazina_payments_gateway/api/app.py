"""The gateway's FastAPI application: callback ingress, staff routes, health, background workers."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable

from fastapi import FastAPI

from hazina_payments_gateway.api.deps import DISBURSERS, FINANCE, GatewayApi, get_parking
from hazina_payments_gateway.api.routes import callbacks, disbursements, inbox, reconciliation
from hazina_payments_gateway.application.gateway import DisbursementNotFoundError
from hazina_payments_gateway.domain.errors import (
    GatewayError,
    IllegalTransitionError,
    NotRetryableError,
)
from hazina_payments_gateway.domain.rules import GatewayRuleError
from hazina_servicekit.auth import TokenVerifier
from hazina_servicekit.errors import add_error_handlers
from hazina_servicekit.health import ReadinessCheck, health_router
from hazina_servicekit.http import add_http_middleware
from hazina_servicekit.openapi import document_real_answers, document_urls
from hazina_servicekit.parking_api import parked_events_router
from hazina_servicekit.runtime import Worker, running_workers
from hazina_servicekit.settings import ServiceSettings

DOMAIN_ERRORS: dict[type[Exception], int] = {
    DisbursementNotFoundError: 404,
    IllegalTransitionError: 409,
    NotRetryableError: 409,
    GatewayRuleError: 400,
    GatewayError: 400,
}


def _once(hook: Callable[[], Awaitable[None]]) -> Worker:
    """A start-up task (C2B URL registration) run alongside the workers."""

    async def run(_: asyncio.Event) -> None:
        await hook()

    return run


def redact_callback_token(path: str) -> str:
    """Callback paths end in the shared secret; logs show ``***`` instead."""
    if path.startswith(("/api/pay/", "/api/mpesa/")) and path.count("/") >= 5:
        return path.rsplit("/", 1)[0] + "/***"
    return path


def create_app(
    *,
    settings: ServiceSettings,
    api: GatewayApi,
    verifier: TokenVerifier,
    readiness: dict[str, ReadinessCheck],
    workers: list[Worker] | None = None,
    on_start: list[Callable[[], Awaitable[None]]] | None = None,
    on_stop: list[Callable[[], Awaitable[None]]] | None = None,
) -> FastAPI:
    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await api.inbox_writer.open()
        starters: list[Worker] = [_once(hook) for hook in on_start or []]
        closers = [api.inbox_writer.close, *(on_stop or [])]
        async with running_workers([*(workers or []), *starters], on_shutdown=closers):
            yield

    app = FastAPI(
        title="Hazina payments gateway",
        version="0.1.0",
        lifespan=lifespan,
        **document_urls("payments"),
    )
    app.state.gateway_api = api
    app.state.token_verifier = verifier
    add_http_middleware(
        app,
        cors_origins=settings.cors_origins,
        max_body_bytes=settings.max_body_bytes,
        body_limit_overrides=[("/api/payments/reconciliation/statement", 10 * 1024 * 1024)],
        redact_path=redact_callback_token,
    )
    add_error_handlers(app, DOMAIN_ERRORS)
    app.include_router(callbacks.router)
    app.include_router(disbursements.router)
    app.include_router(reconciliation.router)
    app.include_router(inbox.router)
    # Finance staff see what waits; those who may move money again retry or skip it.
    app.include_router(
        parked_events_router("payments", readers=FINANCE, resolvers=DISBURSERS, lot_of=get_parking)
    )
    app.include_router(health_router("payments", readiness))
    document_real_answers(app)
    return app
