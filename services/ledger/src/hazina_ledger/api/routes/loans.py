"""A loan's schedule with what has been paid on each instalment, and its statement."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter

from hazina_ledger.api.deps import ApiDep, ReaderDep, check_loan_visible
from hazina_ledger.domain.errors import NotFoundError

router = APIRouter(prefix="/api/loans", tags=["loans"])

KINDS = {
    "Disbursed": "Disbursement",
    "RepaymentPosted": "Repayment",
    "RepaymentReversed": "Repayment reversed",
    "WrittenOff": "Written off",
}


@router.get("/{loan_id}/schedule")
def loan_schedule(loan_id: uuid.UUID, actor: ReaderDep, api: ApiDep) -> dict[str, Any]:
    check_loan_visible(api, actor, loan_id)
    views = api.fresh()
    loan = views.loan(loan_id)
    if loan is None:
        raise NotFoundError("Loan not found in the ledger")
    today = api.ledger.today()
    rows = []
    for r in views.instalments(loan_id):
        total = r["principal_cents"] + r["interest_cents"] + r["fee_cents"]
        paid = r["paid_principal_cents"] + r["paid_interest_cents"] + r["paid_fee_cents"]
        if paid >= total:
            status = "paid"
        elif r["due_on"] < today and loan["status"] != "written_off":
            status = "overdue"
        elif paid > 0:
            status = "partial"
        else:
            status = "pending"
        rows.append(
            {
                "number": r["number"],
                "dueDate": r["due_on"].isoformat(),
                "principal_cents": r["principal_cents"],
                "interest_cents": r["interest_cents"],
                "fee_cents": r["fee_cents"],
                "total_cents": total,
                "paid_cents": paid,
                "paid_principal_cents": r["paid_principal_cents"],
                "paid_interest_cents": r["paid_interest_cents"],
                "paid_fee_cents": r["paid_fee_cents"],
                "status": status,
            }
        )
    return {
        "loanId": str(loan_id),
        "status": loan["status"],
        "disbursedOn": loan["disbursed_on"].isoformat() if loan["disbursed_on"] else None,
        "instalments": rows,
        "totals": {
            "principal_cents": loan["principal_cents"],
            "interest_cents": loan["interest_cents"],
            "fee_cents": loan["fee_cents"],
            "total_cents": loan["principal_cents"] + loan["interest_cents"] + loan["fee_cents"],
            "paid_cents": sum(r["paid_cents"] for r in rows),
            "outstanding_cents": loan["outstanding_cents"],
        },
        "terms": loan["terms"],
        "allocation": loan["strategy"],
    }


@router.get("/{loan_id}/statement")
def loan_statement(loan_id: uuid.UUID, actor: ReaderDep, api: ApiDep) -> dict[str, Any]:
    """Every entry that changed what the borrower owes, with the running balance, from the journal."""
    check_loan_visible(api, actor, loan_id)
    views = api.fresh()
    loan = views.loan(loan_id)
    if loan is None:
        raise NotFoundError("Loan not found in the ledger")
    payments = {r["receipt"]: r for r in views.repayments(loan_id)}
    balance, lines = 0, []
    for entry in views.loan_entries(loan_id):
        change = entry["owed_change_cents"]
        balance += change
        paid = payments.get(entry["receipt"] or "")
        lines.append(
            {
                "date": entry["value_date"].isoformat(),
                "recordedAt": entry["recorded_at"].isoformat(),
                "kind": KINDS.get(entry["kind"], entry["kind"]),
                "receipt": entry["receipt"],
                "amount_cents": paid["amount_cents"]
                if paid and entry["kind"] == "RepaymentPosted"
                else abs(change),
                "debit_cents": max(change, 0),
                "credit_cents": max(-change, 0),
                "principal_cents": -entry["principal_change_cents"],
                "interest_cents": -entry["interest_change_cents"],
                "fee_cents": -entry["fee_change_cents"],
                "suspense_cents": paid["suspense_cents"]
                if paid and entry["kind"] == "RepaymentPosted"
                else 0,
                "balance_cents": balance,
            }
        )
    return {
        "loanId": str(loan_id),
        "clientId": str(loan["client_id"]),
        "accountNumber": loan["account_number"],
        "status": loan["status"],
        "principal_cents": loan["principal_cents"],
        "balance_cents": balance,
        "outstanding_cents": loan["outstanding_cents"],
        "suspense_cents": loan["suspense_cents"],
        "entries": lines,
    }
