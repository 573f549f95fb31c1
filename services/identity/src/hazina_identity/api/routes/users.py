"""Staff user management: the super admin only."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response

from hazina_identity.api.deps import SUPER_ADMIN, ApiDep, StaffDep, SuperAdminDep
from hazina_identity.api.responses import PasswordReset, StaffNameView, UserView
from hazina_identity.api.schemas import (
    ResetPasswordRequest,
    UserCreateRequest,
    UserUpdateRequest,
    user_view,
)
from hazina_identity.application.commands import CreateUser, UpdateUser
from hazina_identity.application.identity import UserNotFoundError
from hazina_identity.application.ports import DirectoryQuery
from hazina_servicekit.http import correlation_id
from hazina_servicekit.pagination import PageDep, set_total
from hazina_servicekit.text import PlainText

router = APIRouter(prefix="/api/users", tags=["users"])


def _view(api: ApiDep, user_id: uuid.UUID) -> dict[str, Any]:
    api.directory_projection.catch_up()  # read your own write
    row = api.directory.get(user_id)
    if row is None:
        raise UserNotFoundError("User not found")
    return user_view(row)


@router.post("", status_code=201, response_model=UserView)
def create_user(
    body: UserCreateRequest, request: Request, actor: SuperAdminDep, api: ApiDep
) -> dict[str, Any]:
    user = api.identity.create_user(
        CreateUser(
            username=body.username,
            password=body.password,
            role=body.role,
            regions=body.regions,
            name=body.name,
            branch_id=body.branchId,
            national_id=body.nationalId,
            phone=body.phone.replace(" ", "") if body.phone else None,
            actor_id=actor.user_id,
            correlation_id=correlation_id(request),
        )
    )
    return _view(api, user.id)


@router.get("", response_model=list[UserView])
def list_users(
    response: Response,
    actor: SuperAdminDep,
    api: ApiDep,
    page: PageDep,
    search: Annotated[PlainText | None, Query(max_length=100)] = None,
    role: Annotated[PlainText | None, Query(max_length=40)] = None,
    active: bool | None = None,
) -> list[dict[str, Any]]:
    api.directory_projection.catch_up()
    rows, total = api.directory.search(
        DirectoryQuery(
            search=search, role=role, active=active, offset=page.offset, limit=page.limit
        )
    )
    set_total(response, total)
    return [user_view(row) for row in rows]


@router.get("/{user_id}", response_model=UserView | StaffNameView)
def get_user(user_id: uuid.UUID, principal: StaffDep, api: ApiDep) -> dict[str, Any]:
    """The super admin sees the whole record; any other staff member only who the person is
    (the group page names a group's officer or creator from it)."""
    view = _view(api, user_id)
    if principal.role == SUPER_ADMIN:
        return view
    return {key: view[key] for key in ("_id", "name", "username", "role")}


@router.patch("/{user_id}", response_model=UserView)
def update_user(
    user_id: uuid.UUID, body: UserUpdateRequest, request: Request, actor: SuperAdminDep, api: ApiDep
) -> dict[str, Any]:
    api.identity.update_user(
        UpdateUser(
            user_id=user_id,
            role=body.role,
            regions=body.regions,
            branch_id=body.branchId,
            branch_given="branchId" in body.model_fields_set,
            active=body.active,
            actor_id=actor.user_id,
            correlation_id=correlation_id(request),
        )
    )
    return _view(api, user_id)


@router.post("/{user_id}/reset-password", response_model=PasswordReset)
def reset_password(
    user_id: uuid.UUID,
    request: Request,
    actor: SuperAdminDep,
    api: ApiDep,
    body: ResetPasswordRequest | None = None,
) -> dict[str, Any]:
    _, generated = api.identity.reset_password(
        user_id,
        body.newPassword if body else None,
        actor_id=actor.user_id,
        correlation_id=correlation_id(request),
    )
    result: dict[str, Any] = {"message": "Password reset; the user's sessions have been signed out"}
    if generated:
        result["temporaryPassword"] = generated
    return result


@router.post("/{user_id}/unlock")
def unlock(
    user_id: uuid.UUID, request: Request, actor: SuperAdminDep, api: ApiDep
) -> dict[str, Any]:
    """Lift the user's sign-in locks and delays at every address (recorded as LockoutLifted)."""
    lifted = api.identity.lift_lockout(
        user_id, actor_id=actor.user_id, correlation_id=correlation_id(request)
    )
    message = "Sign-in lock lifted" if lifted else "The user was not locked out"
    return {"message": message, "lifted": lifted}
