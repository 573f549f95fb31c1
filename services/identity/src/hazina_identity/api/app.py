"""identity's FastAPI application: routes, error model, health, and its background workers."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager

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
from hazina_servicekit.auth import TokenVerifier
from hazina_servicekit.errors import add_error_handlers, error_body
from hazina_servicekit.health import Health, ReadinessCheck, health_payload, health_router
from hazina_servicekit.http import add_http_middleware
from hazina_servicekit.openapi import document_real_answers, document_urls
from hazina_servicekit.parking_api import parked_events_router
from hazina_servicekit.runtime import Worker, running_workers
from hazina_servicekit.settings import ServiceSettings

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
    *,
    settings: ServiceSettings,
    api: IdentityApi,
    oversight_api: oversight.OversightApi,
    verifier: TokenVerifier,
    jwks: Callable[[], dict[str, object]],
    readiness: dict[str, ReadinessCheck],
    workers: list[Worker] | None = None,
) -> FastAPI:
    def lifespan(_: FastAPI) -> AbstractAsyncContextManager[None]:
        return running_workers(workers or [])

    app = FastAPI(
        title="Hazina identity",
        version="0.1.0",
        lifespan=lifespan,
        **document_urls("identity"),
    )
    app.state.identity_api = api
    app.state.oversight_api = oversight_api
    app.state.token_verifier = verifier
    add_http_middleware(
        app, cors_origins=settings.cors_origins, max_body_bytes=settings.max_body_bytes
    )
    add_error_handlers(app, DOMAIN_ERRORS)

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
    app.include_router(health_router("identity", readiness))

    @app.get("/api/health", tags=["health"], response_model=Health)
    async def seed_health() -> dict[str, str]:
        return health_payload("identity")

    @app.get("/.well-known/jwks.json", tags=["auth"])
    def jwks_document() -> JSONResponse:
        return JSONResponse(jwks(), headers={"Cache-Control": "public, max-age=300"})

    document_real_answers(app)
    return app
