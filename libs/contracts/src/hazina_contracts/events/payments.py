"""Events the payments gateway publishes on the PAYMENTS stream: what happened on the money rails."""

from __future__ import annotations

from typing import ClassVar, Literal
from uuid import UUID

from pydantic import AwareDatetime, Field

from hazina_contracts.events.base import ContractEvent
from hazina_contracts.money import AmountCents
from hazina_contracts.receipts import ReceiptNumber
from hazina_contracts.subjects import Stream


class _PaymentsEvent(ContractEvent):
    STREAM: ClassVar[Stream] = Stream.PAYMENTS
    occurred_at: AwareDatetime


class DisbursementCompleted(_PaymentsEvent):
    TYPE: ClassVar[str] = "DisbursementCompleted"
    VERSION: ClassVar[int] = 1
    AGGREGATE: ClassVar[str] = "disbursement"
    EVENT: ClassVar[str] = "completed"
    disbursement_id: UUID
    loan_id: UUID
    amount_cents: AmountCents
    charge_cents: int = Field(
        ge=0, description="Safaricom's B2C charge, from the configured tariff"
    )
    mpesa_receipt: str
    recipient_name: str | None = None
    completed_at: AwareDatetime


class DisbursementFailed(_PaymentsEvent):
    TYPE: ClassVar[str] = "DisbursementFailed"
    VERSION: ClassVar[int] = 1
    AGGREGATE: ClassVar[str] = "disbursement"
    EVENT: ClassVar[str] = "failed"
    disbursement_id: UUID
    loan_id: UUID
    amount_cents: AmountCents
    result_code: str
    result_description: str
    retryable: bool


class PaymentReceived(_PaymentsEvent):
    """Money in (C2B paybill, STK push, or found later by reconciliation); ``receipt`` is the idempotency key."""

    TYPE: ClassVar[str] = "PaymentReceived"
    VERSION: ClassVar[int] = 1
    AGGREGATE: ClassVar[str] = "payment"
    EVENT: ClassVar[str] = "received"
    # Read as the ledger keys every money-in (normalised, checked); the gateway only ever sends
    # M-Pesa receipts, and older events stay readable by the ledger's wider rule.
    receipt: ReceiptNumber = Field(description="M-Pesa TransID / MpesaReceiptNumber")
    amount_cents: AmountCents
    msisdn: str | None = Field(
        default=None, description="phone or its hash, exactly as Daraja sent it"
    )
    account_reference: str = Field(description="BillRefNumber as sent")
    loan_id: UUID | None = Field(default=None, description="set when the reference matched a loan")
    client_id: UUID | None = Field(
        default=None, description="set when it matched a loan's or a client's"
    )
    target: Literal["loan", "savings", "unallocated"]
    paid_at: AwareDatetime
    payer_name: str | None = None
    channel: Literal["c2b", "stk", "reconciliation"]
