"""Borrowers. They never log in; officers onboard them, admins approve them."""

from __future__ import annotations

import re
import uuid
from typing import Any

from eventsourcing.domain import Aggregate, event
from eventsourcing.utils import register_topic

from hazina_origination.domain.errors import IllegalTransitionError, InvalidInputError

CLIENT_STATUSES = ("legacy", "pending", "active", "rejected")
RESIDENCES = ("owned", "rented", "family")
# What an edit may change, by the aggregate's attribute names.
EDITABLE_FIELDS = (
    "name",
    "national_id",
    "phone",
    "residence",
    "business_type",
    "business_location",
    "next_of_kin",
    "group_id",
    "loan_officer_id",
    "branch_id",
)
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
        raise InvalidInputError("residence must be owned, rented or family")
    return value


class Client(Aggregate):
    TOPIC = "hazina.origination.Client"

    class Created(Aggregate.Created):
        TOPIC = "hazina.origination.Client.Created"

    class Onboarded(Aggregate.Created):
        TOPIC = "hazina.origination.Client.Onboarded"
        name: str
        national_id: str
        phone: str
        residence: str | None
        business_type: str | None
        business_location: str | None
        next_of_kin: dict[str, Any]
        group_id: uuid.UUID | None
        loan_officer_id: uuid.UUID | None
        branch_id: str | None
        photo: str | None
        status: str
        created_by: uuid.UUID | None
        correlation_id: str | None

    @event(Onboarded)
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

    class Approved(Aggregate.Event):
        TOPIC = "hazina.origination.Client.Approved"
        approved_by: uuid.UUID
        previous_status: str
        correlation_id: str | None

    @event(Approved)
    def _approved(
        self, approved_by: uuid.UUID, previous_status: str, correlation_id: str | None
    ) -> None:
        self.status = "active"

    def reject(self, *, by: uuid.UUID, correlation_id: str | None) -> bool:
        """Refuse a client awaiting approval; asking again records nothing."""
        if self.status == "rejected":
            return False
        if self.status == "active":
            raise IllegalTransitionError("Client is active; only a pending client can be rejected")
        self._rejected(rejected_by=by, previous_status=self.status, correlation_id=correlation_id)
        return True

    class Rejected(Aggregate.Event):
        TOPIC = "hazina.origination.Client.Rejected"
        rejected_by: uuid.UUID
        previous_status: str
        correlation_id: str | None

    @event(Rejected)
    def _rejected(
        self, rejected_by: uuid.UUID, previous_status: str, correlation_id: str | None
    ) -> None:
        self.status = "rejected"

    def change_details(
        self, changes: dict[str, Any], *, by: uuid.UUID, correlation_id: str | None
    ) -> bool:
        """Record the fields that really differ (values already normalised); none: nothing recorded.

        A client changes group only between loans: their open loans were given by the old group.
        """
        differing = {k: v for k, v in changes.items() if _stored(getattr(self, k)) != _stored(v)}
        unknown = set(differing) - set(EDITABLE_FIELDS)
        if unknown:
            raise InvalidInputError(f"cannot change {', '.join(sorted(unknown))}")
        if not differing:
            return False
        if "group_id" in differing and self.open_loan_ids:
            raise IllegalTransitionError(
                "Client has an open loan; a client changes group only between loans"
            )
        after = {k: _stored(getattr(self, k)) for k in ("group_id", "loan_officer_id")}
        after.update({k: _stored(v) for k, v in differing.items() if k in after})
        self._details_changed(
            changes={k: _stored(v) for k, v in differing.items()},
            name=differing.get("name", self.name),
            national_id=differing.get("national_id", self.national_id),
            phone=differing.get("phone", self.phone),
            group_id=uuid.UUID(after["group_id"]) if after["group_id"] else None,
            loan_officer_id=uuid.UUID(after["loan_officer_id"])
            if after["loan_officer_id"]
            else None,
            changed_by=by,
            correlation_id=correlation_id,
        )
        return True

    class DetailsChanged(Aggregate.Event):
        """The fields that changed (``changes``, new values) and the client's identity after it."""

        TOPIC = "hazina.origination.Client.DetailsChanged"
        changes: dict[str, Any]
        name: str
        national_id: str
        phone: str
        group_id: uuid.UUID | None
        loan_officer_id: uuid.UUID | None
        changed_by: uuid.UUID
        correlation_id: str | None

    @event(DetailsChanged)
    def _details_changed(
        self,
        changes: dict[str, Any],
        name: str,
        national_id: str,
        phone: str,
        group_id: uuid.UUID | None,
        loan_officer_id: uuid.UUID | None,
        changed_by: uuid.UUID,
        correlation_id: str | None,
    ) -> None:
        for key, value in changes.items():
            if key not in ("group_id", "loan_officer_id"):
                setattr(self, key, dict(value) if isinstance(value, dict) else value)
        self.group_id = group_id
        self.loan_officer_id = loan_officer_id

    # Open loans live on the client so two loans asked for at once cannot both pass the limit.

    def loan_opened(self, loan_id: uuid.UUID) -> None:
        self._loan_opened(loan_id=str(loan_id))

    class LoanOpened(Aggregate.Event):
        TOPIC = "hazina.origination.Client.LoanOpened"
        loan_id: str

    @event(LoanOpened)
    def _loan_opened(self, loan_id: str) -> None:
        if loan_id not in self.open_loan_ids:
            self.open_loan_ids.append(loan_id)

    def loan_closed(self, loan_id: uuid.UUID, reason: str) -> bool:
        if str(loan_id) not in self.open_loan_ids:
            return False
        self._loan_closed(loan_id=str(loan_id), reason=reason)
        return True

    class LoanClosed(Aggregate.Event):
        TOPIC = "hazina.origination.Client.LoanClosed"
        loan_id: str
        reason: str

    @event(LoanClosed)
    def _loan_closed(self, loan_id: str, reason: str) -> None:
        self.open_loan_ids = [x for x in self.open_loan_ids if x != loan_id]


# Events stored before topics were pinned name this class (and theirs) by module path.
register_topic("hazina_origination.domain.client:Client", Client)


def _stored(value: Any) -> Any:
    """A value as an event keeps it: ids as text, so a change compares equal to what it repeats."""
    return str(value) if isinstance(value, uuid.UUID) else value


class Reservation(Aggregate):
    """A unique business key (a national ID, an account number): its id derives from the key,
    so saving a second reservation of the same key fails in the event store itself."""

    TOPIC = "hazina.origination.Reservation"

    class Created(Aggregate.Created):
        TOPIC = "hazina.origination.Reservation.Created"

    @staticmethod
    def create_id(kind: str, key: str, **_: Any) -> uuid.UUID:
        return uuid.uuid5(NATIONAL_ID_NAMESPACE, f"{kind}:{key}")

    class Made(Aggregate.Created):
        TOPIC = "hazina.origination.Reservation.Made"
        kind: str
        key: str
        holder_id: uuid.UUID

    @event(Made)
    def __init__(self, *, kind: str, key: str, holder_id: uuid.UUID) -> None:
        self.kind = kind
        self.key = key
        self.holder_id = holder_id


# Events stored before topics were pinned name this class (and theirs) by module path.
register_topic("hazina_origination.domain.client:Reservation", Reservation)
