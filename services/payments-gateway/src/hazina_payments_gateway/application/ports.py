"""What the use cases need from the outside world, and the typed results the rails give back."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
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


class DisbursementRows(Protocol):
    """Disbursements as staff list them (a read model of our own events)."""

    def list_disbursements(
        self,
        *,
        status: str | None,
        loan_id: uuid.UUID | None,
        offset: int,
        limit: int | None,
        officer_id: uuid.UUID | None = None,
    ) -> tuple[list[dict[str, Any]], int]:
        """Newest first; only those of the officer's own loans given ``officer_id``."""
        ...


# The callback inbox: every callback is stored raw before it is acknowledged, processed from
# there, and shown to staff when it needs a person. What the API needs of it, and of the rails.

STATUSES = ("pending", "processed", "flagged", "parked", "open", "dismissed")
# What staff are asked to look at; a retry or a dismissal is allowed from these.
ATTENTION = ("flagged", "parked", "open")

# Callback kinds (one per Daraja callback URL); bootstrap registers a handler for each.
KINDS = (
    "b2c_result",
    "b2c_timeout",
    "c2b_validation",
    "c2b_confirmation",
    "stk_callback",
    "status_result",
    "status_timeout",
    "reversal_result",
    "reversal_timeout",
    "balance_result",
    "balance_timeout",
)


class InboxUnavailableError(Exception):
    """The callback could not be stored; the caller must not be told it was accepted."""


class InboxRowNotFoundError(Exception):
    pass


class InboxRowStateError(Exception):
    """The row is not in a state the requested decision applies to."""


def inbox_key(row: Mapping[str, Any]) -> str:
    """A row's lasting identity (ids alone restart if the table is ever recreated)."""
    received: datetime = row["received_at"]
    return f"callback_inbox:{row['id']}:{received.isoformat()}"


class CallbackStore(Protocol):
    """Stores raw callbacks on the request path (async), open for as long as the API runs."""

    async def open(self) -> None: ...

    async def close(self) -> None: ...

    async def store(self, kind: str, body: bytes, remote: str | None) -> int:
        """The stored row's id, once committed; InboxUnavailableError when it cannot be stored."""
        ...

    async def match_reference(self, bill_ref: str | None) -> ReferenceMatch | None:
        """What an account reference matches, read on the request path; None while closed."""
        ...


class StoredCallbacks(Protocol):
    """The stored callbacks as staff see them, and the decisions staff take on them."""

    def page(
        self, *, statuses: list[str], kind: str | None, offset: int, limit: int | None
    ) -> tuple[list[dict[str, Any]], int]:
        """Rows (newest first) and how many match in all."""
        ...

    def get(self, row_id: int) -> dict[str, Any]:
        """The row; InboxRowNotFoundError when there is none."""
        ...

    def resolve(
        self, row_id: int, decision: str, record: Callable[[dict[str, Any]], object]
    ) -> dict[str, Any]:
        """``record(row)`` stores the decision while the row is locked, then the row changes:
        both or neither. InboxRowNotFoundError, or InboxRowStateError unless it awaits staff."""
        ...

    def attention_counts(self) -> dict[str, int]:
        """How many rows await staff, by status."""
        ...

    def wake(self) -> None:
        """Processing looks at the rows again now (after a retry)."""
        ...


class PullFailedError(Exception):
    """Daraja's Pull Transactions gave no usable answer."""


class TransactionPull(Protocol):
    async def pull_transactions(self, start: datetime, end: datetime) -> list[IncomingPayment]:
        """C2B payments Daraja recorded between ``start`` and ``end``; PullFailedError if unanswered."""
        ...


class StatementError(ValueError):
    """An M-Pesa statement that cannot be read at all."""


# An M-Pesa statement CSV -> its payments and the rows that could not be read (StatementError
# when it is no statement); a C2B callback's body -> the payment (MalformedCallbackError).
ReadStatement = Callable[[str], tuple[list[IncomingPayment], list[str]]]
ReadC2B = Callable[[bytes], IncomingPayment]


class ReconciliationBook(Protocol):
    def report(self, day: date) -> dict[str, Any]:
        """One Kenyan day's B2C and C2B against the ledger's postings, and what is missing."""
        ...
