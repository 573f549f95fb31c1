"""The ledger's FastAPI application: routes, error model, health, and its background workers."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import structlog
from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

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
from hazina_servicekit.openapi import document_real_answers
from hazina_servicekit.parking_api import parked_events_router
from hazina_servicekit.service import Runtime, service_app

log = structlog.get_logger(__name__)

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


class WritesVisibleFirst:
    """The answer to a write (any method but GET, HEAD, OPTIONS) leaves only once the read
    side includes it, so every read after it shows it, even when reads leave the read side to
    its follower in another process (``LedgerApi.fresh``)."""

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
