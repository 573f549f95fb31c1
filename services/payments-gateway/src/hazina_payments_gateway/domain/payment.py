"""Money received on the paybill (C2B), by STK Push, or found later by reconciliation.

The aggregate id is derived from the M-Pesa receipt, so the same receipt arriving twice, by any
path (a C2B confirmation and an STK callback, a retried callback, a pull), is recorded once.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from eventsourcing.domain import Aggregate, event

RECEIPT_NAMESPACE = uuid.UUID("0b4c7a8e-3d5f-4e6a-9c1b-7f2e8d9a0c31")

Target = Literal["loan", "savings", "unallocated"]
Channel = Literal["c2b", "stk", "reconciliation"]


def normalise_receipt(receipt: str) -> str:
    return receipt.strip().upper()


class Payment(Aggregate):
    @staticmethod
    def create_id(receipt: str, **_: object) -> uuid.UUID:
        return uuid.uuid5(RECEIPT_NAMESPACE, normalise_receipt(receipt))

    @event("Received")
    def __init__(
        self,
        *,
        receipt: str,
        amount_cents: int,
        msisdn: str | None,
        account_reference: str,
        target: Target,
        loan_id: uuid.UUID | None,
        client_id: uuid.UUID | None,
        paid_at: datetime,
        payer_name: str | None,
        channel: Channel,
        shortcode: str | None,
        correlation_id: str | None,
    ) -> None:
        if amount_cents <= 0:
            raise ValueError("a payment's amount must be positive")
        self.receipt = normalise_receipt(receipt)
        self.amount_cents = amount_cents
        self.msisdn = msisdn
        self.account_reference = account_reference
        self.target = target
        self.loan_id = loan_id
        self.client_id = client_id
        self.paid_at = paid_at
        self.payer_name = payer_name
        self.channel = channel
        self.shortcode = shortcode
        self.correlation_id = correlation_id
