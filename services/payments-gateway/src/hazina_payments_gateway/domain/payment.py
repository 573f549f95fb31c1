"""Money received on the paybill (C2B), by STK Push, or found later by reconciliation.

The aggregate id is derived from the M-Pesa receipt, so the same receipt arriving twice, by any
path (a C2B confirmation and an STK callback, a retried callback, a pull), is recorded once.
A repeat that disagrees with the first (another amount, phone or account reference) is not the
same payment reported twice: it is recorded once as a conflicting repeat, for staff to resolve.

The receipt and amount come in as an ``MpesaReceipt`` and an ``AmountCents``, read once where
the rail's report was read; nothing here normalises or checks them again.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from eventsourcing.domain import Aggregate, event
from eventsourcing.utils import register_topic

from hazina_contracts.money import AmountCents, format_kes
from hazina_contracts.receipts import MpesaReceipt
from hazina_payments_gateway.domain.rules import normalise_reference, phones_agree

RECEIPT_NAMESPACE = uuid.UUID("0b4c7a8e-3d5f-4e6a-9c1b-7f2e8d9a0c31")

Target = Literal["loan", "savings", "unallocated"]
Channel = Literal["c2b", "stk", "reconciliation"]


def differences(
    first: tuple[int, str | None, str], repeat: tuple[int, str | None, str]
) -> tuple[str, ...]:
    """How a repeat of a receipt disagrees with a report of it: ``(amount_cents, msisdn, reference)``.

    References are compared as borrowers' references are matched (no case, spaces, punctuation);
    phones only where their forms can be compared (full, masked, hashed). The phone is not quoted.
    """
    found = []
    if repeat[0] != first[0]:
        found.append(f"amount {format_kes(repeat[0])} (first {format_kes(first[0])})")
    if not phones_agree(first[1], repeat[1]):
        found.append("phone number")
    if normalise_reference(repeat[2]) != normalise_reference(first[2]):
        found.append("account reference")
    return tuple(found)


class Payment(Aggregate):
    TOPIC = "hazina.payments.Payment"

    class Created(Aggregate.Created):
        TOPIC = "hazina.payments.Payment.Created"

    @staticmethod
    def create_id(receipt: MpesaReceipt, **_: object) -> uuid.UUID:
        return uuid.uuid5(RECEIPT_NAMESPACE, receipt)

    class Received(Aggregate.Created):
        TOPIC = "hazina.payments.Payment.Received"
        receipt: str
        amount_cents: int
        msisdn: str | None
        account_reference: str
        target: Target
        loan_id: uuid.UUID | None
        client_id: uuid.UUID | None
        paid_at: datetime
        payer_name: str | None
        channel: Channel
        shortcode: str | None
        correlation_id: str | None

    @event(Received)
    def __init__(
        self,
        *,
        receipt: MpesaReceipt,
        amount_cents: AmountCents,
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
        self.receipt = receipt
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
        self.conflicts: list[tuple[int, str | None, str]] = []

    def differences_from(
        self, *, amount_cents: int, msisdn: str | None, account_reference: str
    ) -> tuple[str, ...]:
        """How a repeat disagrees with the first report; empty when it is the same payment again."""
        return differences(
            (self.amount_cents, self.msisdn, self.account_reference),
            (amount_cents, msisdn, account_reference),
        )

    def is_known_conflict(
        self, *, amount_cents: int, msisdn: str | None, account_reference: str
    ) -> bool:
        repeat = (amount_cents, msisdn, account_reference)
        return any(not differences(seen, repeat) for seen in self.conflicts)

    def record_conflict(
        self,
        *,
        amount_cents: AmountCents,
        msisdn: str | None,
        account_reference: str,
        target: Target,
        loan_id: uuid.UUID | None,
        client_id: uuid.UUID | None,
        paid_at: datetime,
        payer_name: str | None,
        channel: Channel,
        disagreements: tuple[str, ...],
    ) -> None:
        """The receipt again, disagreeing with the first report; the first report stands."""
        self._conflicting_repeat(
            receipt=self.receipt,
            amount_cents=amount_cents,
            msisdn=msisdn,
            account_reference=account_reference,
            target=target,
            loan_id=loan_id,
            client_id=client_id,
            paid_at=paid_at,
            payer_name=payer_name,
            channel=channel,
            disagreements=list(disagreements),
        )

    class ConflictingRepeat(Aggregate.Event):
        TOPIC = "hazina.payments.Payment.ConflictingRepeat"
        receipt: str
        amount_cents: int
        msisdn: str | None
        account_reference: str
        target: Target
        loan_id: uuid.UUID | None
        client_id: uuid.UUID | None
        paid_at: datetime
        payer_name: str | None
        channel: Channel
        disagreements: list[str]

    @event(ConflictingRepeat)
    def _conflicting_repeat(
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
        disagreements: list[str],
    ) -> None:
        self.conflicts.append((amount_cents, msisdn, account_reference))


# Events stored before topics were pinned name this class (and theirs) by module path.
register_topic("hazina_payments_gateway.domain.payment:Payment", Payment)
