"""A client address that sign-in attempts come from, recorded once it is locked for spraying.

Only addresses that crossed the spray limit (many usernames guessed from one place) become an
aggregate, so the store holds a record of every such lock without one row per attempt.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from eventsourcing.domain import Aggregate, event
from eventsourcing.utils import register_topic

ADDRESS_NAMESPACE = uuid.UUID("5c2f8a9e-43b1-4f6d-9e0a-7b1d2c3e4f50")


class SignInAddress(Aggregate):
    """One aggregate per address: its id is derived from the address."""

    TOPIC = "hazina.identity.SignInAddress"

    class Created(Aggregate.Created):
        TOPIC = "hazina.identity.SignInAddress.Created"

    @staticmethod
    def create_id(client_address: str, **_: Any) -> uuid.UUID:
        return uuid.uuid5(ADDRESS_NAMESPACE, client_address)

    @event("Noted", topic="hazina.identity.SignInAddress.Noted")
    def __init__(self, *, client_address: str) -> None:
        self.client_address = client_address
        self.locked_until: datetime | None = None

    def record_locked_out(
        self, *, until: datetime, failures: int, correlation_id: str | None
    ) -> None:
        self._locked_out(
            client_address=self.client_address,
            until=until,
            failures=failures,
            correlation_id=correlation_id,
        )

    @event("LockedOut", topic="hazina.identity.SignInAddress.LockedOut")
    def _locked_out(
        self, client_address: str, until: datetime, failures: int, correlation_id: str | None
    ) -> None:
        self.locked_until = until


# Events stored before topics were pinned name this class (and theirs) by module path.
register_topic("hazina_identity.domain.sign_in_address:SignInAddress", SignInAddress)
