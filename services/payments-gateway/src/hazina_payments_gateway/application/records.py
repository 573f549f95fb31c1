"""What a callback says, once read from the rail's wire format (the adapters do the reading)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from hazina_contracts.money import AmountCents
from hazina_contracts.phones import Msisdn
from hazina_contracts.receipts import MpesaReceipt


class MalformedCallbackError(ValueError):
    """A stored callback that cannot be read; it is kept and flagged, never retried blindly.

    ``field`` names the Daraja field at fault (it chooses the C2B validation's rejection code).
    """

    def __init__(self, reason: str, *, field: str | None = None) -> None:
        super().__init__(reason)
        self.field = field


# What became of a stored callback: ``processed`` (done), ``flagged`` (a person must look: it was
# unreadable, surprising or conflicting), ``open`` (recorded, but nothing acts on it yet).
InboxStatus = Literal["processed", "flagged", "open"]


@dataclass(frozen=True)
class Handled:
    """The result of processing one stored callback, when it is more than a plain outcome word."""

    outcome: str
    status: InboxStatus = "processed"
    reason: str | None = None
    detail: dict[str, Any] | None = None


@dataclass(frozen=True)
class PaymentOutcome:
    """What recording a payment came to. ``conflict``: the receipt was known with another amount,
    phone or account reference (recorded and flagged); ``duplicate_conflict``: that same conflict again."""

    status: Literal["recorded", "duplicate", "conflict", "duplicate_conflict"]
    differences: tuple[str, ...] = ()

    @property
    def recorded(self) -> bool:
        return self.status == "recorded"


@dataclass(frozen=True)
class B2CResult:
    ocid: str
    conversation_id: str | None
    result_code: str
    description: str
    receipt: MpesaReceipt | None
    amount_cents: int | None
    recipient_name: str | None
    completed_at: datetime | None


@dataclass(frozen=True)
class B2CTimeout:
    ocid: str
    conversation_id: str | None
    description: str


@dataclass(frozen=True)
class QueueTimeout:
    """A QueueTimeOutURL notice (status, reversal, balance): the request's outcome is unknown."""

    ocid: str | None
    conversation_id: str | None
    result_code: str | None
    description: str


@dataclass(frozen=True)
class ReversalResult:
    ocid: str | None
    conversation_id: str | None
    result_code: str
    description: str
    transaction_id: str | None
    original_receipt: MpesaReceipt | None
    amount_cents: int | None
    completed_at: datetime | None


@dataclass(frozen=True)
class BalanceLine:
    """One account of an Account Balance answer: ``Name|Currency|a|b|c|d`` (figures kept as reported)."""

    account: str
    currency: str
    figures_cents: tuple[int, ...]


@dataclass(frozen=True)
class AccountBalanceResult:
    ocid: str | None
    conversation_id: str | None
    result_code: str
    description: str
    accounts: tuple[BalanceLine, ...] = field(default_factory=tuple)
    completed_at: datetime | None = None


@dataclass(frozen=True)
class StatusResult:
    query_conversation_id: str | None
    occasion: str | None
    result_code: str
    description: str
    original_ocid: str | None
    transaction_status: str | None
    receipt: MpesaReceipt | None
    amount_cents: int | None
    recipient_name: str | None
    finalised_at: datetime | None
    charge_cents: int | None


@dataclass(frozen=True)
class IncomingPayment:
    """Money in as a rail reported it, read at the edge: the receipt and amount are checked.

    The adapters pass an ``MpesaReceipt`` and an ``AmountCents`` they read; constructing either
    type from a value of it returns the value, so the check below costs nothing then and is the
    one read for a caller that passes plain text (a test, a script).
    """

    receipt: MpesaReceipt
    amount_cents: AmountCents
    msisdn: str | None  # as Daraja sent it: in full, masked or hashed
    bill_ref: str
    paid_at: datetime
    payer_name: str | None
    shortcode: str | None
    channel: Literal["c2b", "stk", "reconciliation"]

    def __post_init__(self) -> None:
        object.__setattr__(self, "receipt", MpesaReceipt(self.receipt))
        object.__setattr__(self, "amount_cents", AmountCents(self.amount_cents))


@dataclass(frozen=True)
class StkCallback:
    checkout_request_id: str
    merchant_request_id: str | None
    result_code: str
    description: str
    receipt: MpesaReceipt | None
    amount_cents: AmountCents | None
    phone: str | None
    paid_at: datetime | None

    def __post_init__(self) -> None:  # as IncomingPayment's: free for what the edge read
        if self.receipt is not None:
            object.__setattr__(self, "receipt", MpesaReceipt(self.receipt))
        if self.amount_cents is not None:
            object.__setattr__(self, "amount_cents", AmountCents(self.amount_cents))


@dataclass(frozen=True)
class DisbursementRequest:
    disbursement_id: uuid.UUID
    loan_id: uuid.UUID
    client_id: uuid.UUID
    account_number: str
    phone: Msisdn
    amount_cents: AmountCents
    origin_attempt: int
    correlation_id: str | None

    def __post_init__(self) -> None:  # as IncomingPayment's: free for what the edge read
        object.__setattr__(self, "phone", Msisdn(self.phone))
        object.__setattr__(self, "amount_cents", AmountCents(self.amount_cents))


@dataclass(frozen=True)
class PromptRequest:
    prompt_id: uuid.UUID
    phone: Msisdn
    amount_cents: AmountCents
    account_reference: str
    loan_id: uuid.UUID | None
    correlation_id: str | None

    def __post_init__(self) -> None:  # as IncomingPayment's: free for what the edge read
        object.__setattr__(self, "phone", Msisdn(self.phone))
        object.__setattr__(self, "amount_cents", AmountCents(self.amount_cents))
