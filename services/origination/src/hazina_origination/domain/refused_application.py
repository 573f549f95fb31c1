"""A USSD loan application origination did not record, kept so the borrower is told once."""

from __future__ import annotations

import uuid
from typing import Any, Literal

from eventsourcing.domain import Aggregate, event

ReasonCode = Literal["not_eligible", "invalid", "not_found", "other"]
_NAMESPACE = uuid.UUID("5b0f7c2e-9a41-4d8e-b3c6-2e7f1a9d4c58")


class RefusedApplication(Aggregate):
    """Its id derives from the application's, so a redelivered application that is refused again
    cannot be saved a second time (the event store refuses the duplicate)."""

    TOPIC = "hazina.origination.RefusedApplication"

    class Created(Aggregate.Created):
        TOPIC = "hazina.origination.RefusedApplication.Created"

    @staticmethod
    def create_id(application_id: uuid.UUID, **_: Any) -> uuid.UUID:
        return uuid.uuid5(_NAMESPACE, str(application_id))

    class Refused(Aggregate.Created):
        TOPIC = "hazina.origination.RefusedApplication.Refused"
        application_id: uuid.UUID
        reference: str
        client_id: uuid.UUID
        reason_code: str
        reason: str

    @event(Refused)
    def __init__(
        self,
        *,
        application_id: uuid.UUID,
        reference: str,
        client_id: uuid.UUID,
        reason_code: ReasonCode,
        reason: str,
    ) -> None:
        self.application_id = application_id
        self.reference = reference
        self.client_id = client_id
        self.reason_code = reason_code
        self.reason = reason
