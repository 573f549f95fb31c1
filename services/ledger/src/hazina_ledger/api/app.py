"""The ledger's FastAPI application: routes, error model, health, and its background workers."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable

from fastapi import FastAPI

from hazina_ledger.api.deps import LedgerApi
from hazina_ledger.api.routes import clients, ledger, loans, repayments, reports, savings, schedules
from hazina_ledger.domain.errors import (
    AwaitingPrerequisiteError,
    InvalidRequestError,
    InvalidStateError,
    LedgerError,
    MakerCheckerViolationError,
    NotFoundError,
    ReceiptConflictError,
    UnknownAccountError,
)
from hazina_servicekit.auth import TokenVerifier
from hazina_servicekit.errors import add_error_handlers
from hazina_servicekit.health import ReadinessCheck, health_router
from hazina_servicekit.http import add_http_middleware
from hazina_servicekit.settings import ServiceSettings

Worker = Callable[[asyncio.Event], Awaitable[None]]

DOMAIN_ERRORS: dict[type[Exception], int] = {
    InvalidRequestError: 400,
    UnknownAccountError: 404,
    NotFoundError: 404,
    MakerCheckerViolationError: 403,
    InvalidStateError: 409,
    AwaitingPrerequisiteError: 409,
    ReceiptConflictError: 409,
    LedgerError: 400,
}


def create_app(
    *,
    settings: ServiceSettings,
    api: LedgerApi,
    verifier: TokenVerifier,
    readiness: dict[str, ReadinessCheck],
    workers: list[Worker] | None = None,
    on_shutdown: list[Callable[[], Awaitable[None]]] | None = None,
) -> FastAPI:
    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        stop = asyncio.Event()
        tasks = [asyncio.create_task(worker(stop)) for worker in workers or []]
        try:
            yield
        finally:
            stop.set()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await asyncio.wait_for(task, timeout=5)
            for close in on_shutdown or []:
                with contextlib.suppress(Exception):
                    await close()

    app = FastAPI(title="Hazina ledger", version="0.1.0", lifespan=lifespan)
    app.state.ledger_api = api
    app.state.token_verifier = verifier
    add_http_middleware(
        app, cors_origins=settings.cors_origins, max_body_bytes=settings.max_body_bytes
    )
    add_error_handlers(app, DOMAIN_ERRORS)
    for module in (repayments, schedules, loans, clients, ledger, reports, savings):
        app.include_router(module.router)
    app.include_router(health_router("ledger", readiness))
    return app
