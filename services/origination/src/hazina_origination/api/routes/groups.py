"""Borrower groups: officers create, admins approve, the officer names the signatories."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response

from hazina_origination.api.deps import (
    ApiDep,
    GroupCreator,
    RecordApprover,
    RecordEditor,
    SignatorySetter,
    Staff,
    actor,
    scope_of,
)
from hazina_origination.api.schemas import (
    GroupCreateRequest,
    GroupEditRequest,
    SignatoriesRequest,
)
from hazina_origination.api.views import group_view
from hazina_origination.application.commands import CreateGroup, EditGroup
from hazina_origination.application.ports import ListQuery
from hazina_origination.domain.errors import NotFoundError
from hazina_origination.domain.group import stored_statuses
from hazina_servicekit.auth import Principal
from hazina_servicekit.pagination import PageDep, set_total
from hazina_servicekit.text import PlainText

router = APIRouter(prefix="/api/groups", tags=["groups"])


def _detail(api: ApiDep, group_id: uuid.UUID, principal: Principal) -> dict[str, Any]:
    read = api.fresh()
    row = read.group(group_id)
    scope = scope_of(principal)
    if row is None or (scope is not None and row["loan_officer_id"] != scope):
        raise NotFoundError("Group not found")
    return group_view(row, read.members(group_id), links=api.links)


@router.post("", status_code=201)
def create_group(
    body: GroupCreateRequest, request: Request, principal: GroupCreator, api: ApiDep
) -> dict[str, Any]:
    group = api.app.create_group(
        CreateGroup(
            name=body.name,
            meeting_day=body.meetingDay,
            meeting_time=body.meetingTime,
            loan_officer_id=body.loanOfficerId,
            branch_id=body.branchId,
            region=body.region,
            signatories=body.chosen(),
        ),
        actor(principal, request),
    )
    return _detail(api, group.id, principal)


@router.get("")
def list_groups(
    response: Response,
    principal: Staff,
    api: ApiDep,
    page: PageDep,
    status: Annotated[PlainText | None, Query(max_length=100)] = None,
    search: Annotated[PlainText | None, Query(max_length=100)] = None,
    loanOfficerId: uuid.UUID | None = None,  # noqa: N803 - the frontend's parameter name
) -> list[dict[str, Any]]:
    read = api.fresh()
    rows, total = read.groups(
        ListQuery(
            officer_id=scope_of(principal),
            offset=page.offset,
            limit=page.limit,
            search=search,
            status=_group_statuses(status),
            loan_officer_id=loanOfficerId,
        )
    )
    set_total(response, total)
    members = read.members_of([row["group_id"] for row in rows])
    return [group_view(row, members.get(row["group_id"], []), links=api.links) for row in rows]


@router.get("/{group_id}")
def get_group(group_id: uuid.UUID, principal: Staff, api: ApiDep) -> dict[str, Any]:
    """The group with its members and signatories (the page's ``populate`` is not needed)."""
    return _detail(api, group_id, principal)


@router.put("/{group_id}")
def edit_group(
    group_id: uuid.UUID,
    body: GroupEditRequest,
    request: Request,
    principal: RecordEditor,
    api: ApiDep,
) -> dict[str, Any]:
    """Change the details sent, the signatories, or the status (active = approve or reinstate,
    rejected, suspended); each a recorded event, and sending what is already so records nothing."""
    api.app.edit_group(
        group_id,
        EditGroup(fields=body.fields(), signatories=body.chosen(), status=body.status),
        actor(principal, request),
    )
    return _detail(api, group_id, principal)


@router.put("/{group_id}/approve")
def approve_group(
    group_id: uuid.UUID, request: Request, principal: RecordApprover, api: ApiDep
) -> dict[str, Any]:
    api.app.approve_group(group_id, actor(principal, request))
    return _detail(api, group_id, principal)


@router.put("/{group_id}/assign-signatories")
@router.put("/{group_id}/signatories")
def assign_signatories(
    group_id: uuid.UUID,
    body: SignatoriesRequest,
    request: Request,
    principal: SignatorySetter,
    api: ApiDep,
) -> dict[str, Any]:
    api.app.assign_signatories(
        group_id,
        [(a.role, a.memberNationalId) for a in body.signatoryAssignments],
        actor(principal, request),
    )
    return _detail(api, group_id, principal)


def _group_statuses(text: str | None) -> list[str] | None:
    shown = _statuses(text)
    return stored_statuses(shown) if shown else None


def _statuses(text: str | None) -> list[str] | None:
    if not text:
        return None
    return [part.strip() for part in text.split(",") if part.strip()] or None
