"""The ledger's FastAPI application: routes, error model, health, and its background workers."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager

from fastapi import FastAPI

from hazina_ledger.api.deps import APPROVERS, RECORDERS, LedgerApi, get_parking
from hazina_ledger.api.routes import (
    analytics,
    clients,
    ledger,
    loans,
    repayments,
    reports,
    savings,
    schedules,
)
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
from hazina_servicekit.openapi import document_real_answers, document_urls
from hazina_servicekit.parking_api import parked_events_router
from hazina_servicekit.runtime import Worker, running_workers
from hazina_servicekit.settings import ServiceSettings

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
    def lifespan(_: FastAPI) -> AbstractAsyncContextManager[None]:
        return running_workers(workers or [], on_shutdown=on_shutdown or [])

    app = FastAPI(
        title="Hazina ledger",
        version="0.1.0",
        lifespan=lifespan,
        **document_urls("ledger"),
    )
    app.state.ledger_api = api
    app.state.token_verifier = verifier
    add_http_middleware(
        app, cors_origins=settings.cors_origins, max_body_bytes=settings.max_body_bytes
    )
    add_error_handlers(app, DOMAIN_ERRORS)
    for module in (repayments, schedules, loans, clients, ledger, reports, savings, analytics):
        app.include_router(module.router)
    # Admins see what waits; only those who may reverse money may retry or skip it.
    app.include_router(
        parked_events_router("ledger", readers=RECORDERS, resolvers=APPROVERS, lot_of=get_parking)
    )
    app.include_router(health_router("ledger", readiness))
    document_real_answers(app)
    return app
