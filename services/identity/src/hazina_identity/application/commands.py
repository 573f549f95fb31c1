"""Commands the identity service carries out, each with who asked and why (correlation)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass


@dataclass(frozen=True)
class CreateUser:
    username: str
    password: str
    role: str
    regions: list[str]
    name: str | None
    branch_id: str | None
    national_id: str | None
    phone: str | None
    actor_id: uuid.UUID | None
    correlation_id: str | None
    email: str | None = None
    # Made through the staff pages: their published initial password is accepted.
    from_staff_pages: bool = False


@dataclass(frozen=True)
class StaffDetails:
    """Who a staff member is, as the staff pages edit it (their access is separate)."""

    name: str | None
    email: str | None
    phone: str | None
    national_id: str | None


@dataclass(frozen=True)
class UpdateUser:
    user_id: uuid.UUID
    role: str | None
    regions: list[str] | None
    branch_id: str | None
    branch_given: bool
    active: bool | None
    actor_id: uuid.UUID
    correlation_id: str | None
    details: StaffDetails | None = None


@dataclass(frozen=True)
class LogIn:
    username: str
    password: str
    client_address: str
    correlation_id: str | None
