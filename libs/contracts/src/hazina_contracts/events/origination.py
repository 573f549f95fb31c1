"""Events the origination service publishes on the ORIGINATION stream."""

from __future__ import annotations

from typing import ClassVar, Literal
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from hazina_contracts.events.base import ContractEvent
from hazina_contracts.money import AmountCents
from hazina_contracts.phones import Msisdn
from hazina_contracts.subjects import Stream

InterestMethod = Literal["flat", "declining_equal_instalments", "declining_equal_principal"]
RepaymentFrequency = Literal["weekly", "monthly"]


class LoanFee(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    name: str
    kind: Literal["flat", "percent"]
    value: str = Field(
        description="KES decimal string for flat fees, percent decimal string for percent fees"
    )


class LoanTerms(BaseModel):
    """The terms a loan was approved on; a later product change never alters them."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    product_id: UUID
    product_name: str
    interest_method: InterestMethod
    interest_rate_percent: str = Field(description="decimal string, e.g. '4.5'")
    interest_rate_period: Literal["month", "year"]
    repayment_frequency: RepaymentFrequency
    term: int = Field(ge=1, description="number of repayment periods")
    instalment_multiple_of: str = Field(default="0.01", description="KES decimal string")
    fees: list[LoanFee] = Field(default_factory=list)
    allocation: str = "interest_principal_per_instalment"


class _OriginationEvent(ContractEvent):
    STREAM: ClassVar[Stream] = Stream.ORIGINATION
    occurred_at: AwareDatetime
    actor_id: UUID | None


class GroupCreated(_OriginationEvent):
    TYPE: ClassVar[str] = "GroupCreated"
    VERSION: ClassVar[int] = 1
    AGGREGATE: ClassVar[str] = "group"
    EVENT: ClassVar[str] = "created"
    group_id: UUID
    name: str
    status: Literal["legacy", "provisional", "active"]
    loan_officer_id: UUID | None = None
    branch_id: str | None = None
    region: str | None = None
    meeting_day: str | None = None
    meeting_time: str | None = None


class GroupApproved(_OriginationEvent):
    TYPE: ClassVar[str] = "GroupApproved"
    VERSION: ClassVar[int] = 1
    AGGREGATE: ClassVar[str] = "group"
    EVENT: ClassVar[str] = "approved"
    group_id: UUID


class Signatory(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    role: Literal["chairperson", "secretary", "treasurer"]
    client_id: UUID
    national_id: str


class SignatoriesAssigned(_OriginationEvent):
    TYPE: ClassVar[str] = "SignatoriesAssigned"
    VERSION: ClassVar[int] = 1
    AGGREGATE: ClassVar[str] = "group"
    EVENT: ClassVar[str] = "signatories_assigned"
    group_id: UUID
    signatories: list[Signatory]


class ClientOnboarded(_OriginationEvent):
    TYPE: ClassVar[str] = "ClientOnboarded"
    VERSION: ClassVar[int] = 1
    AGGREGATE: ClassVar[str] = "client"
    EVENT: ClassVar[str] = "onboarded"
    client_id: UUID
    group_id: UUID | None
    name: str
    national_id: str
    phone: str = Field(description="normalised 2547XXXXXXXX / 2541XXXXXXXX")
    status: Literal["pending", "active", "legacy"]
    loan_officer_id: UUID | None = None


class ClientApproved(_OriginationEvent):
    TYPE: ClassVar[str] = "ClientApproved"
    VERSION: ClassVar[int] = 1
    AGGREGATE: ClassVar[str] = "client"
    EVENT: ClassVar[str] = "approved"
    client_id: UUID


class ClientDetailsChanged(_OriginationEvent):
    """A client's details were edited: who they are and whose they are, as they now are (every
    field, not only those that changed). ``group_id`` is the group they now belong to (added as a
    member, or moved between loans); ``changed_fields`` names what the edit changed."""

    TYPE: ClassVar[str] = "ClientDetailsChanged"
    VERSION: ClassVar[int] = 1
    AGGREGATE: ClassVar[str] = "client"
    EVENT: ClassVar[str] = "details_changed"
    client_id: UUID
    group_id: UUID | None
    name: str
    national_id: str
    phone: str = Field(description="normalised 2547XXXXXXXX / 2541XXXXXXXX")
    loan_officer_id: UUID | None = None
    changed_fields: list[str] = Field(default_factory=list)


class GroupDetailsChanged(_OriginationEvent):
    """A group's details were edited, as they now are (every field, not only those that
    changed); a new ``loan_officer_id`` moves the group and its members to that officer."""

    TYPE: ClassVar[str] = "GroupDetailsChanged"
    VERSION: ClassVar[int] = 1
    AGGREGATE: ClassVar[str] = "group"
    EVENT: ClassVar[str] = "details_changed"
    group_id: UUID
    name: str
    loan_officer_id: UUID | None = None
    branch_id: str | None = None
    meeting_day: str | None = None
    meeting_time: str | None = None
    changed_fields: list[str] = Field(default_factory=list)


class GroupStatusChanged(_OriginationEvent):
    """An admin rejected, suspended or reinstated a group (approval stays ``GroupApproved``)."""

    TYPE: ClassVar[str] = "GroupStatusChanged"
    VERSION: ClassVar[int] = 1
    AGGREGATE: ClassVar[str] = "group"
    EVENT: ClassVar[str] = "status_changed"
    group_id: UUID
    status: Literal["rejected", "suspended", "active"]


class ClientRejected(_OriginationEvent):
    TYPE: ClassVar[str] = "ClientRejected"
    VERSION: ClassVar[int] = 1
    AGGREGATE: ClassVar[str] = "client"
    EVENT: ClassVar[str] = "rejected"
    client_id: UUID


class LoanInitiated(_OriginationEvent):
    TYPE: ClassVar[str] = "LoanInitiated"
    VERSION: ClassVar[int] = 1
    AGGREGATE: ClassVar[str] = "loan"
    EVENT: ClassVar[str] = "initiated"
    loan_id: UUID
    account_number: str = Field(description="short paybill account reference a borrower types")
    client_id: UUID
    group_id: UUID | None
    loan_officer_id: UUID | None
    principal_cents: int = Field(gt=0)
    terms: LoanTerms


class GuarantorAdded(_OriginationEvent):
    TYPE: ClassVar[str] = "GuarantorAdded"
    VERSION: ClassVar[int] = 1
    AGGREGATE: ClassVar[str] = "guarantor"
    EVENT: ClassVar[str] = "added"
    guarantor_id: UUID
    loan_id: UUID
    client_id: UUID
    relationship: str


class GuarantorAccepted(_OriginationEvent):
    TYPE: ClassVar[str] = "GuarantorAccepted"
    VERSION: ClassVar[int] = 1
    AGGREGATE: ClassVar[str] = "guarantor"
    EVENT: ClassVar[str] = "accepted"
    guarantor_id: UUID
    loan_id: UUID
    client_id: UUID


class GuarantorDeclined(_OriginationEvent):
    TYPE: ClassVar[str] = "GuarantorDeclined"
    VERSION: ClassVar[int] = 1
    AGGREGATE: ClassVar[str] = "guarantor"
    EVENT: ClassVar[str] = "declined"
    guarantor_id: UUID
    loan_id: UUID
    client_id: UUID


class CreditAssessed(_OriginationEvent):
    TYPE: ClassVar[str] = "CreditAssessed"
    VERSION: ClassVar[int] = 1
    AGGREGATE: ClassVar[str] = "loan"
    EVENT: ClassVar[str] = "credit_assessed"
    assessment_id: UUID
    loan_id: UUID
    total_score: int = Field(ge=5, le=25)
    passed: bool


class LoanApproved(_OriginationEvent):
    TYPE: ClassVar[str] = "LoanApproved"
    VERSION: ClassVar[int] = 1
    AGGREGATE: ClassVar[str] = "loan"
    EVENT: ClassVar[str] = "approved"
    loan_id: UUID
    account_number: str
    client_id: UUID
    group_id: UUID | None
    loan_officer_id: UUID | None
    principal_cents: int = Field(gt=0)
    terms: LoanTerms
    maker_checker_override: bool = False


class LoanRejected(_OriginationEvent):
    TYPE: ClassVar[str] = "LoanRejected"
    VERSION: ClassVar[int] = 1
    AGGREGATE: ClassVar[str] = "loan"
    EVENT: ClassVar[str] = "rejected"
    loan_id: UUID
    reason: str


class LoanCancelled(_OriginationEvent):
    """Withdrawn by a branch admin before any money moved (initiated or approved)."""

    TYPE: ClassVar[str] = "LoanCancelled"
    VERSION: ClassVar[int] = 1
    AGGREGATE: ClassVar[str] = "loan"
    EVENT: ClassVar[str] = "cancelled"
    loan_id: UUID
    reason: str | None = None


class LoanApplicationFeePaid(_OriginationEvent):
    """Staff recorded that the borrower paid the loan's application fee (before disbursement)."""

    TYPE: ClassVar[str] = "LoanApplicationFeePaid"
    VERSION: ClassVar[int] = 1
    AGGREGATE: ClassVar[str] = "loan"
    EVENT: ClassVar[str] = "application_fee_paid"
    loan_id: UUID
    fees_cents: int = Field(ge=0)


class LoanDisbursementRequested(_OriginationEvent):
    """Ask the payments gateway to send the principal by M-Pesa B2C, once per ``disbursement_id``."""

    TYPE: ClassVar[str] = "LoanDisbursementRequested"
    VERSION: ClassVar[int] = 1
    AGGREGATE: ClassVar[str] = "loan"
    EVENT: ClassVar[str] = "disbursement_requested"
    loan_id: UUID
    disbursement_id: UUID = Field(description="idempotency key: one B2C payment per id, ever")
    account_number: str
    client_id: UUID
    phone: Msisdn = Field(description="borrower's normalised 2547XXXXXXXX / 2541XXXXXXXX")
    amount_cents: AmountCents
    attempt: int = Field(ge=1, default=1)


class LoanApplicationRefused(_OriginationEvent):
    """A loan application a borrower made on USSD (``LoanApplicationRequested``) that origination
    did not record: its eligibility rules or its input refused it. Once per application."""

    TYPE: ClassVar[str] = "LoanApplicationRefused"
    VERSION: ClassVar[int] = 1
    AGGREGATE: ClassVar[str] = "loan_application"
    EVENT: ClassVar[str] = "refused"
    application_id: UUID = Field(description="the LoanApplicationRequested's application_id")
    reference: str = Field(description="what the borrower was told, e.g. UAB3K9XQ2")
    client_id: UUID
    reason_code: Literal["not_eligible", "invalid", "not_found", "other"]
    reason: str = Field(description="origination's own words, for staff; not sent to the borrower")
