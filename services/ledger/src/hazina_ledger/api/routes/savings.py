"""Savings: deposits, withdrawals under maker-checker, and the transaction list the frontend shows."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response

from hazina_contracts.money import AmountCents, kes_json
from hazina_contracts.receipts import ReceiptNumber
from hazina_ledger.api.deps import ApiDep, ApproverDep, ReaderDep, SavingsKeeperDep, scope_of
from hazina_ledger.api.schemas import (
    ClientSavingsRequest,
    DepositRequest,
    ReasonRequest,
    RejectRequest,
    SavingsAdjustRequest,
    TransactionId,
    WithdrawalRequest,
)
from hazina_ledger.application.commands import (
    DecideWithdrawal,
    DepositSavings,
    RequestWithdrawal,
    ReverseReceipt,
)
from hazina_ledger.application.ledger import Receipted
from hazina_ledger.domain.errors import (
    InsufficientBalanceError,
    InvalidRequestError,
    NotFoundError,
)
from hazina_servicekit.auth import Principal
from hazina_servicekit.pagination import PageDep, set_total
from hazina_servicekit.text import PlainText

router = APIRouter(prefix="/api/savings", tags=["savings"])


def transaction_view(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "_id": str(row["entry_id"]),
        "clientId": str(row["client_id"]),
        "clientName": row.get("client_name"),
        "kind": row["kind"],
        "amount_cents": row["amount_cents"],
        "amountKES": kes_json(row["amount_cents"]),
        "balanceAfter": row["balance_after_cents"],
        "balance_after_cents": row["balance_after_cents"],
        "transactionId": row["transaction_id"],
        "paymentMethod": row["method"],
        "notes": row["notes"],
        "date": row["value_date"].isoformat(),
        "createdAt": row["created_at"].isoformat(),
    }


def withdrawal_view(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "_id": str(row["withdrawal_id"]),
        "clientId": str(row["client_id"]),
        "amount_cents": row["amount_cents"],
        "paymentMethod": row["method"],
        "status": row["status"],
        "notes": row["notes"],
        "requestedBy": str(row["requested_by"]),
        "requestedAt": row["requested_at"].isoformat(),
        "decidedBy": str(row["decided_by"]) if row["decided_by"] else None,
        "decidedAt": row["decided_at"].isoformat() if row["decided_at"] else None,
        "reason": row["reason"],
    }


def _require_client(api: ApiDep, client_id: uuid.UUID) -> None:
    if api.views.client(client_id) is None:
        raise NotFoundError("Client not found")


def _deposit(
    api: ApiDep, actor: Principal, command: DepositSavings, response: Response
) -> dict[str, Any]:
    _require_client(api, command.client_id)
    outcome: Receipted = api.ledger.deposit_savings(command)
    if outcome.status == "duplicate":
        response.status_code = 200
    balance = api.fresh().client_accounts(command.client_id)["savings_cents"]
    return {
        "message": "Deposit recorded"
        if outcome.status == "posted"
        else "This receipt was already recorded",
        "status": outcome.status,
        "transactionId": outcome.receipt,
        "clientId": str(command.client_id),
        "balance_cents": balance,
    }


@router.post("/deposits", status_code=201)
def deposit(
    body: DepositRequest, response: Response, actor: SavingsKeeperDep, api: ApiDep
) -> dict[str, Any]:
    paid_at = body.paidAt or api.ledger.clock.now()
    if paid_at > api.ledger.clock.now():
        raise InvalidRequestError("paidAt must not be in the future")
    command = DepositSavings(
        client_id=body.clientId,
        receipt=body.transactionId,
        amount_cents=body.amount,
        method=body.paymentMethod,
        paid_at=paid_at,
        channel="staff",
        recorded_by=actor.user_id,
        notes=body.notes,
    )
    return _deposit(api, actor, command, response)


@router.post("/deposits/{receipt}/reverse")
def reverse_deposit(
    receipt: TransactionId, body: ReasonRequest, actor: ApproverDep, api: ApiDep
) -> dict[str, Any]:
    outcome = api.ledger.reverse_receipt(
        ReverseReceipt(receipt=receipt, reason=body.reason, reversed_by=actor.user_id)
    )
    return {"message": "Reversed by a compensating entry", "receipt": outcome.receipt}


@router.post("", status_code=201)
def adjust(
    body: SavingsAdjustRequest, response: Response, actor: SavingsKeeperDep, api: ApiDep
) -> dict[str, Any]:
    """The staff frontend's savings dialog: positive cents deposit, negative cents deduct."""
    return adjust_savings(api, actor, body.clientId, body, response)


def adjust_savings(
    api: ApiDep,
    actor: Principal,
    client_id: uuid.UUID,
    body: SavingsAdjustRequest | ClientSavingsRequest,
    response: Response,
) -> dict[str, Any]:
    """A deposit (positive) posts at once; a deduction (negative) asks for a withdrawal, which an
    approver other than the requester pays out (maker-checker), and never below zero (400)."""
    try:
        cents = body.signed_cents()
    except ValueError as exc:
        raise InvalidRequestError(str(exc)) from None
    if cents == 0:
        raise InvalidRequestError("amount must not be zero")
    if cents > 0:
        command = DepositSavings(
            client_id=client_id,
            receipt=body.transactionId or ReceiptNumber(f"MAN-{uuid.uuid4().hex[:16]}"),
            amount_cents=AmountCents(cents),
            method=body.paymentMethod,
            paid_at=api.ledger.clock.now(),
            channel="staff",
            recorded_by=actor.user_id,
            notes=body.notes,
        )
        return _deposit(api, actor, command, response)
    _require_client(api, client_id)
    try:
        withdrawal_id = api.ledger.request_withdrawal(
            RequestWithdrawal(
                client_id=client_id,
                amount_cents=-cents,
                method=body.paymentMethod,
                requested_by=actor.user_id,
                notes=body.notes,
            )
        )
    except InsufficientBalanceError as exc:
        raise InvalidRequestError(str(exc)) from None
    row = api.fresh().withdrawal(withdrawal_id)
    return {
        "message": "Deduction requested; an approver pays it out",
        "withdrawal": withdrawal_view(row) if row else None,
    }


@router.get("")
def list_transactions(
    response: Response,
    actor: ReaderDep,
    api: ApiDep,
    page: PageDep,
    clientId: Annotated[uuid.UUID | None, Query()] = None,  # noqa: N803 - the frontend's filters
    groupId: Annotated[uuid.UUID | None, Query()] = None,  # noqa: N803
) -> list[dict[str, Any]]:
    rows, total = api.fresh().savings_transactions(
        clientId, groupId, page.limit, page.offset, scope_of(actor)
    )
    set_total(response, total)
    return [transaction_view(r) for r in rows]


@router.post("/withdrawals", status_code=201)
def request_withdrawal(
    body: WithdrawalRequest, actor: SavingsKeeperDep, api: ApiDep
) -> dict[str, Any]:
    _require_client(api, body.clientId)
    withdrawal_id = api.ledger.request_withdrawal(
        RequestWithdrawal(
            client_id=body.clientId,
            amount_cents=body.amount,
            method=body.paymentMethod,
            requested_by=actor.user_id,
            notes=body.notes,
        )
    )
    row = api.fresh().withdrawal(withdrawal_id)
    return {
        "message": "Withdrawal requested; it needs approval",
        "withdrawal": withdrawal_view(row) if row else None,
    }


@router.get("/withdrawals")
def list_withdrawals(
    actor: ReaderDep,
    api: ApiDep,
    status: Annotated[PlainText | None, Query(pattern="^(pending|approved|rejected)$")] = None,
    clientId: Annotated[uuid.UUID | None, Query()] = None,  # noqa: N803
) -> list[dict[str, Any]]:
    return [withdrawal_view(r) for r in api.fresh().withdrawals(status, clientId, scope_of(actor))]


def _decide(
    api: ApiDep, withdrawal_id: uuid.UUID, approve: bool, actor: Principal, reason: str
) -> dict[str, Any]:
    row = api.fresh().withdrawal(withdrawal_id)
    if row is None:
        raise NotFoundError("Withdrawal not found")
    api.ledger.decide_withdrawal(
        DecideWithdrawal(
            client_id=row["client_id"],
            withdrawal_id=withdrawal_id,
            approve=approve,
            decided_by=actor.user_id,
            reason=reason,
        )
    )
    views = api.fresh()
    updated = views.withdrawal(withdrawal_id)
    return {
        "message": "Withdrawal approved and paid" if approve else "Withdrawal rejected",
        "withdrawal": withdrawal_view(updated) if updated else None,
        "balance_cents": views.client_accounts(row["client_id"])["savings_cents"],
    }


@router.post("/withdrawals/{withdrawal_id}/approve")
def approve_withdrawal(withdrawal_id: uuid.UUID, actor: ApproverDep, api: ApiDep) -> dict[str, Any]:
    return _decide(api, withdrawal_id, True, actor, "")


@router.post("/withdrawals/{withdrawal_id}/reject")
def reject_withdrawal(
    withdrawal_id: uuid.UUID, actor: ApproverDep, api: ApiDep, body: RejectRequest | None = None
) -> dict[str, Any]:
    return _decide(api, withdrawal_id, False, actor, body.reason if body else "")
