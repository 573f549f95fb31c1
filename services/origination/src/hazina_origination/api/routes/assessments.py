"""Credit assessments (the 5 Cs): recorded whatever the score; below 18/25 blocks approval."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Request, Response

from hazina_origination.api.deps import ApiDep, Assessor, Staff, actor, scope_of
from hazina_origination.api.schemas import AssessmentRequest
from hazina_origination.api.views import assessment_view
from hazina_origination.application.commands import AssessCredit
from hazina_origination.application.ports import ListQuery
from hazina_origination.domain.assessment import FiveCs
from hazina_origination.domain.errors import NotFoundError
from hazina_servicekit.auth import Principal
from hazina_servicekit.pagination import PageDep, set_total

router = APIRouter(prefix="/api/credit-assessments", tags=["credit assessments"])


def _of_loan(api: ApiDep, loan_id: uuid.UUID, principal: Principal) -> dict[str, Any]:
    row = api.fresh().assessment_of(loan_id)
    scope = scope_of(principal)
    if row is None or (scope is not None and row["loan_officer_id"] != scope):
        raise NotFoundError("Credit assessment not found")
    return assessment_view(row)


@router.post("", status_code=201)
def assess(
    body: AssessmentRequest, request: Request, principal: Assessor, api: ApiDep
) -> dict[str, Any]:
    api.app.assess_credit(
        AssessCredit(
            loan_id=body.loanId,
            scores=FiveCs(
                character=body.character,
                capacity=body.capacity,
                capital=body.capital,
                collateral=body.collateral,
                conditions=body.conditions,
            ),
            officer_notes=body.officerNotes,
        ),
        actor(principal, request),
    )
    view = _of_loan(api, body.loanId, principal)
    view["message"] = (
        "Credit assessment recorded"
        if view["passed"]
        else f"Credit assessment recorded; {view['totalScore']}/25 is below 18, so the loan cannot be approved"
    )
    return view


@router.get("")
def list_assessments(
    response: Response,
    principal: Staff,
    api: ApiDep,
    page: PageDep,
    loanId: uuid.UUID | None = None,  # noqa: N803 - the frontend's parameter name
) -> list[dict[str, Any]]:
    rows, total = api.fresh().assessments(
        ListQuery(
            officer_id=scope_of(principal), offset=page.offset, limit=page.limit, loan_id=loanId
        )
    )
    set_total(response, total)
    return [assessment_view(row) for row in rows]


@router.get("/{loan_id}")
def assessment_of_loan(loan_id: uuid.UUID, principal: Staff, api: ApiDep) -> dict[str, Any]:
    return _of_loan(api, loan_id, principal)
