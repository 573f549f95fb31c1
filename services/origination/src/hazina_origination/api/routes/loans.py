"""Loans: initiate (officer or initiator), approve or reject (checker), disburse (202, once)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse

from hazina_origination.api.deps import (
    ApiDep,
    Disburser,
    LoanApprover,
    LoanInitiator,
    Staff,
    actor,
    scope_of,
)
from hazina_origination.api.routes.groups import _statuses
from hazina_origination.api.schemas import LoanInitiateRequest, RejectRequest
from hazina_origination.api.views import guarantor_view, loan_actions, loan_totals, loan_view
from hazina_origination.application.commands import InitiateLoan
from hazina_origination.application.ports import ListQuery
from hazina_origination.domain.errors import InvalidInputError, NotFoundError
from hazina_servicekit.auth import Principal
from hazina_servicekit.dates import IsoDate
from hazina_servicekit.pagination import PageDep, set_total
from hazina_servicekit.text import PlainText

router = APIRouter(prefix="/api/loans", tags=["loans"])


def _row(api: ApiDep, loan_id: uuid.UUID, principal: Principal) -> dict[str, Any]:
    row = api.fresh().loan(loan_id)
    scope = scope_of(principal)
    if row is None or (scope is not None and row["loan_officer_id"] != scope):
        raise NotFoundError("Loan not found")
    return row


@router.post("/initiate", status_code=201)
def initiate_loan(
    body: LoanInitiateRequest, request: Request, principal: LoanInitiator, api: ApiDep
) -> dict[str, Any]:
    principal_cents = body.amount if body.amount is not None else body.amountKES
    if principal_cents is None:
        raise InvalidInputError("amount is required")
    loan = api.app.initiate_loan(
        InitiateLoan(
            client_national_id=body.clientNationalId,
            product_type=body.type or body.product,
            product_id=body.productId,
            principal_cents=principal_cents,
            term=body.term,
            purpose=body.purpose,
        ),
        actor(principal, request),
    )
    view = loan_view(_row(api, loan.id, principal))
    return {
        "message": "Loan initiated",
        "loan": view,
        "application_fee_cents": view["application_fee_cents"],
    }


@router.get("")
def list_loans(
    response: Response,
    principal: Staff,
    api: ApiDep,
    page: PageDep,
    status: Annotated[PlainText | None, Query(max_length=200)] = None,
    groupId: uuid.UUID | None = None,  # noqa: N803 - the frontend's parameter names
    clientId: uuid.UUID | None = None,  # noqa: N803
    loanOfficerId: uuid.UUID | None = None,  # noqa: N803
    officerId: uuid.UUID | None = None,  # noqa: N803
    type: Annotated[PlainText | None, Query(max_length=40)] = None,
    product: Annotated[PlainText | None, Query(max_length=40)] = None,
    startDate: IsoDate | None = None,  # noqa: N803
    endDate: IsoDate | None = None,  # noqa: N803
    search: Annotated[PlainText | None, Query(max_length=100)] = None,
) -> list[dict[str, Any]]:
    kind = type or product
    rows, total = api.fresh().loans(
        ListQuery(
            officer_id=scope_of(principal),
            offset=page.offset,
            limit=page.limit,
            search=search,
            status=_statuses(status),
            group_id=groupId,
            client_id=clientId,
            loan_officer_id=loanOfficerId or officerId,
            created_from=startDate,
            created_to=endDate,
            product_type=kind.strip().lower() if kind else None,
        )
    )
    set_total(response, total)
    return [loan_view(row) for row in rows]


@router.get("/{loan_id}")
def get_loan(loan_id: uuid.UUID, principal: Staff, api: ApiDep) -> dict[str, Any]:
    """The loan's own fields at the top (and again under ``loan``), with its guarantors and next actions."""
    row = _row(api, loan_id, principal)
    guarantors, _ = api.read_models.guarantors(ListQuery(loan_id=loan_id))
    view = loan_view(row)
    return {
        **view,
        "loan": view,
        "guarantors": [guarantor_view(g, links=api.links) for g in guarantors],
        "totals": loan_totals(view),
        "actions": loan_actions(row, principal.role),
    }


@router.put("/{loan_id}/approve")
def approve_loan(
    loan_id: uuid.UUID, request: Request, principal: LoanApprover, api: ApiDep
) -> dict[str, Any]:
    api.app.approve_loan(loan_id, actor(principal, request))
    return {"message": "Loan approved", "loan": loan_view(_row(api, loan_id, principal))}


@router.put("/{loan_id}/reject")
def reject_loan(
    loan_id: uuid.UUID,
    request: Request,
    principal: LoanApprover,
    api: ApiDep,
    body: RejectRequest | None = None,
) -> dict[str, Any]:
    reason = (body.reason if body else None) or "No reason given"
    api.app.reject_loan(loan_id, reason, actor(principal, request))
    return {"message": "Loan rejected", "loan": loan_view(_row(api, loan_id, principal))}


@router.post("/{loan_id}/disburse", status_code=202)
@router.put("/{loan_id}/disburse", status_code=202)
def disburse_loan(
    loan_id: uuid.UUID, request: Request, principal: Disburser, api: ApiDep
) -> JSONResponse:
    """Ask the payments gateway to pay out; a repeat while pending answers with the same transaction."""
    result = api.app.request_disbursement(loan_id, actor(principal, request))
    body = {
        "message": "Disbursement already initiated"
        if result.repeated
        else "Disbursement initiated",
        "loanId": str(result.loan_id),
        "transactionId": result.transaction_id,
        "status": "disbursement_pending",
    }
    return JSONResponse(body, status_code=202)
