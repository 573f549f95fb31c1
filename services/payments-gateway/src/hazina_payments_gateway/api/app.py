"""The gateway's FastAPI application: callback ingress, staff routes, health, background workers."""

from __future__ import annotations

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
from hazina_servicekit.openapi import document_real_answers
from hazina_servicekit.parking_api import parked_events_router
from hazina_servicekit.service import Runtime, service_app

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


def create_app(api: GatewayApi, runtime: Runtime) -> FastAPI:
    # Callbacks are stored before they are answered: the inbox's connection is open before the
    # first request and closed after the workers stopped.
    app = service_app(
        "payments",
        runtime,
        title="Hazina payments gateway",
        state={"gateway_api": api},
        errors=DOMAIN_ERRORS,
        opening=[api.inbox_writer.open],
        closing=[api.inbox_writer.close],
        body_limit_overrides=[("/api/payments/reconciliation/statement", 10 * 1024 * 1024)],
        redact_path=redact_callback_token,
    )
    app.include_router(callbacks.router)
    # Outermost: Daraja's callbacks are stored and answered before the framework sees them.
    app.add_middleware(
        callbacks.CallbackFastPath,
        api=lambda: api,
        max_body_bytes=runtime.settings.max_body_bytes,
    )
    app.include_router(disbursements.router)
    app.include_router(reconciliation.router)
    app.include_router(inbox.router)
    # Finance staff see what waits; those who may move money again retry or skip it.
    app.include_router(
        parked_events_router("payments", readers=FINANCE, resolvers=DISBURSERS, lot_of=get_parking)
    )
    document_real_answers(app)
    return app
