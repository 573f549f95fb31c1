"""Staff decisions on a stored callback the inbox could not close by itself (flagged, parked or
open): each retry or dismissal, who made it and why, kept as events for as long as the money is.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from eventsourcing.domain import Aggregate, event
from eventsourcing.utils import register_topic

from hazina_payments_gateway.domain.rules import GatewayRuleError, unsafe_character

REVIEW_NAMESPACE = uuid.UUID("5d1f0c2e-8a47-4b39-9e61-2c7a4f8b0d93")
MAX_REASON = 500

Decision = Literal["retry", "dismiss"]


def checked_reason(reason: str) -> str:
    """Why staff decided: required, one readable line of at most 500 characters."""
    text = (reason or "").strip()
    if not text:
        raise GatewayRuleError("reason is required")
    if len(text) > MAX_REASON:
        raise GatewayRuleError(f"reason must be at most {MAX_REASON} characters")
    if (bad := unsafe_character(text)) is not None:
        raise GatewayRuleError(f"reason contains a control character ({bad})")
    return text


class CallbackReview(Aggregate):
    """One stored callback's review; the id follows from the inbox row (``inbox_key``)."""

    TOPIC = "hazina.payments.CallbackReview"

    class Created(Aggregate.Created):
        TOPIC = "hazina.payments.CallbackReview.Created"

    @staticmethod
    def create_id(inbox_key: str, **_: object) -> uuid.UUID:
        return uuid.uuid5(REVIEW_NAMESPACE, inbox_key)

    @event("Opened", topic="hazina.payments.CallbackReview.Opened")
    def __init__(self, *, inbox_key: str, inbox_id: int, kind: str) -> None:
        self.inbox_key = inbox_key
        self.inbox_id = inbox_id
        self.kind = kind
        self.decisions: list[tuple[str, str]] = []

    def decide(
        self, *, decision: Decision, was: str, by: uuid.UUID | None, reason: str, at: datetime
    ) -> None:
        reason = checked_reason(reason)
        if decision == "retry":
            self._retry_requested(was=was, by=by, reason=reason, at=at)
        elif decision == "dismiss":
            self._dismissed(was=was, by=by, reason=reason, at=at)
        else:  # pragma: no cover - the type admits nothing else
            raise GatewayRuleError(f"unknown decision {decision!r}")

    @event("RetryRequested", topic="hazina.payments.CallbackReview.RetryRequested")
    def _retry_requested(self, was: str, by: uuid.UUID | None, reason: str, at: datetime) -> None:
        self.decisions.append(("retry", reason))

    @event("Dismissed", topic="hazina.payments.CallbackReview.Dismissed")
    def _dismissed(self, was: str, by: uuid.UUID | None, reason: str, at: datetime) -> None:
        self.decisions.append(("dismiss", reason))


# Events stored before topics were pinned name this class (and theirs) by module path.
register_topic("hazina_payments_gateway.domain.callback_review:CallbackReview", CallbackReview)
