"""Accounts, balances as of any date, the trial balance, write-offs, and payouts held because they
were not the approved principal. The parked-event queue, ``/api/ledger/parked``, is servicekit's
(``parking_api``)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response

from hazina_contracts.money import kes_json
from hazina_ledger.api.deps import (
    ApiDep,
    ApproverDep,
    LedgerApi,
    ReaderDep,
    RecorderDep,
    scope_of,
)
from hazina_ledger.api.schemas import AssessArrearsRequest, ReasonRequest
from hazina_ledger.application.commands import ResolveHeldDisbursement, WriteOffLoan
from hazina_ledger.domain.accounts import CHART, AccountClass, Owner, account_class
from hazina_ledger.domain.errors import NotFoundError
from hazina_servicekit.auth import Principal
from hazina_servicekit.dates import IsoDate
from hazina_servicekit.pagination import PageDep, set_total
from hazina_servicekit.text import PlainText

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


def check_account_visible(api: LedgerApi, principal: Principal, account_id: str) -> None:
    """A loan officer opens only the sub-accounts of their own loans and clients; the
    institution's own accounts (bank, float, income) carry every officer's money."""
    scope = scope_of(principal)
    if scope is None:
        return
    owner = account_class(account_id).owner
    owner_id = uuid.UUID(account_id.partition(":")[2]) if owner is not None else None
    if owner_id is not None and (
        (owner is Owner.LOAN and api.ownership.owns_loan(scope, owner_id))
        or (owner is Owner.CLIENT and api.ownership.owns_client(scope, owner_id))
    ):
        return
    raise NotFoundError("Account not found")


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
    account_id: PlainText,
    response: Response,
    actor: ReaderDep,
    api: ApiDep,
    page: PageDep,
    asOf: Annotated[IsoDate | None, Query()] = None,  # noqa: N803 - the API's name
    position: Annotated[int | None, Query(ge=0)] = None,
) -> dict[str, Any]:
    check_account_visible(api, actor, account_id)
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
    asOf: Annotated[IsoDate | None, Query()] = None,  # noqa: N803
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


def mismatch_view(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "disbursementId": row["disbursement_id"],
        "loanId": str(row["loan_id"]),
        "accountNumber": row["account_number"],
        "clientId": str(row["client_id"]),
        "clientName": row["client_name"],
        "approved_principal_cents": row["expected_cents"],
        "disbursed_cents": row["amount_cents"],
        "difference_cents": row["amount_cents"] - row["expected_cents"],
        "approvedPrincipal": kes_json(row["expected_cents"]),
        "disbursed": kes_json(row["amount_cents"]),
        "charge_cents": row["charge_cents"],
        "mpesaReceipt": row["mpesa_receipt"],
        "disbursedOn": row["disbursed_on"].isoformat(),
        "heldAt": row["held_at"].isoformat(),
        "status": row["status"],
        "loanStatus": row["loan_status"],
        "reason": row["reason"],
        "resolvedBy": str(row["resolved_by"]) if row["resolved_by"] else None,
        "resolvedOn": row["resolved_on"].isoformat() if row["resolved_on"] else None,
    }


@router.get("/disbursement-mismatches")
def disbursement_mismatches(
    response: Response,
    actor: RecorderDep,
    api: ApiDep,
    status: Annotated[Literal["held", "accepted", "recovery"] | None, Query()] = None,
) -> list[dict[str, Any]]:
    """Payouts whose amount was not the approved principal: booked to suspense, not scheduled."""
    rows = api.fresh().disbursement_mismatches(status)
    set_total(response, len(rows))
    return [mismatch_view(r) for r in rows]


def _decide(
    disbursement_id: uuid.UUID, decision: str, reason: str, actor: Principal, api: LedgerApi
) -> dict[str, Any]:
    found = api.fresh().disbursement_mismatch(disbursement_id)
    if found is None:
        raise NotFoundError("No payout with this disbursement id is held for review")
    api.ledger.resolve_held_disbursement(
        ResolveHeldDisbursement(
            loan_id=found["loan_id"],
            disbursement_id=disbursement_id,
            decision=decision,
            reason=reason,
            decided_by=actor.user_id,
        )
    )
    if decision == "accept":  # repayments that waited for the disbursement post now
        api.inbox.retry_parked(f"disbursement:{found['loan_id']}")
    row = api.fresh().disbursement_mismatch(disbursement_id)
    if row is None:  # pragma: no cover - it was found above and rows are never deleted
        raise NotFoundError("No payout with this disbursement id is held for review")
    return mismatch_view(row)


@router.post("/disbursement-mismatches/{disbursement_id}/accept")
def accept_disbursed_amount(
    disbursement_id: uuid.UUID, body: ReasonRequest, actor: ApproverDep, api: ApiDep
) -> dict[str, Any]:
    """The amount paid out becomes the principal; the schedule opens on it."""
    return _decide(disbursement_id, "accept", body.reason, actor, api)


@router.post("/disbursement-mismatches/{disbursement_id}/recover")
def mark_for_recovery(
    disbursement_id: uuid.UUID, body: ReasonRequest, actor: ApproverDep, api: ApiDep
) -> dict[str, Any]:
    """The money must come back; the loan waits for a payout of its approved principal."""
    return _decide(disbursement_id, "recover", body.reason, actor, api)
