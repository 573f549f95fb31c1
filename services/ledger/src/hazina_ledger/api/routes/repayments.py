"""Repayments: recording (staff), history (seed shape), unallocated receipts, conflicts, reversals."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response

from hazina_contracts.money import kes_json
from hazina_ledger.api.deps import (
    ApiDep,
    ApproverDep,
    ReaderDep,
    RecorderDep,
    RepaymentRecorderDep,
    check_loan_visible,
    scope_of,
)
from hazina_ledger.api.schemas import (
    AssignRequest,
    ReasonRequest,
    RepaymentRequest,
    TransactionId,
)
from hazina_ledger.application.commands import AssignReceipt, PostRepayment, ReverseReceipt
from hazina_ledger.application.ports import ReadModels
from hazina_ledger.domain.errors import InvalidRequestError, NotFoundError
from hazina_servicekit.pagination import PageDep, set_total
from hazina_servicekit.text import PlainText

router = APIRouter(prefix="/api/repayments", tags=["repayments"])


def repayment_view(row: dict[str, Any]) -> dict[str, Any]:
    created = row["recorded_at"].isoformat()
    return {
        "_id": row["receipt"],
        "loanId": str(row["loan_id"]),
        "amount_cents": row["amount_cents"],
        "mpesaReceipt": row["receipt"],
        "transactionId": row["receipt"],
        "paymentMethod": row["method"],
        "channel": row.get("channel"),
        "paidOn": row["paid_on"].isoformat(),
        "createdAt": created,
        "reversed": row["reversed"],
        "allocation": {
            "interest_cents": row["interest_cents"],
            "principal_cents": row["principal_cents"],
            "fee_cents": row["fee_cents"],
            "suspense_cents": row["suspense_cents"],
            "recovery_cents": row["recovery_cents"],
        },
        "outstanding_after_cents": row["outstanding_after_cents"],
    }


def history(views: ReadModels, loan_id: uuid.UUID) -> dict[str, Any]:
    loan = views.loan(loan_id)
    if loan is None:
        raise NotFoundError("Loan not found in the ledger")
    rows = views.repayments(loan_id)
    live = [r for r in rows if not r["reversed"]]
    return {
        "loanId": str(loan_id),
        "status": loan["status"],
        "total_paid_cents": loan["total_paid_cents"],
        "outstanding_cents": loan["outstanding_cents"],
        "suspense_cents": loan["suspense_cents"],
        "repayments": [repayment_view(r) for r in rows],
        # The staff frontend reads ``data`` with KES amounts (dhamira-frontend.md §6.18).
        "data": [
            {
                "_id": r["receipt"],
                "amount": kes_json(r["amount_cents"]),
                "paymentMethod": r["method"],
                "transactionId": r["receipt"],
                "createdAt": r["recorded_at"].isoformat(),
            }
            for r in live
        ],
    }


@router.post("", status_code=201)
def record_repayment(
    body: RepaymentRequest, response: Response, actor: RepaymentRecorderDep, api: ApiDep
) -> dict[str, Any]:
    paid_at = body.paidAt or api.ledger.clock.now()
    if paid_at > api.ledger.clock.now():
        raise InvalidRequestError("paidAt must not be in the future")
    outcome = api.ledger.post_repayment(
        PostRepayment(
            loan_id=body.loanId,
            receipt=body.transactionId,
            amount_cents=body.amount,
            method=body.paymentMethod,
            paid_at=paid_at,
            channel="staff",
            recorded_by=actor.user_id,
        )
    )
    views = api.fresh()
    row = next((r for r in views.repayments(body.loanId) if r["receipt"] == outcome.receipt), None)
    loan = views.loan(body.loanId)
    if outcome.status == "duplicate":
        response.status_code = 200
    return {
        "message": "Repayment recorded"
        if outcome.status == "posted"
        else "This receipt was already recorded; nothing changed",
        "status": outcome.status,
        "repayment": repayment_view(row) if row else None,
        "loan": {
            "loanId": str(body.loanId),
            "status": loan["status"] if loan else None,
            "outstanding_cents": loan["outstanding_cents"] if loan else None,
            "total_paid_cents": loan["total_paid_cents"] if loan else None,
        },
    }


@router.get("/unallocated")
def unallocated_receipts(
    response: Response,
    actor: ReaderDep,
    api: ApiDep,
    page: PageDep,
    status: Annotated[
        PlainText | None, Query(pattern="^(unallocated|assigned|posted|reversed|all)$")
    ] = "unallocated",
) -> list[dict[str, Any]]:
    rows, total = api.fresh().receipts(
        None if status == "all" else status, page.limit, page.offset, scope_of(actor)
    )
    set_total(response, total)
    return [receipt_view(r) for r in rows]


def receipt_view(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "_id": row["receipt"],
        "receipt": row["receipt"],
        "amount_cents": row["amount_cents"],
        "status": row["status"],
        "target": row["target"],
        "targetId": str(row["target_id"]) if row["target_id"] else None,
        "accountReference": row["account_reference"],
        "channel": row["channel"],
        "paidAt": row["paid_at"].isoformat(),
        "assignedTo": {"target": row["assigned_target"], "id": str(row["assigned_target_id"])}
        if row["assigned_target"]
        else None,
        "assignedBy": str(row["assigned_by"]) if row["assigned_by"] else None,
        "assignedAt": row["assigned_at"].isoformat() if row["assigned_at"] else None,
    }


@router.post("/unallocated/{receipt}/assign")
def assign_receipt(
    receipt: TransactionId, body: AssignRequest, actor: RecorderDep, api: ApiDep
) -> dict[str, Any]:
    if (body.loanId is None) == (body.clientId is None):
        raise InvalidRequestError(
            "give exactly one of loanId (repayment) or clientId (savings deposit)"
        )
    target, target_id = ("loan", body.loanId) if body.loanId else ("savings", body.clientId)
    assert target_id is not None  # noqa: S101 - narrowed by the check above
    if target == "savings" and api.views.client(target_id) is None:
        raise NotFoundError("Client not found")
    api.ledger.assign_receipt(
        AssignReceipt(
            receipt=receipt, target=target, target_id=target_id, assigned_by=actor.user_id
        )
    )
    row = api.fresh().receipt(receipt)
    return {
        "message": f"Receipt assigned to {target}",
        "receipt": receipt_view(row) if row else None,
    }


@router.get("/conflicts")
def receipt_conflicts(actor: ReaderDep, api: ApiDep) -> list[dict[str, Any]]:
    return [
        {
            "receipt": r["receipt"],
            "amount_cents": r["amount_cents"],
            "target": r["target"],
            "targetId": str(r["target_id"]) if r["target_id"] else None,
            "source": r["source"],
            "flaggedAt": r["flagged_at"].isoformat(),
        }
        for r in api.fresh().conflicts(scope_of(actor))
    ]


@router.post("/{receipt}/reverse")
def reverse_repayment(
    receipt: TransactionId, body: ReasonRequest, actor: ApproverDep, api: ApiDep
) -> dict[str, Any]:
    outcome = api.ledger.reverse_receipt(
        ReverseReceipt(receipt=receipt, reason=body.reason, reversed_by=actor.user_id)
    )
    views = api.fresh()
    result: dict[str, Any] = {
        "message": "Reversed by a compensating entry",
        "receipt": outcome.receipt,
    }
    if outcome.target == "loan" and outcome.target_id is not None:
        result["loan"] = history(views, outcome.target_id)
    return result


@router.get("/loan/{loan_id}")
def loan_repayments(loan_id: uuid.UUID, actor: ReaderDep, api: ApiDep) -> dict[str, Any]:
    check_loan_visible(api, actor, loan_id)
    return history(api.fresh(), loan_id)


@router.get("/{loan_id}")
def loan_repayments_seed(loan_id: uuid.UUID, actor: ReaderDep, api: ApiDep) -> dict[str, Any]:
    check_loan_visible(api, actor, loan_id)
    return history(api.fresh(), loan_id)
