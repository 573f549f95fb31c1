# ruff: noqa: N815 - field names are the JSON names the staff frontend sends
"""Request bodies. Money arrives as KES (a number or a decimal string, at most 2 places) and
leaves this module as integer cents."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from hazina_contracts.money import PositiveKesCents


class _Body(BaseModel):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)


class GroupCreateRequest(_Body):
    name: str = Field(min_length=1, max_length=120)
    meetingDay: str | None = Field(default=None, max_length=20)
    meetingTime: str | None = Field(default=None, max_length=10)
    loanOfficerId: uuid.UUID | None = None
    branchId: str | None = Field(default=None, max_length=64)
    region: str | None = Field(default=None, max_length=64)


class SignatoryAssignment(_Body):
    role: str = Field(min_length=1, max_length=20)
    memberNationalId: str = Field(min_length=1, max_length=20)


class SignatoriesRequest(_Body):
    signatoryAssignments: list[SignatoryAssignment] = Field(min_length=1, max_length=10)


def _decimal_text(value: Any) -> Any:
    if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        return repr(value) if isinstance(value, float) else str(value)
    return value


class FeeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=60)
    kind: Literal["flat", "percent"]
    value: str

    _text = field_validator("value", mode="before")(_decimal_text)


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
    name: str | None = Field(default=None, min_length=1, max_length=80)
    type: str | None = Field(default=None, min_length=1, max_length=40)
    interestMethod: str | None = None
    interestRate: str | None = None
    interestRatePeriod: str | None = None
    repaymentFrequency: str | None = None
    minAmount: PositiveKesCents | None = None
    maxAmount: PositiveKesCents | None = None
    minTerm: int | None = Field(default=None, ge=1)
    maxTerm: int | None = Field(default=None, ge=1)
    instalmentMultipleOf: str | None = None
    fees: list[FeeRequest] | None = None
    allocation: str | None = None
    minSavingsRatio: str | None = None
    requirePriorRepaidLoan: bool | None = None
    requireSignatories: bool | None = None
    maxOpenLoans: int | None = Field(default=None, ge=1)
    active: bool | None = None

    _text = field_validator(
        "interestRate", "instalmentMultipleOf", "minSavingsRatio", mode="before"
    )(_decimal_text)

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
    name: str = Field(min_length=1, max_length=80)
    type: str = Field(min_length=1, max_length=40)
    interestMethod: str
    interestRate: str
    interestRatePeriod: str
    repaymentFrequency: str
    minAmount: PositiveKesCents
    maxAmount: PositiveKesCents
    minTerm: int = Field(ge=1)
    maxTerm: int = Field(ge=1)


class LoanInitiateRequest(_Body):
    clientNationalId: str = Field(min_length=1, max_length=20)
    type: str | None = Field(default=None, max_length=40)
    product: str | None = Field(
        default=None, max_length=40, description="the frontend's name for type"
    )
    productId: uuid.UUID | None = None
    amount: PositiveKesCents | None = None
    amountKES: PositiveKesCents | None = None
    term: int = Field(ge=1, le=520)
    purpose: str | None = Field(default=None, max_length=500)


class RejectRequest(_Body):
    reason: str | None = Field(default=None, max_length=500)


class GuarantorRequest(_Body):
    loanId: uuid.UUID
    clientId: uuid.UUID | None = None
    guarantorClientNationalId: str | None = Field(default=None, max_length=20)
    relationship: str = Field(min_length=1, max_length=60)
    idCopyUrl: str | None = Field(default=None, max_length=500)
    photoUrl: str | None = Field(default=None, max_length=500)


class AssessmentRequest(_Body):
    loanId: uuid.UUID
    character: int
    capacity: int
    capital: int
    collateral: int
    conditions: int
    officerNotes: str | None = Field(default=None, max_length=2000)
