"""identity's FastAPI application: routes, error model, health, and its background workers."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import FastAPI
from fastapi.responses import JSONResponse

from hazina_identity.api.deps import SUPER_ADMIN, IdentityApi, get_parking
from hazina_identity.api.routes import auth, branches, oversight, staff, users
from hazina_identity.api.routes.staff import UnknownBranchError
from hazina_identity.application.branches import BranchCodeTakenError, BranchNotFoundError
from hazina_identity.application.identity import (
    ConcurrentChangeError,
    InvalidCredentialsError,
    InvalidRefreshTokenError,
    LockedOutError,
    UsernameTakenError,
    UserNotFoundError,
    WrongCurrentPasswordError,
)
from hazina_identity.domain.branch import BranchDetailsError
from hazina_identity.domain.errors import (
    IdentityError,
    PasswordPolicyError,
    SelfLockoutError,
    UnknownRoleError,
    UserInactiveError,
)
from hazina_servicekit.errors import error_body
from hazina_servicekit.health import Health, health_payload
from hazina_servicekit.openapi import document_real_answers
from hazina_servicekit.parking_api import parked_events_router
from hazina_servicekit.service import Runtime, service_app

DOMAIN_ERRORS: dict[type[Exception], int] = {
    PasswordPolicyError: 400,
    UnknownRoleError: 400,
    WrongCurrentPasswordError: 400,
    InvalidCredentialsError: 401,
    InvalidRefreshTokenError: 401,
    UserInactiveError: 403,
    SelfLockoutError: 409,
    UserNotFoundError: 404,
    UsernameTakenError: 409,
    ConcurrentChangeError: 409,
    BranchCodeTakenError: 409,
    BranchNotFoundError: 404,
    BranchDetailsError: 400,
    UnknownBranchError: 400,
    IdentityError: 400,
}


def create_app(
    api: IdentityApi,
    runtime: Runtime,
    *,
    oversight_api: oversight.OversightApi,
    jwks: Callable[[], dict[str, object]],
) -> FastAPI:
    app = service_app(
        "identity",
        runtime,
        state={"identity_api": api, "oversight_api": oversight_api},
        errors=DOMAIN_ERRORS,
    )

    @app.exception_handler(LockedOutError)
    async def _locked(_: object, exc: LockedOutError) -> JSONResponse:
        return JSONResponse(
            error_body(str(exc), "locked_out"),
            status_code=429,
            headers={"Retry-After": str(exc.retry_after_seconds)},
        )

    app.include_router(auth.router)
    app.include_router(users.router)
    app.include_router(branches.router)
    app.include_router(staff.admins)
    app.include_router(staff.loan_officers)
    app.include_router(oversight.router)
    # Identity is administered by the super admin alone (as /api/users is).
    app.include_router(
        parked_events_router(
            "identity", readers=[SUPER_ADMIN], resolvers=[SUPER_ADMIN], lot_of=get_parking
        )
    )

    @app.get("/api/health", tags=["health"], response_model=Health)
    async def seed_health() -> dict[str, str]:
        return health_payload("identity")

    @app.get("/.well-known/jwks.json", tags=["auth"])
    def jwks_document() -> JSONResponse:
        return JSONResponse(jwks(), headers={"Cache-Control": "public, max-age=300"})

    document_real_answers(app)
    return app
