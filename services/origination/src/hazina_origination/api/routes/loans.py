"""Loans: initiate (officer or admin), approve or reject (checker), disburse (202, once), cancel
and mark the application fee paid (branch admins), and the loan history and "my loans" reports."""

from __future__ import annotations

import math
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse

from hazina_origination.api.deps import (
    ApiDep,
    Disburser,
    HistoryReader,
    LoanAdmin,
    LoanApprover,
    LoanInitiator,
    OfficerOnly,
    Staff,
    actor,
    scope_of,
)
from hazina_origination.api.routes.groups import _statuses
from hazina_origination.api.schemas import (
    BulkFeeRequest,
    GuarantorNomination,
    LoanInitiateRequest,
    RejectRequest,
)
from hazina_origination.api.views import (
    guarantor_view,
    loan_actions,
    loan_schedule,
    loan_totals,
    loan_view,
    next_due,
    progress_percent,
    repayment_view,
)
from hazina_origination.application.commands import GuarantorNominee, InitiateLoan
from hazina_origination.application.ports import ListQuery, ReadModelQueries
from hazina_origination.domain.errors import InvalidInputError, NotFoundError, OriginationError
from hazina_servicekit.auth import Principal
from hazina_servicekit.dates import IsoDate
from hazina_servicekit.pagination import PageDep, set_total
from hazina_servicekit.text import PlainText

router = APIRouter(prefix="/api/loans", tags=["loans"])

Filter = Annotated[PlainText | None, Query(max_length=40)]


def _row(api: ApiDep, loan_id: uuid.UUID, principal: Principal) -> dict[str, Any]:
    row = api.fresh().loan(loan_id)
    scope = scope_of(principal)
    if row is None or (scope is not None and row["loan_officer_id"] != scope):
        raise NotFoundError("Loan not found")
    return row


def _nominee(entry: GuarantorNomination) -> GuarantorNominee:
    client_id = None
    if entry.clientId:
        try:
            client_id = uuid.UUID(entry.clientId)
        except ValueError:
            client_id = None  # not one of ours: found by national ID, or reported back
    return GuarantorNominee(
        name=entry.name,
        client_id=client_id,
        national_id=entry.clientNationalId,
        relationship=entry.relationship,
        phone=entry.phone,
    )


@router.post("/initiate", status_code=201)
def initiate_loan(
    body: LoanInitiateRequest, request: Request, principal: LoanInitiator, api: ApiDep
) -> dict[str, Any]:
    """Initiate a loan; the guarantors the form names are recorded one by one, and any that could
    not be come back in ``guarantorErrors`` (the loan stands)."""
    principal_cents = body.amount if body.amount is not None else body.amountKES
    if principal_cents is None:
        raise InvalidInputError("amount is required")
    who = actor(principal, request)
    loan = api.app.initiate_loan(
        InitiateLoan(
            client_national_id=body.clientNationalId,
            group_id=body.groupId,
            product_type=body.type or body.product,
            product_id=body.productId,
            principal_cents=principal_cents,
            term=body.term,
            purpose=body.purpose,
            interest_rate_percent=Decimal(body.interestRatePercent)
            if body.interestRatePercent is not None
            else None,
        ),
        who,
    )
    errors = api.app.add_nominated_guarantors(loan.id, [_nominee(g) for g in body.guarantors], who)
    view = loan_view(_row(api, loan.id, principal))
    return {
        "message": "Loan initiated",
        "loan": view,
        "application_fee_cents": view["application_fee_cents"],
        "guarantorErrors": errors,
    }


def _query(
    principal: Principal,
    page: Any,
    *,
    status: str | None = None,
    group_id: uuid.UUID | None = None,
    client_id: uuid.UUID | None = None,
    loan_officer_id: uuid.UUID | None = None,
    product: str | None = None,
    loan_type: str | None = None,
    created_from: Any = None,
    created_to: Any = None,
    search: str | None = None,
) -> ListQuery:
    return ListQuery(
        officer_id=scope_of(principal),
        offset=page.offset,
        limit=page.limit,
        search=search,
        status=_statuses(status),
        group_id=group_id,
        client_id=client_id,
        loan_officer_id=loan_officer_id,
        created_from=created_from,
        created_to=created_to,
        product_type=product.strip().lower() if product else None,
        loan_type=loan_type.strip().lower() if loan_type else None,
    )


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
    type: Filter = None,
    product: Filter = None,
    loanType: Filter = None,  # noqa: N803
    startDate: IsoDate | None = None,  # noqa: N803
    endDate: IsoDate | None = None,  # noqa: N803
    search: Annotated[PlainText | None, Query(max_length=100)] = None,
) -> list[dict[str, Any]]:
    """Every loan the caller may see (no ``limit``: all). ``type`` is a product type as before
    group loans; ``loanType`` is individual or group."""
    rows, total = api.fresh().loans(
        _query(
            principal,
            page,
            status=status,
            group_id=groupId,
            client_id=clientId,
            loan_officer_id=loanOfficerId or officerId,
            product=product or (type if type not in ("individual", "group") else None),
            loan_type=loanType or (type if type in ("individual", "group") else None),
            created_from=startDate,
            created_to=endDate,
            search=search,
        )
    )
    set_total(response, total)
    return [loan_view(row) for row in rows]


def _statistics(read: ReadModelQueries, query: ListQuery) -> dict[str, Any]:
    """The report's figures in cents: overall, by status and by product (``_id`` the key)."""
    groups = read.loan_totals_by(query)
    figures = ("principal_cents", "total_due_cents", "total_paid_cents", "outstanding_cents")

    def summed(rows: list[dict[str, Any]]) -> dict[str, int]:
        out = {"count": sum(int(r["count"]) for r in rows)}
        for name in figures:
            out[name] = sum(int(r[name]) for r in rows)
        return out

    def shaped(key: str, totals: dict[str, int]) -> dict[str, Any]:
        return {
            "_id": key,
            "count": totals["count"],
            "totalPrincipal": totals["principal_cents"],
            "totalDue": totals["total_due_cents"],
            "totalPaid": totals["total_paid_cents"],
            "totalOutstanding": totals["outstanding_cents"],
        }

    overall = summed(groups)
    by_status = sorted({r["status"] for r in groups})
    by_product = sorted({r["product_type"] for r in groups})
    return {
        "overall": {
            "totalLoans": overall["count"],
            "totalPrincipal": overall["principal_cents"],
            "totalDue": overall["total_due_cents"],
            "totalPaid": overall["total_paid_cents"],
            "totalOutstanding": overall["outstanding_cents"],
        },
        "totalLoans": overall["count"],
        "totalPrincipal": overall["principal_cents"],
        "totalOutstanding": overall["outstanding_cents"],
        "byStatus": [shaped(s, summed([r for r in groups if r["status"] == s])) for s in by_status],
        "byProduct": [
            shaped(p, summed([r for r in groups if r["product_type"] == p])) for p in by_product
        ],
    }


def _report(read: ReadModelQueries, query: ListQuery) -> dict[str, Any]:
    rows, total = read.loans(query)
    limit = query.limit or max(total, 1)
    return {
        "data": [loan_view(row) for row in rows],
        "total": total,
        "page": query.offset // limit + 1,
        "limit": limit,
        "totalPages": math.ceil(total / limit) if total else 0,
        "statistics": _statistics(read, query),
    }


@router.get("/history")
def loan_history(
    principal: HistoryReader,
    api: ApiDep,
    page: PageDep,
    status: Annotated[PlainText | None, Query(max_length=200)] = None,
    product: Filter = None,
    loanType: Filter = None,  # noqa: N803 - the frontend's parameter names
    startDate: IsoDate | None = None,  # noqa: N803
    endDate: IsoDate | None = None,  # noqa: N803
) -> dict[str, Any]:
    """The loan history report: a page of loans and the figures of all that match (cents)."""
    query = _query(
        principal,
        page,
        status=status,
        product=product,
        loan_type=loanType,
        created_from=startDate,
        created_to=endDate,
    )
    return _report(api.fresh(), query)


@router.get("/my-loans")
def my_loans(
    principal: OfficerOnly,
    api: ApiDep,
    page: PageDep,
    status: Annotated[PlainText | None, Query(max_length=200)] = None,
    product: Filter = None,
    groupId: uuid.UUID | None = None,  # noqa: N803 - the frontend's parameter name
) -> dict[str, Any]:
    """A loan officer's own loans, their groups (to filter by) and the figures of their book."""
    read = api.fresh()
    body = _report(read, _query(principal, page, status=status, product=product, group_id=groupId))
    groups, _ = read.groups(ListQuery(officer_id=principal.user_id))
    body["myGroups"] = [
        {"id": str(g["group_id"]), "_id": str(g["group_id"]), "name": g["name"]} for g in groups
    ]
    return body


@router.post("/mark-application-fee-paid-bulk")
def mark_fees_paid_in_bulk(
    body: BulkFeeRequest, request: Request, principal: LoanAdmin, api: ApiDep
) -> dict[str, Any]:
    """Each loan on its own: one that cannot be marked is reported and the others still are."""
    who = actor(principal, request)
    marked, failed = [], []
    for loan_id in dict.fromkeys(body.loanIds):
        try:
            _row(api, loan_id, principal)
            api.app.mark_application_fee_paid(loan_id, who)
            marked.append(str(loan_id))
        except OriginationError as refused:
            failed.append({"loanId": str(loan_id), "message": str(refused)})
    return {
        "message": f"Application fee marked paid on {len(marked)} loan(s)",
        "updated": marked,
        "modifiedCount": len(marked),
        "failed": failed,
    }


@router.get("/{loan_id}")
def get_loan(loan_id: uuid.UUID, principal: Staff, api: ApiDep) -> dict[str, Any]:
    """The loan (at the top and under ``loan``) with its guarantors, assessment, schedule,
    repayments, totals in KES and the actions this caller may take next."""
    read = api.fresh()
    row = _row(api, loan_id, principal)
    guarantors, _ = read.guarantors(ListQuery(loan_id=loan_id))
    view = loan_view(row)
    # The assess page builds /api/clients/<clientId> from the loan: an id there, the person in
    # ``client`` (the list keeps ``clientId`` as the person, as its pages read it).
    loan = {**view, "clientId": view["client"]["_id"]}
    schedule = loan_schedule(
        loan_id, read.schedule(loan_id), view["total_paid_cents"] or 0, datetime.now(UTC).date()
    )
    return {
        **loan,
        "loan": loan,
        "guarantors": [guarantor_view(g, links=api.links) for g in guarantors],
        "creditAssessment": view["creditAssessment"],
        "schedules": schedule,
        "repayments": [repayment_view(r) for r in read.repayments(loan_id)],
        "totals": loan_totals(view),
        "progress": progress_percent(view),
        "nextDue": next_due(schedule),
        "actions": loan_actions(row, principal.role, principal.user_id),
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


@router.put("/{loan_id}/cancel")
def cancel_loan(
    loan_id: uuid.UUID,
    request: Request,
    principal: LoanAdmin,
    api: ApiDep,
    body: RejectRequest | None = None,
) -> dict[str, Any]:
    """Withdraw a loan before disbursement; again on a cancelled loan changes nothing."""
    api.app.cancel_loan(loan_id, body.reason if body else None, actor(principal, request))
    return {"message": "Loan cancelled", "loan": loan_view(_row(api, loan_id, principal))}


@router.put("/{loan_id}/mark-application-fee-paid")
def mark_fee_paid(
    loan_id: uuid.UUID, request: Request, principal: LoanAdmin, api: ApiDep
) -> dict[str, Any]:
    """The borrower paid the application fee; marking it again changes nothing."""
    api.app.mark_application_fee_paid(loan_id, actor(principal, request))
    return {
        "message": "Application fee marked paid",
        "loan": loan_view(_row(api, loan_id, principal)),
    }


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
