"""Accounts, balances as of any date, the trial balance and write-offs.

The parked-event queue, ``/api/ledger/parked``, is servicekit's (``parking_api``).
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response

from hazina_ledger.api.deps import ApiDep, ApproverDep, ReaderDep
from hazina_ledger.api.schemas import AssessArrearsRequest, ReasonRequest
from hazina_ledger.application.commands import WriteOffLoan
from hazina_ledger.domain.accounts import CHART, AccountClass
from hazina_ledger.domain.errors import NotFoundError
from hazina_servicekit.pagination import PageDep, set_total

router = APIRouter(prefix="/api/ledger", tags=["ledger"])


def class_view(account: AccountClass) -> dict[str, Any]:
    return {
        "code": account.code,
        "name": account.name,
        "type": account.type.value,
        "normalSide": "debit" if account.debit_normal else "credit",
        "perOwner": account.owner.value if account.owner else None,
    }


def normal_balance(account: AccountClass, debit_cents: int, credit_cents: int) -> int:
    """The balance on the account's normal side: an asset's debits less credits, a liability's reverse."""
    return debit_cents - credit_cents if account.debit_normal else credit_cents - debit_cents


@router.get("/accounts")
def chart_of_accounts(actor: ReaderDep, api: ApiDep) -> list[dict[str, Any]]:
    rows = {r["code"]: r for r in api.fresh().trial_balance(None)}
    out = []
    for code, account in CHART.items():
        row = rows.get(code)
        debit, credit = (int(row["debit_cents"]), int(row["credit_cents"])) if row else (0, 0)
        out.append(
            {
                **class_view(account),
                "debit_cents": debit,
                "credit_cents": credit,
                "balance_cents": normal_balance(account, debit, credit),
                "subAccounts": int(row["accounts"]) if row and account.owner else None,
            }
        )
    return out


@router.get("/accounts/{account_id}")
def account(
    account_id: str,
    response: Response,
    actor: ReaderDep,
    api: ApiDep,
    page: PageDep,
    asOf: Annotated[dt.date | None, Query()] = None,  # noqa: N803 - the API's name
    position: Annotated[int | None, Query(ge=0)] = None,
) -> dict[str, Any]:
    found = api.fresh().account(account_id, asOf, position, page.limit, page.offset)
    chart: AccountClass = found["account"]
    set_total(response, found["entry_count"])
    return {
        "accountId": account_id,
        **class_view(chart),
        "asOf": asOf.isoformat() if asOf else None,
        "position": position,
        "debit_cents": found["debit_cents"],
        "credit_cents": found["credit_cents"],
        "balance_cents": normal_balance(chart, found["debit_cents"], found["credit_cents"]),
        "entries": [
            {
                "entryId": str(e["entry_id"]),
                "kind": e["kind"],
                "date": e["value_date"].isoformat(),
                "recordedAt": e["recorded_at"].isoformat(),
                "position": e["notification_id"],
                "receipt": e["receipt"],
                "loanId": str(e["loan_id"]) if e["loan_id"] else None,
                "debit_cents": max(e["amount_cents"], 0),
                "credit_cents": max(-e["amount_cents"], 0),
            }
            for e in found["entries"]
        ],
    }


@router.get("/trial-balance")
def trial_balance(
    actor: ReaderDep,
    api: ApiDep,
    asOf: Annotated[dt.date | None, Query()] = None,  # noqa: N803
    position: Annotated[int | None, Query(ge=0)] = None,
) -> dict[str, Any]:
    rows = api.fresh().trial_balance(asOf, position)
    accounts = []
    for r in rows:
        chart: AccountClass = r["account"]
        debit, credit = int(r["debit_cents"]), int(r["credit_cents"])
        accounts.append(
            {
                **class_view(chart),
                "debit_cents": debit,
                "credit_cents": credit,
                "balance_cents": normal_balance(chart, debit, credit),
            }
        )
    total_debit = sum(a["debit_cents"] for a in accounts)
    total_credit = sum(a["credit_cents"] for a in accounts)
    return {
        "asOf": asOf.isoformat() if asOf else None,
        "position": position,
        "accounts": accounts,
        "total_debit_cents": total_debit,
        "total_credit_cents": total_credit,
        "balanced": total_debit == total_credit,
    }


@router.post("/loans/{loan_id}/write-off")
def write_off(
    loan_id: uuid.UUID, body: ReasonRequest, actor: ApproverDep, api: ApiDep
) -> dict[str, Any]:
    api.ledger.write_off_loan(
        WriteOffLoan(loan_id=loan_id, reason=body.reason, written_off_by=actor.user_id)
    )
    loan = api.fresh().loan(loan_id)
    if loan is None:  # pragma: no cover - the command found it
        raise NotFoundError("Loan not found in the ledger")
    return {
        "message": "Loan written off",
        "loanId": str(loan_id),
        "status": loan["status"],
        "written_off_cents": loan["written_off_cents"],
        "writtenOffOn": loan["written_off_on"].isoformat() if loan["written_off_on"] else None,
    }


@router.post("/arrears/assess")
def assess_arrears(body: AssessArrearsRequest, actor: ApproverDep, api: ApiDep) -> dict[str, Any]:
    as_of = body.asOf or api.ledger.today()
    changed = api.ledger.assess_arrears(api.fresh().live_loan_ids(), as_of)
    return {"asOf": as_of.isoformat(), "statusChanges": changed}
