# ruff: noqa: N815 - field names are the JSON names the staff frontend sends
"""Request bodies. Money arrives as KES (a number or a decimal string, at most 2 places) and
leaves this module as integer cents."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from hazina_contracts.money import DecimalText, PositiveKesCents
from hazina_origination.domain.errors import InvalidInputError
from hazina_servicekit.text import MultilineText, PlainText, TextRule

# A rate, ratio or fee value: a number or plain decimal text, read by the bounded parser.
DecimalInput = Annotated[DecimalText, TextRule()]


class _Body(BaseModel):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)


def _blank_is_absent(value: Any) -> Any:
    """Forms send "" for a select left empty: the same as not sending it."""
    return None if isinstance(value, str) and not value.strip() else value


# An id a form may leave blank; blank or null leaves the record's value as it is.
OptionalId = Annotated[uuid.UUID | None, BeforeValidator(_blank_is_absent)]
OptionalText = Annotated[PlainText | None, BeforeValidator(_blank_is_absent)]


class SignatoryChoice(_Body):
    role: Literal["chairperson", "secretary", "treasurer"]
    clientId: uuid.UUID


class _Signatories(_Body):
    """Signatories named by client id, as ``chairperson``/``secretary``/``treasurer`` or as
    ``signatories[{role, clientId}]`` (the new-group page sends the list)."""

    chairperson: OptionalId = None
    secretary: OptionalId = None
    treasurer: OptionalId = None
    signatories: list[SignatoryChoice] | None = Field(default=None, max_length=3)

    def chosen(self) -> dict[str, uuid.UUID]:
        named: dict[str, uuid.UUID] = {}
        for choice in self.signatories or []:
            if choice.role in named and named[choice.role] != choice.clientId:
                raise InvalidInputError(f"signatories name two {choice.role}s")
            named[choice.role] = choice.clientId
        for role in ("chairperson", "secretary", "treasurer"):
            value = getattr(self, role)
            if value is None:
                continue
            if role in named and named[role] != value:
                raise InvalidInputError(f"{role} differs from the {role} in signatories")
            named[role] = value
        return named


class GroupCreateRequest(_Signatories):
    name: PlainText = Field(min_length=1, max_length=120)
    meetingDay: OptionalText = Field(default=None, max_length=20)
    meetingTime: OptionalText = Field(default=None, max_length=10)
    loanOfficerId: OptionalId = None
    branchId: OptionalText = Field(default=None, max_length=64)
    region: OptionalText = Field(default=None, max_length=64)


GROUP_EDIT_FIELDS = {
    "name": "name",
    "meetingDay": "meeting_day",
    "meetingTime": "meeting_time",
    "branchId": "branch_id",
    "loanOfficerId": "loan_officer_id",
    "loanOfficer": "loan_officer_id",
}


class GroupEditRequest(_Signatories):
    """``PUT /api/groups/:id``: any of the group's details, its signatories, or its status."""

    name: PlainText | None = Field(default=None, max_length=120)
    meetingDay: OptionalText = Field(default=None, max_length=20)
    meetingTime: OptionalText = Field(default=None, max_length=10)
    branchId: OptionalText = Field(default=None, max_length=64)
    loanOfficerId: OptionalId = None
    loanOfficer: OptionalId = Field(default=None, description="the same as loanOfficerId")
    status: OptionalText = Field(default=None, max_length=20)

    def fields(self) -> dict[str, Any]:
        """The details sent, under the domain's names (blank ids and days: unchanged)."""
        return {
            GROUP_EDIT_FIELDS[name]: getattr(self, name)
            for name in GROUP_EDIT_FIELDS
            if getattr(self, name) is not None
        }


class NextOfKinRequest(_Body):
    name: PlainText | None = Field(default=None, max_length=120)
    phone: PlainText | None = Field(default=None, max_length=20)
    relationship: PlainText | None = Field(default=None, max_length=60)


CLIENT_EDIT_FIELDS = {
    "name": "name",
    "nationalId": "national_id",
    "phone": "phone",
    "businessType": "business_type",
    "businessLocation": "business_location",
    "residenceType": "residence",
    "residence": "residence",
    "groupId": "group_id",
    "branchId": "branch_id",
    "loanOfficer": "loan_officer_id",
    "loanOfficerId": "loan_officer_id",
}


class ClientEditRequest(_Body):
    """``PUT /api/clients/:id``: any of the client's details, or ``status`` active|rejected."""

    name: PlainText | None = Field(default=None, max_length=200)
    nationalId: OptionalText = Field(default=None, max_length=20)
    phone: PlainText | None = Field(default=None, max_length=20)
    businessType: PlainText | None = Field(default=None, max_length=200)
    businessLocation: PlainText | None = Field(default=None, max_length=200)
    residenceType: OptionalText = Field(default=None, max_length=20)
    residence: OptionalText = Field(default=None, max_length=20)
    nextOfKin: NextOfKinRequest | None = None
    groupId: OptionalId = None
    branchId: OptionalText = Field(default=None, max_length=64)
    loanOfficer: OptionalId = None
    loanOfficerId: OptionalId = Field(default=None, description="the same as loanOfficer")
    status: OptionalText = Field(default=None, max_length=20)

    def fields(self) -> dict[str, Any]:
        """The details sent, under the domain's names (blank ids: unchanged)."""
        out = {
            CLIENT_EDIT_FIELDS[name]: getattr(self, name)
            for name in CLIENT_EDIT_FIELDS
            if getattr(self, name) is not None
        }
        if self.nextOfKin is not None:
            out["next_of_kin"] = self.nextOfKin.model_dump(exclude_none=True)
        return out


class SignatoryAssignment(_Body):
    role: PlainText = Field(min_length=1, max_length=20)
    memberNationalId: PlainText = Field(min_length=1, max_length=20)


class SignatoriesRequest(_Body):
    signatoryAssignments: list[SignatoryAssignment] = Field(min_length=1, max_length=10)


class FeeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: PlainText = Field(min_length=1, max_length=60)
    kind: Literal["flat", "percent"]
    value: DecimalInput


PRODUCT_FIELD_NAMES = {
    "name": "name",
    "type": "type",
    "interestMethod": "interest_method",
    "interestRate": "interest_rate_percent",
    "interestRatePeriod": "interest_rate_period",
    "repaymentFrequency": "repayment_frequency",
    "minAmount": "min_amount_cents",
    "maxAmount": "max_amount_cents",
    "minTerm": "min_term",
    "maxTerm": "max_term",
    "instalmentMultipleOf": "instalment_multiple_of",
    "fees": "fees",
    "allocation": "allocation",
    "minSavingsRatio": "min_savings_ratio",
    "requirePriorRepaidLoan": "require_prior_repaid_loan",
    "requireSignatories": "require_signatories",
    "maxOpenLoans": "max_open_loans",
    "active": "active",
}


class ProductFields(BaseModel):
    """Every product field optional (PATCH); ``ProductCreateRequest`` makes the core ones required."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    name: PlainText | None = Field(default=None, min_length=1, max_length=80)
    type: PlainText | None = Field(default=None, min_length=1, max_length=40)
    interestMethod: PlainText | None = Field(default=None, max_length=40)
    interestRate: DecimalInput | None = None
    interestRatePeriod: PlainText | None = Field(default=None, max_length=40)
    repaymentFrequency: PlainText | None = Field(default=None, max_length=40)
    minAmount: PositiveKesCents | None = None
    maxAmount: PositiveKesCents | None = None
    minTerm: int | None = Field(default=None, ge=1)
    maxTerm: int | None = Field(default=None, ge=1)
    instalmentMultipleOf: DecimalInput | None = None
    fees: list[FeeRequest] | None = None
    allocation: PlainText | None = Field(default=None, max_length=40)
    minSavingsRatio: DecimalInput | None = None
    requirePriorRepaidLoan: bool | None = None
    requireSignatories: bool | None = None
    maxOpenLoans: int | None = Field(default=None, ge=1)
    active: bool | None = None

    def domain_fields(self) -> dict[str, Any]:
        """The fields the caller actually sent, under the domain's names (nulls are refused)."""
        out: dict[str, Any] = {}
        for name in self.model_fields_set:
            value = getattr(self, name)
            if value is None:
                continue
            if name == "fees":
                value = [fee.model_dump() for fee in value]
            out[PRODUCT_FIELD_NAMES[name]] = value
        return out


class ProductCreateRequest(ProductFields):
    name: PlainText = Field(min_length=1, max_length=80)
    type: PlainText = Field(min_length=1, max_length=40)
    interestMethod: PlainText = Field(max_length=40)
    interestRate: DecimalInput
    interestRatePeriod: PlainText = Field(max_length=40)
    repaymentFrequency: PlainText = Field(max_length=40)
    minAmount: PositiveKesCents
    maxAmount: PositiveKesCents
    minTerm: int = Field(ge=1)
    maxTerm: int = Field(ge=1)


class GuarantorNomination(_Body):
    """A guarantor as the initiation form names one: a client by id or national ID."""

    name: PlainText | None = Field(default=None, max_length=120)
    clientNationalId: PlainText | None = Field(default=None, max_length=20)
    phone: PlainText | None = Field(default=None, max_length=20)
    isMember: bool | None = None
    relationship: PlainText | None = Field(default=None, max_length=60)
    clientId: PlainText | None = Field(default=None, max_length=64)


class LoanInitiateRequest(_Body):
    """An individual's loan (``clientNationalId``) or a group's (``groupId``)."""

    clientNationalId: PlainText | None = Field(default=None, max_length=20)
    groupId: uuid.UUID | None = None
    interestRatePercent: DecimalInput | None = None
    guarantors: list[GuarantorNomination] = Field(default_factory=list, max_length=20)
    type: PlainText | None = Field(default=None, max_length=40)
    product: PlainText | None = Field(
        default=None, max_length=40, description="the frontend's name for type"
    )
    productId: uuid.UUID | None = None
    amount: PositiveKesCents | None = None
    amountKES: PositiveKesCents | None = None
    term: int = Field(ge=1, le=520)
    purpose: MultilineText | None = Field(default=None, max_length=500)


class RejectRequest(_Body):
    reason: MultilineText | None = Field(default=None, max_length=500)


class BulkFeeRequest(_Body):
    loanIds: list[uuid.UUID] = Field(min_length=1, max_length=500)


class GuarantorRequest(_Body):
    loanId: uuid.UUID
    clientId: uuid.UUID | None = None
    guarantorClientNationalId: PlainText | None = Field(default=None, max_length=20)
    relationship: PlainText = Field(min_length=1, max_length=60)
    idCopyUrl: PlainText | None = Field(default=None, max_length=500)
    photoUrl: PlainText | None = Field(default=None, max_length=500)


class AssessmentRequest(_Body):
    loanId: uuid.UUID
    officerId: uuid.UUID | None = Field(
        default=None, description="the officer the page selected; the assessor is the caller"
    )
    character: int
    capacity: int
    capital: int
    collateral: int
    conditions: int
    officerNotes: MultilineText | None = Field(default=None, max_length=2000)
