"""Sign-in, token refresh, sign-out, the signed-in user, and changing one's own password."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from hazina_identity.api.deps import ApiDep
from hazina_identity.api.responses import Message, ProfileView, SessionView
from hazina_identity.api.schemas import (
    ChangePasswordRequest,
    LoginRequest,
    LogoutRequest,
    RefreshRequest,
    profile_view,
)
from hazina_identity.application.commands import LogIn
from hazina_identity.application.identity import Session
from hazina_servicekit.auth import PrincipalDep
from hazina_servicekit.http import client_address, correlation_id
from hazina_servicekit.openapi import error_response

router = APIRouter(prefix="/api/auth", tags=["auth"])


def _session_body(session: Session) -> dict[str, Any]:
    user = session.user
    return {
        "_id": str(user.id),
        "username": user.username,
        "name": user.name,
        "role": user.role.value,
        "regions": list(user.regions),
        "branchId": user.branch_id,
        "token": session.access.token,
        "refreshToken": session.refresh_token,
        "expiresIn": session.access.expires_in,
        "tokenType": "Bearer",
    }


@router.post(
    "/login",
    response_model=SessionView,
    responses={
        401: error_response(401, "Wrong username or password"),
        403: error_response(403, "The account is deactivated"),
        429: error_response(429, "Too many failed sign-ins; try again after Retry-After seconds"),
    },
)
def login(body: LoginRequest, request: Request, api: ApiDep) -> dict[str, Any]:
    session = api.identity.log_in(
        LogIn(
            username=body.username,
            password=body.password,
            client_address=client_address(request),
            correlation_id=correlation_id(request),
        )
    )
    return _session_body(session)


@router.post(
    "/refresh",
    response_model=SessionView,
    responses={
        401: error_response(401, "The refresh token is unknown, used or expired"),
        403: error_response(403, "The account is deactivated"),
    },
)
def refresh(body: RefreshRequest, api: ApiDep) -> dict[str, Any]:
    return _session_body(api.identity.refresh(body.refreshToken))


@router.post("/logout", response_model=Message)
def logout(
    principal: PrincipalDep, request: Request, api: ApiDep, body: LogoutRequest | None = None
) -> dict[str, str]:
    """Ends this session (its refresh token and every access token naming it, in every service);
    without a refresh token in the body, every session of the user."""
    api.identity.log_out(
        principal.user_id,
        body.refreshToken if body else None,
        session_id=principal.session_id,
        correlation_id=correlation_id(request),
    )
    return {"message": "Logged out"}


@router.get("/me", response_model=ProfileView)
def me(principal: PrincipalDep, api: ApiDep) -> dict[str, Any]:
    return profile_view(api.identity.get_user(principal.user_id))


@router.put("/change-password", response_model=Message)
def change_password(
    body: ChangePasswordRequest, request: Request, principal: PrincipalDep, api: ApiDep
) -> dict[str, str]:
    api.identity.change_password(
        principal.user_id,
        body.currentPassword,
        body.newPassword,
        body.confirmPassword,
        correlation_id=correlation_id(request),
    )
    return {"message": "Password changed. Every session has been signed out: sign in again."}
