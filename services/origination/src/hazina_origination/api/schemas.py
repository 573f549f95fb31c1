# ruff: noqa: N815 - field names are the JSON names the staff frontend sends
"""Request bodies. Money arrives as KES (a number or a decimal string, at most 2 places) and
leaves this module as integer cents."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from hazina_contracts.money import DecimalText, PositiveKesCents
from hazina_servicekit.text import MultilineText, PlainText, TextRule

# A rate, ratio or fee value: a number or plain decimal text, read by the bounded parser.
DecimalInput = Annotated[DecimalText, TextRule()]


class _Body(BaseModel):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)


class GroupCreateRequest(_Body):
    name: PlainText = Field(min_length=1, max_length=120)
    meetingDay: PlainText | None = Field(default=None, max_length=20)
    meetingTime: PlainText | None = Field(default=None, max_length=10)
    loanOfficerId: uuid.UUID | None = None
    branchId: PlainText | None = Field(default=None, max_length=64)
    region: PlainText | None = Field(default=None, max_length=64)


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
