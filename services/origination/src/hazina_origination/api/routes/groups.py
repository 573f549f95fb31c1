"""Borrower groups: officers create, admins approve, the officer names the signatories."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response

from hazina_origination.api.deps import (
    ApiDep,
    GroupCreator,
    RecordApprover,
    SignatorySetter,
    Staff,
    actor,
    scope_of,
)
from hazina_origination.api.schemas import GroupCreateRequest, SignatoriesRequest
from hazina_origination.api.views import group_view
from hazina_origination.application.commands import CreateGroup
from hazina_origination.application.ports import ListQuery
from hazina_origination.domain.errors import NotFoundError
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
    rows, total = api.fresh().groups(
        ListQuery(
            officer_id=scope_of(principal),
            offset=page.offset,
            limit=page.limit,
            search=search,
            status=_statuses(status),
            loan_officer_id=loanOfficerId,
        )
    )
    set_total(response, total)
    return [group_view(row, links=api.links) for row in rows]


@router.get("/{group_id}")
def get_group(group_id: uuid.UUID, principal: Staff, api: ApiDep) -> dict[str, Any]:
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


def _statuses(text: str | None) -> list[str] | None:
    if not text:
        return None
    return [part.strip() for part in text.split(",") if part.strip()] or None
