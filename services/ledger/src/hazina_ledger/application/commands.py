"""Commands the ledger carries out: imperative, frozen, carrying who asked and when.

A money-in command carries a ``ReceiptNumber`` and an ``AmountCents``, read where the request or
the event came in; the use cases trust them. Constructing either type from a value of it returns
the value, so ``_read_as`` costs nothing on that path and is the one read for a caller that passes
plain text (a script, a test).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from hazina_contracts.money import AmountCents
from hazina_contracts.receipts import ReceiptNumber


def _read_as(command: object, name: str, kind: Callable[[Any], object]) -> None:
    """Hold a frozen command's field as its value type (free when it already is one)."""
    object.__setattr__(command, name, kind(getattr(command, name)))


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
class CancelLoan:
    """Origination withdrew an approved loan before any money moved."""

    loan_id: uuid.UUID
    reason: str | None
    cancelled_at: dt.datetime


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
    receipt: ReceiptNumber
    amount_cents: AmountCents
    method: str  # mpesa | cash | bank
    paid_at: dt.datetime
    channel: str = "staff"  # staff | c2b | stk | reconciliation
    recorded_by: uuid.UUID | None = None
    # From a consumer: the money is already in the paybill. An unknown loan may simply not have
    # arrived yet (it waits); a cancelled loan's repayment is kept as unallocated for staff.
    wait_for_loan: bool = False
    account_reference: str = ""  # what the payer typed, kept if the receipt becomes unallocated

    def __post_init__(self) -> None:
        _read_as(self, "receipt", ReceiptNumber)
        _read_as(self, "amount_cents", AmountCents)


@dataclass(frozen=True)
class DepositSavings:
    client_id: uuid.UUID
    receipt: ReceiptNumber
    amount_cents: AmountCents
    method: str
    paid_at: dt.datetime
    channel: str = "staff"
    recorded_by: uuid.UUID | None = None
    notes: str | None = None

    def __post_init__(self) -> None:
        _read_as(self, "receipt", ReceiptNumber)
        _read_as(self, "amount_cents", AmountCents)


@dataclass(frozen=True)
class RecordUnallocatedReceipt:
    receipt: ReceiptNumber
    amount_cents: AmountCents
    paid_at: dt.datetime
    account_reference: str
    channel: str = "c2b"

    def __post_init__(self) -> None:
        _read_as(self, "receipt", ReceiptNumber)
        _read_as(self, "amount_cents", AmountCents)


@dataclass(frozen=True)
class AssignReceipt:
    receipt: ReceiptNumber
    target: str  # loan | savings
    target_id: uuid.UUID
    assigned_by: uuid.UUID

    def __post_init__(self) -> None:
        _read_as(self, "receipt", ReceiptNumber)


@dataclass(frozen=True)
class ReverseReceipt:
    receipt: ReceiptNumber
    reason: str
    reversed_by: uuid.UUID

    def __post_init__(self) -> None:
        _read_as(self, "receipt", ReceiptNumber)


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
