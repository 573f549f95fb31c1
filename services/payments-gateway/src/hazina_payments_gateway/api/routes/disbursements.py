"""Disbursements as staff see them: every state queryable, and a retry for a failed one."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response

from hazina_payments_gateway.api.deps import ApiDep, DisburserDep, StaffDep, scope_of
from hazina_payments_gateway.api.responses import DisbursementRow, DisbursementView
from hazina_payments_gateway.api.schemas import disbursement_row_view, disbursement_view
from hazina_payments_gateway.application.gateway import DisbursementNotFoundError
from hazina_payments_gateway.domain.disbursement import DisbursementStatus
from hazina_servicekit.errors import BadRequest
from hazina_servicekit.pagination import PageDep, set_total
from hazina_servicekit.text import PlainText

router = APIRouter(prefix="/api/payments/disbursements", tags=["disbursements"])


@router.get("", response_model=list[DisbursementRow])
def list_disbursements(
    response: Response,
    api: ApiDep,
    principal: StaffDep,
    page: PageDep,
    status: Annotated[PlainText | None, Query(max_length=32)] = None,
    loanId: Annotated[uuid.UUID | None, Query()] = None,  # noqa: N803 - the frontend's name
) -> list[dict[str, Any]]:
    if status is not None and status not in {s.value for s in DisbursementStatus}:
        raise BadRequest(f"status must be one of {', '.join(s.value for s in DisbursementStatus)}")
    api.projection.catch_up()
    rows, total = api.index.list_disbursements(
        status=status,
        loan_id=loanId,
        offset=page.offset,
        limit=page.limit,
        officer_id=scope_of(principal),
    )
    set_total(response, total)
    return [disbursement_row_view(r) for r in rows]


@router.get("/{disbursement_id}", response_model=DisbursementView)
def get_disbursement(
    disbursement_id: uuid.UUID, api: ApiDep, principal: StaffDep
) -> dict[str, Any]:
    disbursement = api.app.get_disbursement(disbursement_id)
    if not api.ownership.may_see_loan(principal, disbursement.loan_id):
        raise DisbursementNotFoundError("Disbursement not found")
    return disbursement_view(disbursement)


@router.post("/{disbursement_id}/retry", status_code=202, response_model=DisbursementView)
def retry_disbursement(
    disbursement_id: uuid.UUID, api: ApiDep, actor: DisburserDep
) -> dict[str, Any]:
    """A failed disbursement goes out again under a new OriginatorConversationID (the old one is settled)."""
    disbursement = api.app.retry_disbursement(disbursement_id, by=actor.user_id)
    return disbursement_view(disbursement)
