"""Loan officers as origination knows them from identity's events: who groups can be given to."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response

from hazina_origination.api.deps import ApiDep, Staff
from hazina_origination.api.views import loan_officer_view
from hazina_origination.application.ports import ListQuery
from hazina_origination.domain.errors import NotFoundError
from hazina_servicekit.pagination import PageDep, set_total
from hazina_servicekit.text import PlainText

router = APIRouter(prefix="/api/loan-officers", tags=["loan officers"])


@router.get("")
def list_loan_officers(
    response: Response,
    principal: Staff,
    api: ApiDep,
    page: PageDep,
    active: bool | None = None,
    search: Annotated[PlainText | None, Query(max_length=100)] = None,
) -> list[dict[str, Any]]:
    """Every loan officer (``?active=true`` for those who may still be given groups)."""
    rows, total = api.read_models.loan_officers(
        ListQuery(offset=page.offset, limit=page.limit, search=search, active=active)
    )
    set_total(response, total)
    return [loan_officer_view(row) for row in rows]


@router.get("/{user_id}")
def get_loan_officer(user_id: uuid.UUID, principal: Staff, api: ApiDep) -> dict[str, Any]:
    row = api.read_models.loan_officer(user_id)
    if row is None:
        raise NotFoundError("Loan officer not found")
    return loan_officer_view(row)
