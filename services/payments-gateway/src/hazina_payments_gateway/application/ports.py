"""What the use cases need from the outside world, and the typed results the rails give back."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Protocol

from hazina_payments_gateway.application.records import IncomingPayment

# Results of one request to a money rail. Nothing in between: a caller must handle all three.


@dataclass(frozen=True)
class Accepted:
    """The rail took the request (``ResponseCode 0``); the real outcome comes later."""

    conversation_id: str
    originator_conversation_id: str | None = None
    duplicate: bool = False  # the id had been accepted before (Daraja's duplicate-OCID answer)
    raw: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Rejected:
    """The rail refused the request. ``never_sent``: provably never reached it (safe to send again)."""

    code: str
    description: str
    retryable: bool
    never_sent: bool = False


@dataclass(frozen=True)
class Unknown:
    """Nobody can tell whether the rail acted (read timeout, 5xx, broken answer): ask before acting."""

    reason: str


SendResult = Accepted | Rejected | Unknown


@dataclass(frozen=True)
class B2COrder:
    ocid: str
    phone: str
    amount_cents: int
    remarks: str
    occasion: str


@dataclass(frozen=True)
class StkOrder:
    phone: str
    amount_cents: int
    account_reference: str
    description: str


@dataclass(frozen=True)
class StkAccepted:
    checkout_request_id: str
    merchant_request_id: str


StkResult = StkAccepted | Rejected | Unknown


@dataclass(frozen=True)
class StkQueryAnswer:
    """Daraja's answer to an STK Push Query about one prompt.

    ``pending``: the customer has not finished; ``done``: ``result_code`` is the prompt's result
    (``"0"`` paid; the answer never carries the receipt); ``unknown``: no usable answer.
    """

    state: Literal["pending", "done", "unknown"]
    result_code: str | None = None
    description: str = ""


class DarajaPort(Protocol):
    async def b2c_payment(self, order: B2COrder) -> SendResult: ...

    async def transaction_status(
        self, *, ocid: str | None, receipt: str | None, occasion: str
    ) -> SendResult: ...

    async def stk_push(self, order: StkOrder) -> StkResult: ...

    async def stk_query(self, checkout_request_id: str) -> StkQueryAnswer: ...

    async def stk_payments(self, start: datetime, end: datetime) -> list[IncomingPayment]:
        """Payments on the STK shortcode between ``start`` and ``end`` (Pull Transactions)."""
        ...


class Clock(Protocol):
    def now(self) -> datetime: ...


@dataclass(frozen=True)
class ReferenceMatch:
    target: Literal["loan", "savings", "unallocated"]
    loan_id: uuid.UUID | None = None
    client_id: uuid.UUID | None = None


class ReferenceBook(Protocol):
    """Account references from origination's events, kept locally so validation answers in time."""

    def match(self, bill_ref: str | None) -> ReferenceMatch: ...

    def match_many(self, bill_refs: list[str]) -> dict[str, ReferenceMatch]: ...


class DisbursementIndex(Protocol):
    """Finds disbursements by Daraja's ids (a read model of our own events)."""

    def by_ocid(self, ocid: str) -> uuid.UUID | None: ...

    def by_status_query(self, conversation_id: str) -> uuid.UUID | None: ...

    def by_checkout_request(self, checkout_request_id: str) -> uuid.UUID | None: ...

    def due(self, now: datetime, limit: int) -> list[uuid.UUID]: ...

    def due_prompts(self, now: datetime, limit: int) -> list[uuid.UUID]: ...

    def prompts_to_query(
        self, now: datetime, sent_before: datetime, limit: int
    ) -> list[uuid.UUID]: ...

    def receipts_of_other_prompts(self, prompt_id: uuid.UUID, receipts: list[str]) -> set[str]: ...

    def known_receipts(self, receipts: list[str]) -> set[str]: ...
