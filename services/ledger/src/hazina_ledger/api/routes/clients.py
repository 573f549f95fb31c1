"""A client's accounts in the ledger: savings, suspense (overpayments) and each loan's outstanding."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Response

from hazina_ledger.api.deps import ApiDep, ReaderDep, SavingsKeeperDep, check_client_visible
from hazina_ledger.api.routes.savings import adjust_savings
from hazina_ledger.api.schemas import ClientSavingsRequest

router = APIRouter(prefix="/api/clients", tags=["clients"])


@router.get("/{client_id}/accounts")
def client_accounts(client_id: uuid.UUID, actor: ReaderDep, api: ApiDep) -> dict[str, Any]:
    check_client_visible(api, actor, client_id)
    accounts = api.fresh().client_accounts(client_id)
    loans = [
        {
            "loanId": str(r["loan_id"]),
            "accountNumber": r["account_number"],
            "status": r["status"],
            "principal_cents": r["principal_cents"],
            "outstanding_cents": r["outstanding_cents"],
            "total_paid_cents": r["total_paid_cents"],
            "days_past_due": r["days_past_due"],
            "disbursedOn": r["disbursed_on"].isoformat() if r["disbursed_on"] else None,
        }
        for r in accounts["loans"]
    ]
    return {
        "clientId": str(client_id),
        "savings_cents": accounts["savings_cents"],
        "savings_balance_cents": accounts["savings_cents"],
        "pending_withdrawals_cents": accounts["pending_withdrawals_cents"],
        "available_savings_cents": accounts["savings_cents"]
        - accounts["pending_withdrawals_cents"],
        "suspense_cents": accounts["suspense_cents"],
        "loans": loans,
        "total_outstanding_cents": sum(loan["outstanding_cents"] for loan in loans),
    }


@router.post("/{client_id}/savings", status_code=201)
def client_savings(
    client_id: uuid.UUID,
    body: ClientSavingsRequest,
    response: Response,
    actor: SavingsKeeperDep,
    api: ApiDep,
) -> dict[str, Any]:
    """The client modal's "adjust savings" (``{amountKES}``): the same rules as ``POST /api/savings``."""
    return adjust_savings(api, actor, client_id, body, response)
