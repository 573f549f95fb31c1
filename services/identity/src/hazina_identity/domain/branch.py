"""A branch: an office staff work from and clients belong to. Identity owns branches because
staff are assigned to one; other services keep a copy of the names from its events."""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass

from eventsourcing.domain import Aggregate, event

from hazina_identity.domain.errors import IdentityError


class BranchDetailsError(IdentityError):
    """A branch's details a staff member must correct (a 400)."""


@dataclass(frozen=True)
class BranchDetails:
    """What a branch is known by; ``code`` is unique across branches and kept in upper case."""

    name: str
    code: str
    location: str | None = None
    address: str | None = None
    phone: str | None = None
    email: str | None = None

    @classmethod
    def of(
        cls,
        *,
        name: str,
        code: str,
        location: str | None = None,
        address: str | None = None,
        phone: str | None = None,
        email: str | None = None,
    ) -> BranchDetails:
        """Tidied: surrounding spaces dropped, the code upper-cased, blank optional fields None."""
        tidy_name, tidy_code = name.strip(), code.strip().upper()
        if not tidy_name:
            raise BranchDetailsError("Branch name is required")
        if not tidy_code:
            raise BranchDetailsError("Branch code is required")
        return cls(
            name=tidy_name,
            code=tidy_code,
            location=_blank_is_none(location),
            address=_blank_is_none(address),
            phone=_blank_is_none(phone),
            email=_blank_is_none(email),
        )


def _blank_is_none(value: str | None) -> str | None:
    return value.strip() or None if value is not None else None


class Branch(Aggregate):
    TOPIC = "hazina.identity.Branch"

    class Created(Aggregate.Created):  # the library's default, never recorded: Opened is used
        TOPIC = "hazina.identity.Branch.Created"

    class Opened(Aggregate.Created):
        TOPIC = "hazina.identity.Branch.Opened"
        name: str
        code: str
        location: str | None
        address: str | None
        phone: str | None
        email: str | None
        opened_by: uuid.UUID
        correlation_id: str | None

    @event(Opened)
    def __init__(
        self,
        *,
        name: str,
        code: str,
        location: str | None,
        address: str | None,
        phone: str | None,
        email: str | None,
        opened_by: uuid.UUID,
        correlation_id: str | None,
    ) -> None:
        self.details = BranchDetails(name, code, location, address, phone, email)

    @classmethod
    def open(cls, details: BranchDetails, *, by: uuid.UUID, correlation_id: str | None) -> Branch:
        return cls(**asdict(details), opened_by=by, correlation_id=correlation_id)

    def change_details(
        self, details: BranchDetails, *, by: uuid.UUID, correlation_id: str | None
    ) -> bool:
        """Record the new details; False (nothing recorded) when they are the same."""
        if details == self.details:
            return False
        self._details_changed(**asdict(details), changed_by=by, correlation_id=correlation_id)
        return True

    class DetailsChanged(Aggregate.Event):
        TOPIC = "hazina.identity.Branch.DetailsChanged"
        name: str
        code: str
        location: str | None
        address: str | None
        phone: str | None
        email: str | None
        changed_by: uuid.UUID
        correlation_id: str | None

    @event(DetailsChanged)
    def _details_changed(
        self,
        name: str,
        code: str,
        location: str | None,
        address: str | None,
        phone: str | None,
        email: str | None,
        changed_by: uuid.UUID,
        correlation_id: str | None,
    ) -> None:
        self.details = BranchDetails(name, code, location, address, phone, email)
