"""The USSD service's FastAPI application: routes, error model, health, and its workers."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager

from fastapi import FastAPI

from hazina_servicekit.auth import TokenVerifier
from hazina_servicekit.errors import add_error_handlers
from hazina_servicekit.health import ReadinessCheck, health_router
from hazina_servicekit.http import add_http_middleware
from hazina_servicekit.openapi import document_real_answers, document_urls
from hazina_servicekit.parking_api import parked_events_router
from hazina_servicekit.runtime import Worker, running_workers
from hazina_servicekit.settings import ServiceSettings
from hazina_ussd.api.deps import ADMINS, SUPER_ADMIN, UssdApi, get_parking
from hazina_ussd.api.routes import borrowers, sms, ussd


def create_app(
    *,
    settings: ServiceSettings,
    api: UssdApi,
    verifier: TokenVerifier,
    readiness: dict[str, ReadinessCheck],
    workers: list[Worker] | None = None,
    on_shutdown: Sequence[Callable[[], Awaitable[None]]] = (),
) -> FastAPI:
    def lifespan(_: FastAPI) -> AbstractAsyncContextManager[None]:
        return running_workers(workers or [], on_shutdown=on_shutdown)

    app = FastAPI(
        title="Hazina USSD", version="0.1.0", lifespan=lifespan, **document_urls("ussd")
    )
    app.state.ussd_api = api
    app.state.token_verifier = verifier
    add_http_middleware(
        app, cors_origins=settings.cors_origins, max_body_bytes=settings.max_body_bytes
    )
    add_error_handlers(app, {})
    app.include_router(ussd.router)
    app.include_router(borrowers.router)
    app.include_router(sms.router)
    app.include_router(
        parked_events_router("ussd", readers=ADMINS, resolvers=[SUPER_ADMIN], lot_of=get_parking)
    )
    app.include_router(health_router("ussd", readiness))
    document_real_answers(app)
    return app
