"""The guarantees one client has given, kept so two guarantee requests at once cannot both pass the cap.

Every new guarantee by a client is recorded here and saved in the same atomic write as the loan
it guarantees. Two requests racing for the same client both write the next version of this
record; the event store lets only one of them in, and the other decides again with the first
one counted.
"""

from __future__ import annotations

import uuid
from typing import Any

from eventsourcing.domain import Aggregate, event
from eventsourcing.utils import register_topic

from hazina_origination.domain.errors import NotEligibleError, RuleFailure

GUARANTEES_NAMESPACE = uuid.UUID("5b7f2a8e-0c41-4d6e-9f3a-2e8d7c1b6a90")


class ClientGuarantees(Aggregate):
    TOPIC = "hazina.origination.ClientGuarantees"

    class Created(Aggregate.Created):
        TOPIC = "hazina.origination.ClientGuarantees.Created"

    @staticmethod
    def create_id(client_id: uuid.UUID, **_: Any) -> uuid.UUID:
        return uuid.uuid5(GUARANTEES_NAMESPACE, f"guarantees:{client_id}")

    @event("Started", topic="hazina.origination.ClientGuarantees.Started")
    def __init__(self, *, client_id: uuid.UUID) -> None:
        self.client_id = client_id
        self.given = 0

    def pledge(
        self,
        *,
        loan_id: uuid.UUID,
        guarantor_id: uuid.UUID,
        open_guarantees: int,
        most_allowed: int,
    ) -> None:
        """Record one more guarantee, unless the client already guarantees the most open loans allowed."""
        if open_guarantees >= most_allowed:
            raise NotEligibleError(
                [
                    RuleFailure(
                        "max_guarantees",
                        f"This client already guarantees {most_allowed} open loans, the most allowed",
                    )
                ]
            )
        self._pledged(loan_id=str(loan_id), guarantor_id=str(guarantor_id))

    @event("Pledged", topic="hazina.origination.ClientGuarantees.Pledged")
    def _pledged(self, loan_id: str, guarantor_id: str) -> None:
        self.given += 1


# Events stored before topics were pinned name this class (and theirs) by module path.
register_topic("hazina_origination.domain.guarantees:ClientGuarantees", ClientGuarantees)
