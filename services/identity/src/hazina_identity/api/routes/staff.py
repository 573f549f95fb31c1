"""The staff pages of Dhamira's frontend: admins (``/api/admins``) and loan officers
(``/api/loan-officers``). Both are staff users of identity seen through a role; the super admin
manages them, and every staff member reads the loan officers (dropdowns). ``_id`` is the user id.
"""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from hazina_identity.api.deps import (
    EMAIL_OR_BLANK,
    PHONE_OR_BLANK,
    ApiDep,
    StaffDep,
    SuperAdminDep,
)
from hazina_identity.api.staff_views import staff_member_view
from hazina_identity.application.commands import CreateUser, StaffDetails, UpdateUser
from hazina_identity.application.identity import UserNotFoundError
from hazina_identity.domain.errors import IdentityError
from hazina_identity.domain.password_policy import STAFF_PAGES_INITIAL_PASSWORD
from hazina_identity.domain.roles import Role
from hazina_servicekit.http import correlation_id
from hazina_servicekit.text import PlainText

admins = APIRouter(prefix="/api/admins", tags=["staff"])
loan_officers = APIRouter(prefix="/api/loan-officers", tags=["staff"])

ADMIN_ROLES = (Role.ADMIN.value, Role.INITIATOR_ADMIN.value, Role.APPROVER_ADMIN.value)
OFFICER_ROLES = (Role.LOAN_OFFICER.value,)
NATIONAL_ID = r"^[0-9A-Za-z]{4,20}$"
USERNAME = r"^[A-Za-z0-9._@-]{3,64}$"


class UnknownBranchError(IdentityError):
    """A branchId that names no branch (a 400: pick one from the list)."""


class AdminNotFoundError(UserNotFoundError):
    pass


class LoanOfficerNotFoundError(UserNotFoundError):
    pass


class _StaffForm(BaseModel):
    model_config = ConfigDict(extra="ignore")
    name: PlainText = Field(min_length=1, max_length=200)
    email: PlainText | None = Field(default=None, max_length=254, pattern=EMAIL_OR_BLANK)
    phone: PlainText | None = Field(default=None, max_length=20, pattern=PHONE_OR_BLANK)
    branchId: PlainText | None = Field(default=None, max_length=64)  # noqa: N815 - the page's names
    password: PlainText | None = Field(default=None, min_length=1, max_length=1024)


class AdminCreateRequest(_StaffForm):
    """The create-admin page: ``username`` is the ID number it sends as well."""

    idNumber: PlainText = Field(pattern=NATIONAL_ID)  # noqa: N815
    username: PlainText | None = Field(default=None, pattern=USERNAME)
    role: PlainText = Field(default=Role.ADMIN.value, max_length=40)


class AdminUpdateRequest(BaseModel):
    """Only the fields sent change."""

    model_config = ConfigDict(extra="ignore")
    name: PlainText | None = Field(default=None, min_length=1, max_length=200)
    email: PlainText | None = Field(default=None, max_length=254, pattern=EMAIL_OR_BLANK)
    phone: PlainText | None = Field(default=None, max_length=20, pattern=PHONE_OR_BLANK)
    idNumber: PlainText | None = Field(default=None, pattern=NATIONAL_ID)  # noqa: N815
    branchId: PlainText | None = Field(default=None, max_length=64)  # noqa: N815
    role: PlainText | None = Field(default=None, max_length=40)
    isActive: bool | None = None  # noqa: N815


class LoanOfficerCreateRequest(_StaffForm):
    """The loan-officers page: the officer signs in with their national ID."""

    nationalId: PlainText = Field(pattern=NATIONAL_ID)  # noqa: N815


def _blank_is_none(value: str | None) -> str | None:
    return value.strip() or None if value is not None else None


def _phone(value: str | None) -> str | None:
    tidy = _blank_is_none(value)
    return tidy.replace(" ", "") if tidy else None


def _branch(api: ApiDep, value: str | None) -> str | None:
    """The branch id as stored on the user, after checking it names a branch."""
    given = _blank_is_none(value)
    if given is None:
        return None
    try:
        branch_id = uuid.UUID(given)
    except ValueError:
        raise UnknownBranchError("Unknown branch; choose one from the branches list") from None
    api.directory_projection.catch_up()
    if api.branch_directory.branch(branch_id) is None:
        raise UnknownBranchError("Unknown branch; choose one from the branches list")
    return str(branch_id)


def _admin_role(value: str) -> str:
    if value not in ADMIN_ROLES:
        raise IdentityError(f"An admin's role is one of: {', '.join(ADMIN_ROLES)}")
    return value


def _member(
    api: ApiDep, user_id: uuid.UUID, roles: tuple[str, ...], missing: UserNotFoundError
) -> dict[str, Any]:
    api.directory_projection.catch_up()  # read your own write
    row = api.branch_directory.staff_member(user_id)
    if row is None or row["role"] not in roles:
        raise missing
    return staff_member_view(row)


def _create(
    api: ApiDep,
    request: Request,
    actor: SuperAdminDep,
    form: _StaffForm,
    *,
    username: str,
    national_id: str,
    role: str,
) -> uuid.UUID:
    user = api.identity.create_user(
        CreateUser(
            username=username,
            # The page tells the super admin the initial password; the person changes it.
            password=form.password or STAFF_PAGES_INITIAL_PASSWORD,
            role=role,
            regions=[],
            name=form.name.strip(),
            branch_id=_branch(api, form.branchId),
            national_id=national_id,
            phone=_phone(form.phone),
            actor_id=actor.user_id,
            correlation_id=correlation_id(request),
            email=_blank_is_none(form.email),
            from_staff_pages=True,
        )
    )
    return user.id


# Admins: the super admin's


@admins.get("")
def list_admins(actor: SuperAdminDep, api: ApiDep) -> list[dict[str, Any]]:
    api.directory_projection.catch_up()
    return [staff_member_view(row) for row in api.branch_directory.staff(ADMIN_ROLES)]


@admins.post("", status_code=201)
def create_admin(
    body: AdminCreateRequest, request: Request, actor: SuperAdminDep, api: ApiDep
) -> dict[str, Any]:
    user_id = _create(
        api,
        request,
        actor,
        body,
        username=body.username or body.idNumber,
        national_id=body.idNumber,
        role=_admin_role(body.role),
    )
    return _member(api, user_id, ADMIN_ROLES, AdminNotFoundError("Admin not found"))


@admins.get("/{user_id}")
def get_admin(user_id: uuid.UUID, actor: SuperAdminDep, api: ApiDep) -> dict[str, Any]:
    return _member(api, user_id, ADMIN_ROLES, AdminNotFoundError("Admin not found"))


@admins.put("/{user_id}")
def update_admin(
    user_id: uuid.UUID,
    body: AdminUpdateRequest,
    request: Request,
    actor: SuperAdminDep,
    api: ApiDep,
) -> dict[str, Any]:
    now = _member(api, user_id, ADMIN_ROLES, AdminNotFoundError("Admin not found"))
    sent = body.model_fields_set
    details = StaffDetails(
        name=body.name.strip() if body.name else now["name"] or None,
        email=_blank_is_none(body.email) if "email" in sent else now["email"] or None,
        phone=_phone(body.phone) if "phone" in sent else now["phone"] or None,
        national_id=body.idNumber or now["idNumber"] or None,
    )
    api.identity.update_user(
        UpdateUser(
            user_id=user_id,
            role=_admin_role(body.role) if body.role else None,
            regions=None,
            branch_id=_branch(api, body.branchId),
            branch_given="branchId" in sent,
            active=body.isActive,
            actor_id=actor.user_id,
            correlation_id=correlation_id(request),
            details=details,
        )
    )
    return _member(api, user_id, ADMIN_ROLES, AdminNotFoundError("Admin not found"))


@admins.delete("/{user_id}")
def deactivate_admin(
    user_id: uuid.UUID, request: Request, actor: SuperAdminDep, api: ApiDep
) -> dict[str, Any]:
    """Deactivates (never erases): their tokens stop working in every service within seconds."""
    _member(api, user_id, ADMIN_ROLES, AdminNotFoundError("Admin not found"))
    api.identity.update_user(
        UpdateUser(
            user_id=user_id,
            role=None,
            regions=None,
            branch_id=None,
            branch_given=False,
            active=False,
            actor_id=actor.user_id,
            correlation_id=correlation_id(request),
        )
    )
    return {"message": "Admin deactivated"}


# Loan officers: everyone reads them, the super admin creates them


@loan_officers.get("")
def list_loan_officers(
    principal: StaffDep, api: ApiDep, active: bool | None = None
) -> list[dict[str, Any]]:
    """Every loan officer (``?active=true`` for those who may still be given work)."""
    api.directory_projection.catch_up()
    rows = api.branch_directory.staff(OFFICER_ROLES, active=active)
    return [staff_member_view(row) for row in rows]


@loan_officers.post("", status_code=201)
def create_loan_officer(
    body: LoanOfficerCreateRequest, request: Request, actor: SuperAdminDep, api: ApiDep
) -> dict[str, Any]:
    user_id = _create(
        api,
        request,
        actor,
        body,
        username=body.nationalId,
        national_id=body.nationalId,
        role=Role.LOAN_OFFICER.value,
    )
    return _member(api, user_id, OFFICER_ROLES, LoanOfficerNotFoundError("Loan officer not found"))


@loan_officers.get("/{user_id}")
def get_loan_officer(user_id: uuid.UUID, principal: StaffDep, api: ApiDep) -> dict[str, Any]:
    return _member(api, user_id, OFFICER_ROLES, LoanOfficerNotFoundError("Loan officer not found"))
