"""Request shapes of the ledger's HTTP API, and the views it returns (seed field names where given)."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field

from hazina_contracts.money import DecimalText, PositiveKesCents, SignedKesCents
from hazina_contracts.receipts import ReceiptNumber
from hazina_servicekit.dates import IsoDate, IsoDateTime
from hazina_servicekit.text import MultilineText, PlainText, TextRule

_FRONTEND = ConfigDict(extra="ignore", populate_by_name=True)
_STRICT = ConfigDict(extra="forbid", populate_by_name=True)
Method = Literal["mpesa", "cash", "bank"]
# A rate or a KES multiple sent as a number or plain decimal text, read by the bounded parser.
DecimalInput = Annotated[DecimalText, TextRule()]
# A receipt number (M-Pesa receipt, bank reference, staff transaction id) in a body or a path:
# the text rule first, then read once (trimmed, upper case, checked); the ledger trusts it after.
TransactionId = Annotated[ReceiptNumber, TextRule()]


class RepaymentRequest(BaseModel):
    model_config = _FRONTEND
    loanId: uuid.UUID  # noqa: N815 - the seed's names
    amount: PositiveKesCents
    paymentMethod: Method  # noqa: N815
    transactionId: TransactionId  # noqa: N815
    paidAt: IsoDateTime | None = None  # noqa: N815


class ReasonRequest(BaseModel):
    model_config = _FRONTEND
    reason: MultilineText = Field(min_length=3, max_length=500)


class AssignRequest(BaseModel):
    model_config = _STRICT
    loanId: uuid.UUID | None = None  # noqa: N815
    clientId: uuid.UUID | None = None  # noqa: N815


class DepositRequest(BaseModel):
    model_config = _FRONTEND
    clientId: uuid.UUID  # noqa: N815
    amount: PositiveKesCents
    paymentMethod: Method  # noqa: N815
    transactionId: TransactionId  # noqa: N815
    notes: MultilineText | None = Field(default=None, max_length=500)
    paidAt: IsoDateTime | None = None  # noqa: N815


class SavingsAdjustRequest(BaseModel):
    """The staff frontend's ``POST /api/savings``: signed cents; a negative amount asks for a withdrawal."""

    model_config = _FRONTEND
    clientId: uuid.UUID  # noqa: N815
    amountCents: int | None = Field(default=None, ge=-(10**15), le=10**15)  # noqa: N815
    amountKES: SignedKesCents | None = None  # noqa: N815
    notes: MultilineText | None = Field(default=None, max_length=500)
    paymentMethod: Method = "cash"  # noqa: N815
    transactionId: TransactionId | None = None  # noqa: N815

    def signed_cents(self) -> int:
        if self.amountCents is not None:
            return self.amountCents
        if self.amountKES is None:
            raise ValueError("amountCents or amountKES is required")
        return self.amountKES


class ClientSavingsRequest(BaseModel):
    """The client modal's ``POST /api/clients/:id/savings``: signed KES (negative deducts)."""

    model_config = _FRONTEND
    amountKES: SignedKesCents  # noqa: N815
    notes: MultilineText | None = Field(default=None, max_length=500)
    paymentMethod: Method = "cash"  # noqa: N815
    transactionId: TransactionId | None = None  # noqa: N815

    def signed_cents(self) -> int:
        return self.amountKES


class WithdrawalRequest(BaseModel):
    model_config = _FRONTEND
    clientId: uuid.UUID  # noqa: N815
    amount: PositiveKesCents
    paymentMethod: Method  # noqa: N815
    notes: MultilineText | None = Field(default=None, max_length=500)


class RejectRequest(BaseModel):
    model_config = _FRONTEND
    reason: MultilineText = Field(default="", max_length=500)


class FeeSpec(BaseModel):
    model_config = _STRICT
    name: PlainText = Field(default="fee", max_length=80)
    kind: Literal["flat", "percent"]
    value: DecimalInput = Field(max_length=20)


def _alias(*names: str) -> AliasChoices:
    return AliasChoices(*names)


class ProductSpec(BaseModel):
    """A loan product's schedule fields, in the contract's snake_case or the frontend's camelCase."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)
    interest_method: Literal["flat", "declining_equal_instalments", "declining_equal_principal"] = (
        Field(validation_alias=_alias("interest_method", "interestMethod"))
    )
    interest_rate_percent: DecimalInput = Field(
        validation_alias=_alias("interest_rate_percent", "interestRatePercent", "interestRate"),
        max_length=20,
    )
    interest_rate_period: Literal["week", "month", "year"] = Field(
        default="month", validation_alias=_alias("interest_rate_period", "interestRatePeriod")
    )
    repayment_frequency: Literal["weekly", "monthly"] = Field(
        default="monthly", validation_alias=_alias("repayment_frequency", "repaymentFrequency")
    )
    instalment_multiple_of: DecimalInput = Field(
        default="0.01",
        validation_alias=_alias(
            "instalment_multiple_of", "instalmentMultipleOf", "installmentAmountInMultiplesOf"
        ),
        max_length=20,
    )
    fees: list[FeeSpec] = Field(default_factory=list, max_length=20)
    allocation: PlainText | None = Field(default=None, max_length=80)
    rounding: PlainText | None = Field(default=None, max_length=20)
    weekly_month_convention: Literal["calendar", "four_weeks"] | None = Field(
        default=None, validation_alias=_alias("weekly_month_convention", "weeklyMonthConvention")
    )


class SchedulePreviewRequest(BaseModel):
    model_config = _FRONTEND
    productId: uuid.UUID | None = None  # noqa: N815
    product: ProductSpec | None = None
    amount: PositiveKesCents
    term: int = Field(ge=1, le=520)
    disbursedOn: IsoDate | None = None  # noqa: N815


class AssessArrearsRequest(BaseModel):
    model_config = _FRONTEND
    asOf: IsoDate | None = None  # noqa: N815
