"""What the gateway's staff routes answer, as typed models (the OpenAPI document states them).

``extra="allow"``: a field a view adds is passed on rather than silently dropped.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

_OPEN = ConfigDict(extra="allow", populate_by_name=True)


class DisbursementRow(BaseModel):
    """A disbursement in a list; money in cents (``amountKES`` is for display)."""

    model_config = _OPEN
    record_id: str = Field(alias="_id")
    id: str
    loanId: str  # noqa: N815 - the frontend's names
    clientId: str  # noqa: N815
    accountNumber: str | None  # noqa: N815
    phone: str | None
    amountCents: int  # noqa: N815
    amountKES: str  # noqa: N815
    status: str
    attempt: int
    originatorConversationId: str | None  # noqa: N815
    mpesaReceipt: str | None  # noqa: N815
    chargeCents: int | None  # noqa: N815
    recipientName: str | None  # noqa: N815
    completedAt: str | None  # noqa: N815
    resultCode: str | None  # noqa: N815
    resultDescription: str | None  # noqa: N815
    retryable: bool | None
    lastReason: str | None  # noqa: N815
    createdAt: str | None  # noqa: N815
    updatedAt: str | None  # noqa: N815


class DisbursementView(DisbursementRow):
    """One disbursement with what the gateway did about it (sends, status queries, next check)."""

    conversationId: str | None  # noqa: N815
    sends: int
    statusQueries: int  # noqa: N815
    nextCheckAt: str | None  # noqa: N815


class RecordedPayments(BaseModel):
    """Payments found (Pull Transactions or a statement), newly recorded, and already known."""

    model_config = _OPEN
    found: int
    recorded: int
    alreadyKnown: int  # noqa: N815


class PullResult(RecordedPayments):
    start: str
    end: str


class StatementResult(RecordedPayments):
    problems: list[str]
