"""The gateway's FastAPI application: callback ingress, staff routes, health, background workers."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable

from fastapi import FastAPI

from hazina_payments_gateway.api.deps import GatewayApi
from hazina_payments_gateway.api.routes import callbacks, disbursements, reconciliation
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
from hazina_servicekit.settings import ServiceSettings

Worker = Callable[[asyncio.Event], Awaitable[None]]

DOMAIN_ERRORS: dict[type[Exception], int] = {
    DisbursementNotFoundError: 404,
    IllegalTransitionError: 409,
    NotRetryableError: 409,
    GatewayRuleError: 400,
    GatewayError: 400,
}


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
        stop = asyncio.Event()
        tasks = [asyncio.create_task(worker(stop)) for worker in workers or []]
        for hook in on_start or []:
            tasks.append(asyncio.create_task(hook()))
        try:
            yield
        finally:
            stop.set()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await asyncio.wait_for(task, timeout=5)
            await api.inbox_writer.close()
            await api.daraja.aclose()
            for hook in on_stop or []:
                with contextlib.suppress(Exception):
                    await hook()

    app = FastAPI(title="Hazina payments gateway", version="0.1.0", lifespan=lifespan)
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
    app.include_router(health_router("payments", readiness))
    return app
