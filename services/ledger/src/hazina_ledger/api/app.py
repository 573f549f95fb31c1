"""The ledger's FastAPI application: routes, error model, health, and its background workers."""

from __future__ import annotations

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
from hazina_servicekit.http import WritesVisibleFirst
from hazina_servicekit.openapi import document_real_answers
from hazina_servicekit.parking_api import parked_events_router
from hazina_servicekit.service import Runtime, service_app

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


def create_app(api: LedgerApi, runtime: Runtime) -> FastAPI:
    app = service_app("ledger", runtime, state={"ledger_api": api}, errors=DOMAIN_ERRORS)
    app.add_middleware(WritesVisibleFirst, catch_up=api.projection.catch_up)
    for module in (repayments, schedules, loans, clients, ledger, reports, savings, analytics):
        app.include_router(module.router)
    # Admins see what waits; only those who may reverse money may retry or skip it.
    app.include_router(
        parked_events_router("ledger", readers=RECORDERS, resolvers=APPROVERS, lot_of=get_parking)
    )
    document_real_answers(app)
    return app
