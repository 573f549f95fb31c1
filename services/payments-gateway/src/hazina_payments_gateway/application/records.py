"""What a callback says, once read from the rail's wire format (the adapters do the reading)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Literal


class MalformedCallbackError(ValueError):
    """A stored callback that cannot be read; it is kept and flagged, never retried blindly."""


@dataclass(frozen=True)
class B2CResult:
    ocid: str
    conversation_id: str | None
    result_code: str
    description: str
    receipt: str | None
    amount_cents: int | None
    recipient_name: str | None
    completed_at: datetime | None


@dataclass(frozen=True)
class B2CTimeout:
    ocid: str
    conversation_id: str | None
    description: str


@dataclass(frozen=True)
class StatusResult:
    query_conversation_id: str | None
    occasion: str | None
    result_code: str
    description: str
    original_ocid: str | None
    transaction_status: str | None
    receipt: str | None
    amount_cents: int | None
    recipient_name: str | None
    finalised_at: datetime | None
    charge_cents: int | None


@dataclass(frozen=True)
class IncomingPayment:
    receipt: str
    amount_cents: int
    msisdn: str | None
    bill_ref: str
    paid_at: datetime
    payer_name: str | None
    shortcode: str | None
    channel: Literal["c2b", "stk", "reconciliation"]


@dataclass(frozen=True)
class StkCallback:
    checkout_request_id: str
    merchant_request_id: str | None
    result_code: str
    description: str
    receipt: str | None
    amount_cents: int | None
    phone: str | None
    paid_at: datetime | None


@dataclass(frozen=True)
class DisbursementRequest:
    disbursement_id: uuid.UUID
    loan_id: uuid.UUID
    client_id: uuid.UUID
    account_number: str
    phone: str
    amount_cents: int
    origin_attempt: int
    correlation_id: str | None


@dataclass(frozen=True)
class PromptRequest:
    prompt_id: uuid.UUID
    phone: str
    amount_cents: int
    account_reference: str
    loan_id: uuid.UUID | None
    correlation_id: str | None
