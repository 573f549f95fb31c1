"""Inputs of the use cases, already parsed by the API (money in cents, ids as UUIDs)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from hazina_origination.domain.assessment import FiveCs


@dataclass(frozen=True)
class Actor:
    """The staff member acting, as their token says, and the request's correlation id."""

    user_id: uuid.UUID
    role: str
    correlation_id: str | None = None


@dataclass(frozen=True)
class CreateGroup:
    name: str
    meeting_day: str | None
    meeting_time: str | None
    loan_officer_id: uuid.UUID | None
    branch_id: str | None
    region: str | None
    signatories: dict[str, uuid.UUID] = field(default_factory=dict)
    """Signatory role -> client id; each named client joins the new group."""


@dataclass(frozen=True)
class EditGroup:
    """What a PUT sent, under the domain's names (absent: unchanged), and a status to set."""

    fields: dict[str, Any]
    signatories: dict[str, uuid.UUID] = field(default_factory=dict)
    status: str | None = None


@dataclass(frozen=True)
class EditClient:
    """What a PUT sent, under the domain's names (absent: unchanged), and a status to set."""

    fields: dict[str, Any]
    status: str | None = None


@dataclass(frozen=True)
class OnboardClient:
    name: str
    national_id: str
    phone: str
    residence: str
    business_type: str
    business_location: str
    next_of_kin_name: str
    next_of_kin_phone: str
    next_of_kin_relationship: str
    group_id: uuid.UUID | None
    branch_id: str | None
    photo: bytes


@dataclass(frozen=True)
class InitiateLoan:
    """An individual's loan (``client_national_id``) or a group's (``group_id``)."""

    client_national_id: str | None
    product_type: str | None
    product_id: uuid.UUID | None
    principal_cents: int
    term: int
    purpose: str | None = None
    group_id: uuid.UUID | None = None
    interest_rate_percent: Decimal | None = None
    # A borrower's application on USSD: at most one loan per application id, ever.
    application_id: uuid.UUID | None = None


@dataclass(frozen=True)
class GuarantorNominee:
    """A guarantor named on the initiation form: a client by id or national ID, or someone who
    is not a client, by name, national ID and phone."""

    name: str | None
    client_id: uuid.UUID | None
    national_id: str | None
    relationship: str | None
    phone: str | None = None


@dataclass(frozen=True)
class AddGuarantor:
    loan_id: uuid.UUID
    client_id: uuid.UUID
    relationship: str
    id_copy_url: str | None
    photo_url: str | None


@dataclass(frozen=True)
class AssessCredit:
    loan_id: uuid.UUID
    scores: FiveCs
    officer_notes: str | None


@dataclass(frozen=True)
class DisbursementRequest:
    loan_id: uuid.UUID
    transaction_id: str
    repeated: bool


@dataclass
class ImportReport:
    groups: int = 0
    clients: int = 0
    loans: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)
