"""What the ledger does when another service tells it something (contract events -> commands)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hazina_contracts.events.origination import LoanApproved, LoanCancelled, LoanTerms
from hazina_contracts.events.payments import DisbursementCompleted, PaymentReceived
from hazina_ledger.application.commands import (
    CancelLoan,
    DepositSavings,
    OpenLoanAccount,
    PostRepayment,
    RecordLoanTerms,
    RecordUnallocatedReceipt,
)
from hazina_ledger.domain.allocation import parse_strategy
from hazina_ledger.domain.terms import kes_to_cents, schedule_terms


@dataclass(frozen=True)
class TenantConventions:
    """Per-tenant settings that are not part of a loan's terms (lending.md §1.5, §1.7)."""

    rounding: str = "HALF_EVEN"
    weekly_month_convention: str = "calendar"


def stored_terms_of(terms: LoanTerms, conventions: TenantConventions) -> dict[str, Any]:
    stored = {
        "interest_method": terms.interest_method,
        "interest_rate_percent": terms.interest_rate_percent,
        "interest_rate_period": terms.interest_rate_period,
        "repayment_frequency": terms.repayment_frequency,
        "term": terms.term,
        "instalment_multiple_of_cents": kes_to_cents(
            terms.instalment_multiple_of, "instalment multiple"
        ),
        "fees": [{"name": f.name, "kind": f.kind, "value": f.value} for f in terms.fees],
        "rounding": conventions.rounding,
        "weekly_month_convention": conventions.weekly_month_convention,
        "product_id": str(terms.product_id),
        "product_name": terms.product_name,
    }
    schedule_terms(
        stored
    )  # refuse terms no schedule can be built from, now rather than at disbursement
    return stored


def on_loan_approved(event: LoanApproved, conventions: TenantConventions) -> RecordLoanTerms:
    parse_strategy(event.terms.allocation)
    return RecordLoanTerms(
        loan_id=event.loan_id,
        client_id=event.client_id,
        group_id=event.group_id,
        loan_officer_id=event.loan_officer_id,
        account_number=event.account_number,
        approved_principal_cents=event.principal_cents,
        terms=stored_terms_of(event.terms, conventions),
        strategy=event.terms.allocation,
        approved_at=event.occurred_at,
    )


def on_loan_cancelled(event: LoanCancelled) -> CancelLoan:
    return CancelLoan(loan_id=event.loan_id, reason=event.reason, cancelled_at=event.occurred_at)


def on_disbursement_completed(event: DisbursementCompleted) -> OpenLoanAccount:
    return OpenLoanAccount(
        loan_id=event.loan_id,
        disbursement_id=event.disbursement_id,
        amount_cents=event.amount_cents,
        charge_cents=event.charge_cents,
        mpesa_receipt=event.mpesa_receipt,
        disbursed_at=event.completed_at,
    )


def on_payment_received(
    event: PaymentReceived,
) -> PostRepayment | DepositSavings | RecordUnallocatedReceipt:
    """The gateway resolved the account reference; the ledger posts where it says, or holds it."""
    if event.target == "loan" and event.loan_id is not None:
        return PostRepayment(
            loan_id=event.loan_id,
            receipt=event.receipt,
            amount_cents=event.amount_cents,
            method="mpesa",
            paid_at=event.paid_at,
            channel=event.channel,
            wait_for_loan=True,
            account_reference=event.account_reference,
        )
    if event.target == "savings" and event.client_id is not None:
        return DepositSavings(
            client_id=event.client_id,
            receipt=event.receipt,
            amount_cents=event.amount_cents,
            method="mpesa",
            paid_at=event.paid_at,
            channel=event.channel,
            notes="M-Pesa deposit",
        )
    return RecordUnallocatedReceipt(
        receipt=event.receipt,
        amount_cents=event.amount_cents,
        paid_at=event.paid_at,
        account_reference=event.account_reference,
        channel=event.channel,
    )
