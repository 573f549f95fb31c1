"""Receipts: one per payment receipt number (M-Pesa TransID or staff transaction id), ever.

The receipt number is the idempotency key of every money-in. The same receipt again with the
same amount and target is acknowledged and changes nothing; with a different amount or target
it is a conflict, flagged here for staff and never posted.

A receipt number arrives as a ``ReceiptNumber`` (trimmed, upper case, checked: staff typing an
M-Pesa receipt in lower case mean the same payment), read where the request or event came in.
"""

from __future__ import annotations

import functools
import uuid
from typing import Any

from eventsourcing.domain import Aggregate, event

from hazina_contracts.money import AmountCents, format_cents
from hazina_contracts.receipts import ReceiptNumber
from hazina_ledger.domain import accounts as acc
from hazina_ledger.domain.errors import InvalidRequestError, InvalidStateError
from hazina_ledger.domain.journal import JournalEntry

RECEIPT_NAMESPACE = uuid.UUID("3f0d9a8e-6a4b-4f55-9d33-1c2e7b4a9e01")

LOAN, SAVINGS, UNALLOCATED = "loan", "savings", "unallocated"
TARGETS = (LOAN, SAVINGS, UNALLOCATED)


@functools.lru_cache(maxsize=65_536)  # asked three times per posting; a pure function
def receipt_id(receipt: ReceiptNumber) -> uuid.UUID:
    return uuid.uuid5(RECEIPT_NAMESPACE, receipt)


class Receipt(Aggregate):
    """A received payment, the target it was posted to, and any conflicting attempts to reuse it."""

    TOPIC = "hazina.ledger.Receipt"

    class Created(Aggregate.Created):
        TOPIC = "hazina.ledger.Receipt.Created"

    @staticmethod
    def create_id(receipt: ReceiptNumber, **_: Any) -> uuid.UUID:
        return receipt_id(receipt)

    class Recorded(Aggregate.Created):
        TOPIC = "hazina.ledger.Receipt.Recorded"
        receipt: str
        amount_cents: int
        target: str
        target_id: str | None
        method: str
        channel: str
        paid_at: str
        recorded_by: str | None
        account_reference: str | None
        journal: list[list[Any]]

    @event(Recorded)
    def __init__(
        self,
        *,
        receipt: str,
        amount_cents: int,
        target: str,
        target_id: str | None,
        method: str,
        channel: str,
        paid_at: str,
        recorded_by: str | None,
        account_reference: str | None,
        journal: list[list[Any]],
    ) -> None:
        self.receipt = receipt
        self.amount_cents = amount_cents
        self.target = target
        self.target_id = target_id
        self.method = method
        self.channel = channel
        self.paid_at = paid_at
        self.status = "unallocated" if target == UNALLOCATED else "posted"
        self.assigned_to: tuple[str, str] | None = None
        self.conflicts: list[tuple[int, str, str | None]] = []

    @classmethod
    def record(
        cls,
        *,
        receipt: ReceiptNumber,
        amount_cents: AmountCents,
        target: str,
        target_id: str | None,
        method: str,
        channel: str,
        paid_at: str,
        recorded_by: str | None,
        account_reference: str | None = None,
    ) -> Receipt:
        if target not in TARGETS:
            raise InvalidRequestError(f"receipt target must be one of {', '.join(TARGETS)}")
        journal: list[list[Any]] = []
        if target == UNALLOCATED:
            # Money is in the paybill but belongs to nobody yet (lending.md §4.2 J7).
            source = acc.SOURCE_BY_METHOD.get(method, acc.PAYBILL)
            journal = JournalEntry.transfer(
                {source: amount_cents}, {acc.UNALLOCATED_RECEIPTS: amount_cents}
            ).to_legs()
        return cls(
            receipt=receipt,
            amount_cents=amount_cents,
            target=target,
            target_id=target_id,
            method=method,
            channel=channel,
            paid_at=paid_at,
            recorded_by=recorded_by,
            account_reference=account_reference if target == UNALLOCATED else None,
            journal=journal,
        )

    @property
    def paid_in_from(self) -> str:
        """The account this receipt's money came from: the paybill, till or bank of its method,
        or the unallocated receipts staff assigned it from (where a reversal sends it back)."""
        if self.assigned_to is not None:
            return acc.UNALLOCATED_RECEIPTS
        return acc.SOURCE_BY_METHOD[self.method]

    def matches(self, amount_cents: int, target: str, target_id: str | None) -> bool:
        return (self.amount_cents, self.target, self.target_id) == (amount_cents, target, target_id)

    @staticmethod
    def describe_target(amount_cents: int, target: str, target_id: str | None) -> str:
        where = target if target_id is None else f"{target} {target_id}"
        return f"{format_cents(amount_cents)} KES to {where}"

    def describe(self) -> str:
        return self.describe_target(self.amount_cents, self.target, self.target_id)

    def flag_conflict(
        self, *, amount_cents: int, target: str, target_id: str | None, source: str, flagged_at: str
    ) -> bool:
        """Record a conflicting reuse once per distinct (amount, target); False when already flagged."""
        if (amount_cents, target, target_id) in self.conflicts:
            return False
        self._conflict_flagged(
            amount_cents=amount_cents,
            target=target,
            target_id=target_id,
            source=source,
            flagged_at=flagged_at,
        )
        return True

    class ConflictFlagged(Aggregate.Event):
        TOPIC = "hazina.ledger.Receipt.ConflictFlagged"
        amount_cents: int
        target: str
        target_id: str | None
        source: str
        flagged_at: str

    @event(ConflictFlagged)
    def _conflict_flagged(
        self, amount_cents: int, target: str, target_id: str | None, source: str, flagged_at: str
    ) -> None:
        self.conflicts.append((amount_cents, target, target_id))

    def assign(self, *, target: str, target_id: str, assigned_by: str, assigned_at: str) -> None:
        """Staff assign an unallocated receipt to a loan or a client's savings, once."""
        if self.status != "unallocated":
            raise InvalidStateError(f"Receipt {self.receipt} is {self.status}, not unallocated")
        if target not in (LOAN, SAVINGS):
            raise InvalidRequestError("an unallocated receipt is assigned to a loan or to savings")
        self._assigned(
            target=target, target_id=target_id, assigned_by=assigned_by, assigned_at=assigned_at
        )

    class Assigned(Aggregate.Event):
        TOPIC = "hazina.ledger.Receipt.Assigned"
        target: str
        target_id: str
        assigned_by: str
        assigned_at: str

    @event(Assigned)
    def _assigned(self, target: str, target_id: str, assigned_by: str, assigned_at: str) -> None:
        self.status = "assigned"
        self.assigned_to = (target, target_id)

    def mark_reversed(self, *, reason: str, reversed_by: str, reversed_at: str) -> None:
        if self.status == "reversed":
            raise InvalidStateError(f"Receipt {self.receipt} is already reversed")
        self._reversed(reason=reason, reversed_by=reversed_by, reversed_at=reversed_at)

    class Reversed(Aggregate.Event):
        TOPIC = "hazina.ledger.Receipt.Reversed"
        reason: str
        reversed_by: str
        reversed_at: str

    @event(Reversed)
    def _reversed(self, reason: str, reversed_by: str, reversed_at: str) -> None:
        self.status = "reversed"
