"""What the USSD use cases need from the outside world; bootstrap fills each with an adapter."""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Protocol

from hazina_ussd.domain.limit import History
from hazina_ussd.domain.menu import Borrower


class Clock(Protocol):
    def now(self) -> datetime: ...


class PinHasher(Protocol):
    def hash(self, pin: str) -> str: ...

    def verify(self, pin_hash: str, pin: str) -> bool: ...


@dataclass
class StoredSession:
    state: dict[str, Any] | None  # None: the session's first hop
    last_text: str
    last_reply: str
    expires_at: datetime | None


@dataclass(frozen=True)
class RateCheck:
    key: str
    limit: int
    window_seconds: int


@dataclass(frozen=True)
class ClientRecord:
    client_id: uuid.UUID
    name: str
    national_id: str
    phone: str
    approved: bool


class BorrowerDirectory(Protocol):
    """Local projections of origination's clients and loans and the ledger's balances."""

    def client(self, client_id: uuid.UUID) -> ClientRecord | None: ...

    def borrower(self, client: ClientRecord) -> tuple[Borrower, History]: ...

    def reminders_due(self, today: date, days_ahead: int) -> Iterator[Reminder]: ...


@dataclass(frozen=True)
class HopView:
    """What a hop starts from, read together: the rate windows counted, the session so far,
    and the borrower the phone belongs to (with their limit's history)."""

    allowed: bool
    session: StoredSession
    version: int  # hops saved so far (0: a new session)
    client: ClientRecord | None
    borrower: tuple[Borrower, History] | None


@dataclass(frozen=True)
class SavedHop:
    state: dict[str, Any]
    text: str
    reply: str
    expires_at: datetime


@dataclass(frozen=True)
class SessionEnded:
    """Africa's Talking's end-of-session notification."""

    session_id: str
    phone: str  # an Msisdn
    status: str  # Success | Incomplete | Failed
    duration_ms: int | None
    cost: str
    error: str


class HopStore(Protocol):
    """Sessions outside the process (any instance answers the next hop) and the per-phone and
    per-session rate windows, shared by every instance."""

    def begin(
        self, session_id: str, phone: str, checks: Sequence[RateCheck], now: datetime
    ) -> HopView:
        """Count one hit on every rate window and read what the hop needs."""
        ...

    def save(
        self, session_id: str, phone: str, version: int, saved: SavedHop, now: datetime
    ) -> bool:
        """Save the hop; False when another hop of the session saved first (run it again)."""
        ...

    def end(self, ended: SessionEnded, now: datetime) -> bool:
        """Close the session (a later hop finds it expired) and keep how it ended; False when it
        is unknown or was closed already."""
        ...


@dataclass(frozen=True)
class Reminder:
    kind: str  # due_soon | overdue
    client_id: uuid.UUID
    loan_id: uuid.UUID
    account_number: str
    phone: str
    due_on: date
    amount_cents: int


@dataclass(frozen=True)
class Notice:
    """One SMS to send, once: ``key`` names the fact that triggered it."""

    key: str
    client_id: uuid.UUID | None
    phone: str
    kind: str
    language: str
    text: str


class SmsOutbox(Protocol):
    def enqueue(self, notice: Notice) -> bool: ...


@dataclass(frozen=True)
class Accepted:
    provider_message_id: str


@dataclass(frozen=True)
class Rejected:
    code: str
    retryable: bool
    reason: str


SendResult = Accepted | Rejected


class SmsSender(Protocol):
    """A bulk SMS provider (Africa's Talking today; Damza when its API is known)."""

    def send(self, to: str, text: str) -> SendResult: ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class Outgoing:
    message_id: uuid.UUID
    phone: str
    text: str
    attempts: int


class SmsQueue(Protocol):
    """The SMS outbox as the sender works through it."""

    def claim_due(self, now: datetime) -> AbstractContextManager[Outgoing | None]: ...

    def mark_sent(self, message_id: uuid.UUID, provider_id: str, now: datetime) -> None: ...

    def mark_retry(
        self, message_id: uuid.UUID, error: str, next_attempt_at: datetime, now: datetime
    ) -> None: ...

    def mark_failed(self, message_id: uuid.UUID, error: str, now: datetime) -> None: ...


class JobRuns(Protocol):
    def claim(self, job: str, day: date) -> bool:
        """True for the one caller that runs ``job`` on ``day``; everyone else gets False."""
        ...


@dataclass(frozen=True)
class DeliveryReport:
    provider_message_id: str
    status: str
    failure_reason: str | None


class SmsLog(Protocol):
    """Each message's story as staff and Africa's Talking's delivery reports see it."""

    def record_report(self, report: DeliveryReport, now: datetime) -> bool: ...

    def notifications(
        self,
        *,
        status: str | None,
        client_id: uuid.UUID | None,
        since: datetime | None,
        until: datetime | None,
        offset: int,
        limit: int | None,
    ) -> tuple[list[dict[str, Any]], int]: ...
