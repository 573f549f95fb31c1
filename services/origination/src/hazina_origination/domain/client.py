"""Borrowers. They never log in; officers onboard them, admins approve them."""

from __future__ import annotations

import re
import uuid
from typing import Any

from eventsourcing.domain import Aggregate, event
from eventsourcing.utils import register_topic

from hazina_origination.domain.errors import IllegalTransitionError, InvalidInputError

CLIENT_STATUSES = ("legacy", "pending", "active")
RESIDENCES = ("owned", "rented")
_NATIONAL_ID = re.compile(r"^[0-9]{6,9}$")
NATIONAL_ID_NAMESPACE = uuid.UUID("c0e3f1de-2b7a-4f57-9a0e-5d1c8b6a4f10")


def normalise_national_id(raw: str) -> str:
    value = (raw or "").strip().replace(" ", "")
    if not _NATIONAL_ID.match(value):
        raise InvalidInputError("nationalId must be a Kenyan national ID number (6 to 9 digits)")
    return value


def normalise_residence(raw: str) -> str:
    value = (raw or "").strip().lower()
    if value not in RESIDENCES:
        raise InvalidInputError("residence must be owned or rented")
    return value


class Client(Aggregate):
    TOPIC = "hazina.origination.Client"

    class Created(Aggregate.Created):
        TOPIC = "hazina.origination.Client.Created"

    @event("Onboarded", topic="hazina.origination.Client.Onboarded")
    def __init__(
        self,
        *,
        name: str,
        national_id: str,
        phone: str,
        residence: str | None,
        business_type: str | None,
        business_location: str | None,
        next_of_kin: dict[str, Any],
        group_id: uuid.UUID | None,
        loan_officer_id: uuid.UUID | None,
        branch_id: str | None,
        photo: str | None,
        status: str,
        created_by: uuid.UUID | None,
        correlation_id: str | None,
    ) -> None:
        if status not in CLIENT_STATUSES:
            raise InvalidInputError(f"unknown client status {status}")
        self.name = name
        self.national_id = national_id
        self.phone = phone
        self.residence = residence
        self.business_type = business_type
        self.business_location = business_location
        self.next_of_kin = dict(next_of_kin)
        self.group_id = group_id
        self.loan_officer_id = loan_officer_id
        self.branch_id = branch_id
        self.photo = photo
        self.status = status
        self.open_loan_ids: list[str] = []

    def approve(self, *, by: uuid.UUID, correlation_id: str | None) -> None:
        if self.status == "active":
            raise IllegalTransitionError("Client is already active")
        self._approved(approved_by=by, previous_status=self.status, correlation_id=correlation_id)

    @event("Approved", topic="hazina.origination.Client.Approved")
    def _approved(
        self, approved_by: uuid.UUID, previous_status: str, correlation_id: str | None
    ) -> None:
        self.status = "active"

    # Open loans live on the client so two loans asked for at once cannot both pass the limit.

    def loan_opened(self, loan_id: uuid.UUID) -> None:
        self._loan_opened(loan_id=str(loan_id))

    @event("LoanOpened", topic="hazina.origination.Client.LoanOpened")
    def _loan_opened(self, loan_id: str) -> None:
        if loan_id not in self.open_loan_ids:
            self.open_loan_ids.append(loan_id)

    def loan_closed(self, loan_id: uuid.UUID, reason: str) -> bool:
        if str(loan_id) not in self.open_loan_ids:
            return False
        self._loan_closed(loan_id=str(loan_id), reason=reason)
        return True

    @event("LoanClosed", topic="hazina.origination.Client.LoanClosed")
    def _loan_closed(self, loan_id: str, reason: str) -> None:
        self.open_loan_ids = [x for x in self.open_loan_ids if x != loan_id]


# Events stored before topics were pinned name this class (and theirs) by module path.
register_topic("hazina_origination.domain.client:Client", Client)


class Reservation(Aggregate):
    """A unique business key (a national ID, an account number): its id derives from the key,
    so saving a second reservation of the same key fails in the event store itself."""

    TOPIC = "hazina.origination.Reservation"

    class Created(Aggregate.Created):
        TOPIC = "hazina.origination.Reservation.Created"

    @staticmethod
    def create_id(kind: str, key: str, **_: Any) -> uuid.UUID:
        return uuid.uuid5(NATIONAL_ID_NAMESPACE, f"{kind}:{key}")

    @event("Made", topic="hazina.origination.Reservation.Made")
    def __init__(self, *, kind: str, key: str, holder_id: uuid.UUID) -> None:
        self.kind = kind
        self.key = key
        self.holder_id = holder_id


# Events stored before topics were pinned name this class (and theirs) by module path.
register_topic("hazina_origination.domain.client:Reservation", Reservation)
