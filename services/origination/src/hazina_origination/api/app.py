"""origination's FastAPI application: routes, error model, health, and its background workers."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from hazina_origination.api.deps import OriginationApi, get_parking
from hazina_origination.api.routes import (
    admin,
    assessments,
    clients,
    groups,
    guarantors,
    loan_officers,
    loans,
    officer_performance,
    products,
    uploads,
)
from hazina_origination.domain.errors import (
    AlreadyExistsError,
    IllegalTransitionError,
    InvalidInputError,
    NotEligibleError,
    NotFoundError,
    NotPermittedError,
    OriginationError,
)
from hazina_origination.domain.photo import PhotoTooLargeError
from hazina_origination.domain.roles import APPROVER_ADMIN, INITIATOR_ADMIN, SUPER_ADMIN
from hazina_servicekit.errors import error_body
from hazina_servicekit.http import WritesVisibleFirst
from hazina_servicekit.openapi import document_real_answers
from hazina_servicekit.parking_api import parked_events_router
from hazina_servicekit.service import Runtime, service_app

DOMAIN_ERRORS: dict[type[Exception], int] = {
    PhotoTooLargeError: 400,
    InvalidInputError: 400,
    NotFoundError: 404,
    NotPermittedError: 403,
    AlreadyExistsError: 409,
    IllegalTransitionError: 409,
    OriginationError: 400,
}
MULTIPART_OVERHEAD = 256 * 1024
ADMINS = (SUPER_ADMIN, INITIATOR_ADMIN, APPROVER_ADMIN)  # see and resolve parked events


def create_app(
    api: OriginationApi, runtime: Runtime, *, max_import_bytes: int = 20 * 1024 * 1024
) -> FastAPI:
    upload_limit = api.app.max_photo_bytes + MULTIPART_OVERHEAD
    app = service_app(
        "origination",
        runtime,
        state={"origination_api": api},
        errors=DOMAIN_ERRORS,
        body_limit_overrides=[
            ("/api/clients", upload_limit),
            ("/api/upload", upload_limit),
            ("/api/origination/import", max_import_bytes + MULTIPART_OVERHEAD),
        ],
    )

    app.add_middleware(WritesVisibleFirst, catch_up=api.projection.catch_up)

    @app.exception_handler(NotEligibleError)
    async def _not_eligible(_: Request, exc: NotEligibleError) -> JSONResponse:
        errors = [{"rule": f.rule, "message": f.message} for f in exc.failures]
        return JSONResponse(error_body(str(exc), "not_eligible", errors), status_code=400)

    for module in (
        groups,
        clients,
        products,
        loans,
        guarantors,
        assessments,
        uploads,
        admin,
        officer_performance,  # before loan_officers: its literal path is not an officer's id
        loan_officers,
    ):
        app.include_router(module.router)
    app.include_router(
        parked_events_router("origination", readers=ADMINS, resolvers=ADMINS, lot_of=get_parking)
    )
    document_real_answers(app)
    return app
