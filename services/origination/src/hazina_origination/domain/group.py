"""Borrower groups (chamas): created provisional by an officer, made active by an admin."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from eventsourcing.domain import Aggregate, event
from eventsourcing.utils import register_topic

from hazina_origination.domain.errors import IllegalTransitionError, InvalidInputError

SIGNATORY_ROLES = ("chairperson", "secretary", "treasurer")
GROUP_STATUSES = ("legacy", "provisional", "active", "rejected", "suspended")
# What an edit may change, by the aggregate's attribute names.
EDITABLE_FIELDS = ("name", "meeting_day", "meeting_time", "branch_id", "loan_officer_id")
MEETING_DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


@dataclass(frozen=True)
class Signatory:
    role: str
    client_id: uuid.UUID
    national_id: str

    def as_dict(self) -> dict[str, str]:
        return {
            "role": self.role,
            "client_id": str(self.client_id),
            "national_id": self.national_id,
        }


def check_signatory_roles(assignments: list[tuple[str, str]]) -> None:
    """Exactly one chairperson, one secretary and one treasurer, three different people."""
    roles = [role for role, _ in assignments]
    if sorted(roles) != sorted(SIGNATORY_ROLES):
        raise InvalidInputError(
            "signatoryAssignments must name exactly one chairperson, one secretary and one treasurer"
        )
    members = {national_id for _, national_id in assignments}
    if len(members) != len(assignments):
        raise InvalidInputError(
            "the chairperson, secretary and treasurer must be three different members"
        )


def shown_status(status: str) -> str:
    """The staff frontend's word for a group status: ``pending`` where Hazina says ``provisional``
    (a group awaiting an admin's approval); every other status is the same word."""
    return "pending" if status == "provisional" else status


def stored_statuses(shown: list[str]) -> list[str]:
    """The statuses a list filter means: ``pending`` is Hazina's ``provisional``."""
    return ["provisional" if s == "pending" else s for s in shown]


def normalise_meeting_day(day: str | None) -> str | None:
    if day is None or not day.strip():
        return None
    value = day.strip().lower()
    if value not in MEETING_DAYS:
        raise InvalidInputError("meetingDay must be a day of the week")
    return value.title()


def normalise_meeting_time(text: str | None) -> str | None:
    if text is None or not text.strip():
        return None
    hours, sep, minutes = text.strip().partition(":")
    if not sep or not hours.isdigit() or not minutes.isdigit() or len(minutes) != 2:
        raise InvalidInputError("meetingTime must look like 10:00")
    if not (0 <= int(hours) <= 23 and 0 <= int(minutes) <= 59):
        raise InvalidInputError("meetingTime must be a time of day, 00:00 to 23:59")
    return f"{int(hours):02d}:{minutes}"


class Group(Aggregate):
    TOPIC = "hazina.origination.Group"

    class Created(Aggregate.Created):
        TOPIC = "hazina.origination.Group.Created"
        name: str
        status: str
        meeting_day: str | None
        meeting_time: str | None
        loan_officer_id: uuid.UUID | None
        branch_id: str | None
        region: str | None
        created_by: uuid.UUID | None
        correlation_id: str | None

    @event(Created)
    def __init__(
        self,
        *,
        name: str,
        status: str,
        meeting_day: str | None,
        meeting_time: str | None,
        loan_officer_id: uuid.UUID | None,
        branch_id: str | None,
        region: str | None,
        created_by: uuid.UUID | None,
        correlation_id: str | None,
    ) -> None:
        if status not in GROUP_STATUSES:
            raise InvalidInputError(f"unknown group status {status}")
        self.name = name
        self.status = status
        self.meeting_day = meeting_day
        self.meeting_time = meeting_time
        self.loan_officer_id = loan_officer_id
        self.branch_id = branch_id
        self.region = region
        self.signatories: list[dict[str, str]] = []

    @property
    def has_signatories(self) -> bool:
        return {s["role"] for s in self.signatories} == set(SIGNATORY_ROLES)

    def approve(self, *, by: uuid.UUID, correlation_id: str | None) -> None:
        if self.status == "active":
            raise IllegalTransitionError("Group is already active")
        self._approved(approved_by=by, previous_status=self.status, correlation_id=correlation_id)

    class Approved(Aggregate.Event):
        TOPIC = "hazina.origination.Group.Approved"
        approved_by: uuid.UUID
        previous_status: str
        correlation_id: str | None

    @event(Approved)
    def _approved(
        self, approved_by: uuid.UUID, previous_status: str, correlation_id: str | None
    ) -> None:
        self.status = "active"

    def reject(self, *, by: uuid.UUID, correlation_id: str | None) -> bool:
        """Refuse a group awaiting approval; asking again records nothing."""
        if self.status == "rejected":
            return False
        if self.status in ("active", "suspended"):
            raise IllegalTransitionError(
                f"Group is {self.status}; only a group awaiting approval can be rejected"
            )
        self._rejected(rejected_by=by, previous_status=self.status, correlation_id=correlation_id)
        return True

    class Rejected(Aggregate.Event):
        TOPIC = "hazina.origination.Group.Rejected"
        rejected_by: uuid.UUID
        previous_status: str
        correlation_id: str | None

    @event(Rejected)
    def _rejected(
        self, rejected_by: uuid.UUID, previous_status: str, correlation_id: str | None
    ) -> None:
        self.status = "rejected"

    def suspend(self, *, by: uuid.UUID, correlation_id: str | None) -> bool:
        """Stop an active group borrowing (eligibility needs an active group); again: nothing."""
        if self.status == "suspended":
            return False
        if self.status != "active":
            raise IllegalTransitionError(
                f"Group is {self.status}; only an active group can be suspended"
            )
        self._suspended(suspended_by=by, correlation_id=correlation_id)
        return True

    class Suspended(Aggregate.Event):
        TOPIC = "hazina.origination.Group.Suspended"
        suspended_by: uuid.UUID
        correlation_id: str | None

    @event(Suspended)
    def _suspended(self, suspended_by: uuid.UUID, correlation_id: str | None) -> None:
        self.status = "suspended"

    def reinstate(self, *, by: uuid.UUID, correlation_id: str | None) -> None:
        if self.status != "suspended":
            raise IllegalTransitionError(
                f"Group is {self.status}; only a suspended group can be reinstated"
            )
        self._reinstated(reinstated_by=by, correlation_id=correlation_id)

    class Reinstated(Aggregate.Event):
        TOPIC = "hazina.origination.Group.Reinstated"
        reinstated_by: uuid.UUID
        correlation_id: str | None

    @event(Reinstated)
    def _reinstated(self, reinstated_by: uuid.UUID, correlation_id: str | None) -> None:
        self.status = "active"

    def change_details(
        self, changes: dict[str, Any], *, by: uuid.UUID, correlation_id: str | None
    ) -> bool:
        """Record the fields that really differ (values already normalised); none: nothing recorded."""
        differing = {k: v for k, v in changes.items() if getattr(self, k) != v}
        unknown = set(differing) - set(EDITABLE_FIELDS)
        if unknown:
            raise InvalidInputError(f"cannot change {', '.join(sorted(unknown))}")
        if not differing:
            return False
        after = {k: differing.get(k, getattr(self, k)) for k in EDITABLE_FIELDS}
        self._details_changed(
            changes={k: str(v) if isinstance(v, uuid.UUID) else v for k, v in differing.items()},
            name=after["name"],
            meeting_day=after["meeting_day"],
            meeting_time=after["meeting_time"],
            branch_id=after["branch_id"],
            loan_officer_id=after["loan_officer_id"],
            changed_by=by,
            correlation_id=correlation_id,
        )
        return True

    class DetailsChanged(Aggregate.Event):
        """The fields that changed (``changes``, new values) and the group's details after it."""

        TOPIC = "hazina.origination.Group.DetailsChanged"
        changes: dict[str, Any]
        name: str
        meeting_day: str | None
        meeting_time: str | None
        branch_id: str | None
        loan_officer_id: uuid.UUID | None
        changed_by: uuid.UUID
        correlation_id: str | None

    @event(DetailsChanged)
    def _details_changed(
        self,
        changes: dict[str, Any],
        name: str,
        meeting_day: str | None,
        meeting_time: str | None,
        branch_id: str | None,
        loan_officer_id: uuid.UUID | None,
        changed_by: uuid.UUID,
        correlation_id: str | None,
    ) -> None:
        self.name = name
        self.meeting_day = meeting_day
        self.meeting_time = meeting_time
        self.branch_id = branch_id
        self.loan_officer_id = loan_officer_id

    def assign_signatories(
        self, signatories: list[Signatory], *, by: uuid.UUID | None, correlation_id: str | None
    ) -> bool:
        """Record a new set of signatories; the old set stays in the history. Same set: nothing recorded."""
        check_signatory_roles([(s.role, s.national_id) for s in signatories])
        ordered = sorted(
            (s.as_dict() for s in signatories), key=lambda s: SIGNATORY_ROLES.index(s["role"])
        )
        if ordered == self.signatories:
            return False
        self._signatories_assigned(
            signatories=ordered, assigned_by=by, correlation_id=correlation_id
        )
        return True

    class SignatoriesAssigned(Aggregate.Event):
        TOPIC = "hazina.origination.Group.SignatoriesAssigned"
        signatories: list[dict[str, Any]]
        assigned_by: uuid.UUID | None
        correlation_id: str | None

    @event(SignatoriesAssigned)
    def _signatories_assigned(
        self,
        signatories: list[dict[str, Any]],
        assigned_by: uuid.UUID | None,
        correlation_id: str | None,
    ) -> None:
        self.signatories = [dict(s) for s in signatories]


# Events stored before topics were pinned name this class (and theirs) by module path.
register_topic("hazina_origination.domain.group:Group", Group)
