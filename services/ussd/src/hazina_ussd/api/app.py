"""The USSD service's FastAPI application: routes and the parked-event routes on servicekit's app."""

from __future__ import annotations

from fastapi import FastAPI

from hazina_servicekit.openapi import document_real_answers
from hazina_servicekit.parking_api import parked_events_router
from hazina_servicekit.service import Runtime, service_app
from hazina_ussd.api.deps import ADMINS, SUPER_ADMIN, UssdApi, get_parking
from hazina_ussd.api.routes import borrowers, sms, ussd


def create_app(api: UssdApi, runtime: Runtime) -> FastAPI:
    """Its settings and token verifier are the runtime's (the service's parts)."""
    app = service_app(
        "ussd",
        title="Hazina USSD",
        runtime=runtime,
        state={"ussd_api": api},
        errors={},
    )
    app.include_router(ussd.router)
    app.include_router(borrowers.router)
    app.include_router(sms.router)
    app.include_router(
        parked_events_router("ussd", readers=ADMINS, resolvers=[SUPER_ADMIN], lot_of=get_parking)
    )
    document_real_answers(app)
    return app
