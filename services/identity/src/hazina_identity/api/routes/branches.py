"""Branches: every staff member reads them (forms load them first); the super admin opens and
edits them."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from hazina_identity.api.deps import EMAIL_OR_BLANK, PHONE_OR_BLANK, ApiDep, StaffDep, SuperAdminDep
from hazina_identity.api.staff_views import branch_view
from hazina_identity.application.branches import BranchNotFoundError
from hazina_identity.domain.branch import BranchDetails
from hazina_servicekit.http import correlation_id
from hazina_servicekit.text import PlainText

router = APIRouter(prefix="/api/branches", tags=["branches"])


class BranchRequest(BaseModel):
    """What the branches page sends: ``code`` is upper-cased and must be unique."""

    model_config = ConfigDict(extra="ignore")
    name: PlainText = Field(min_length=1, max_length=120)
    code: PlainText = Field(min_length=1, max_length=20, pattern=r"^\s*[A-Za-z0-9_-]+\s*$")
    location: PlainText | None = Field(default=None, max_length=200)
    address: PlainText | None = Field(default=None, max_length=300)
    phone: PlainText | None = Field(default=None, max_length=20, pattern=PHONE_OR_BLANK)
    email: PlainText | None = Field(default=None, max_length=254, pattern=EMAIL_OR_BLANK)

    def details(self) -> BranchDetails:
        return BranchDetails.of(
            name=self.name,
            code=self.code,
            location=self.location,
            address=self.address,
            phone=self.phone.replace(" ", "") if self.phone else None,
            email=self.email,
        )


def _view(api: ApiDep, branch_id: uuid.UUID) -> dict[str, Any]:
    row = api.branch_directory.branch(branch_id)
    if row is None:
        raise BranchNotFoundError("Branch not found")
    return branch_view(row)


@router.get("")
def list_branches(principal: StaffDep, api: ApiDep) -> list[dict[str, Any]]:
    """Every branch, a bare array (the pages' dropdowns)."""
    api.directory_projection.catch_up()
    return [branch_view(row) for row in api.branch_directory.branches()]


@router.get("/{branch_id}")
def get_branch(branch_id: uuid.UUID, principal: StaffDep, api: ApiDep) -> dict[str, Any]:
    api.directory_projection.catch_up()
    return _view(api, branch_id)


@router.post("", status_code=201)
def open_branch(
    body: BranchRequest, request: Request, actor: SuperAdminDep, api: ApiDep
) -> dict[str, Any]:
    branch = api.branches.open(
        body.details(), by=actor.user_id, correlation_id=correlation_id(request)
    )
    return _view(api, branch.id)


@router.put("/{branch_id}")
def change_branch(
    branch_id: uuid.UUID, body: BranchRequest, request: Request, actor: SuperAdminDep, api: ApiDep
) -> dict[str, Any]:
    api.branches.change(
        branch_id, body.details(), by=actor.user_id, correlation_id=correlation_id(request)
    )
    return _view(api, branch_id)
