"""Commands the ledger carries out: imperative, frozen, carrying who asked and when."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class RecordLoanTerms:
    loan_id: uuid.UUID
    client_id: uuid.UUID
    group_id: uuid.UUID | None
    loan_officer_id: uuid.UUID | None
    account_number: str
    approved_principal_cents: int
    terms: dict[str, Any]
    strategy: str
    approved_at: dt.datetime


@dataclass(frozen=True)
class OpenLoanAccount:
    loan_id: uuid.UUID
    disbursement_id: uuid.UUID
    amount_cents: int
    charge_cents: int
    mpesa_receipt: str
    disbursed_at: dt.datetime


@dataclass(frozen=True)
class ResolveHeldDisbursement:
    """Staff's decision on a payout that was not the approved principal."""

    loan_id: uuid.UUID
    disbursement_id: uuid.UUID
    decision: str  # accept (as the principal) | recover
    reason: str
    decided_by: uuid.UUID


@dataclass(frozen=True)
class PostRepayment:
    loan_id: uuid.UUID
    receipt: str
    amount_cents: int
    method: str  # mpesa | cash | bank
    paid_at: dt.datetime
    channel: str = "staff"  # staff | c2b | stk | reconciliation
    recorded_by: uuid.UUID | None = None
    wait_for_loan: bool = False  # from a consumer: an unknown loan may simply not have arrived yet


@dataclass(frozen=True)
class DepositSavings:
    client_id: uuid.UUID
    receipt: str
    amount_cents: int
    method: str
    paid_at: dt.datetime
    channel: str = "staff"
    recorded_by: uuid.UUID | None = None
    notes: str | None = None


@dataclass(frozen=True)
class RecordUnallocatedReceipt:
    receipt: str
    amount_cents: int
    paid_at: dt.datetime
    account_reference: str
    channel: str = "c2b"


@dataclass(frozen=True)
class AssignReceipt:
    receipt: str
    target: str  # loan | savings
    target_id: uuid.UUID
    assigned_by: uuid.UUID


@dataclass(frozen=True)
class ReverseReceipt:
    receipt: str
    reason: str
    reversed_by: uuid.UUID


@dataclass(frozen=True)
class WriteOffLoan:
    loan_id: uuid.UUID
    reason: str
    written_off_by: uuid.UUID


@dataclass(frozen=True)
class RequestWithdrawal:
    client_id: uuid.UUID
    amount_cents: int
    method: str
    requested_by: uuid.UUID
    notes: str | None = None
    withdrawal_id: uuid.UUID = field(default_factory=uuid.uuid4)


@dataclass(frozen=True)
class DecideWithdrawal:
    client_id: uuid.UUID
    withdrawal_id: uuid.UUID
    approve: bool
    decided_by: uuid.UUID
    reason: str = ""
