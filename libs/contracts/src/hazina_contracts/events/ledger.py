"""Events the ledger publishes on the LEDGER stream: balances and loan states derived from postings."""

from __future__ import annotations

import datetime as dt
from typing import ClassVar, Literal
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from hazina_contracts.events.base import ContractEvent
from hazina_contracts.money import AmountCents
from hazina_contracts.receipts import ReceiptNumber
from hazina_contracts.subjects import Stream


class _LedgerEvent(ContractEvent):
    STREAM: ClassVar[Stream] = Stream.LEDGER
    occurred_at: AwareDatetime


class LoanAccountOpened(_LedgerEvent):
    TYPE: ClassVar[str] = "LoanAccountOpened"
    VERSION: ClassVar[int] = 1
    AGGREGATE: ClassVar[str] = "loan_account"
    EVENT: ClassVar[str] = "opened"
    loan_id: UUID
    client_id: UUID
    principal_cents: int = Field(gt=0)
    total_interest_cents: int = Field(ge=0)
    total_fees_cents: int = Field(ge=0)
    instalments: int = Field(ge=1)
    disbursed_on: dt.date
    maturity_on: dt.date


class ScheduledInstalment(BaseModel):
    """One instalment of a loan's repayment schedule, as the ledger fixed it on disbursement."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    number: int = Field(ge=1)
    due_on: dt.date
    principal_cents: int = Field(ge=0)
    interest_cents: int = Field(ge=0)
    fee_cents: int = Field(ge=0)


class LoanAccountOpenedV2(LoanAccountOpened):
    """Version 2 adds the schedule itself, so a reader can show each instalment without asking
    the ledger. It extends version 1: a reader of version 1 reads version 2 unchanged."""

    TYPE: ClassVar[str] = "LoanAccountOpened"
    VERSION: ClassVar[int] = 2
    schedule: list[ScheduledInstalment] = Field(min_length=1)


class RepaymentPosted(_LedgerEvent):
    TYPE: ClassVar[str] = "RepaymentPosted"
    VERSION: ClassVar[int] = 1
    AGGREGATE: ClassVar[str] = "loan_account"
    EVENT: ClassVar[str] = "repayment_posted"
    loan_id: UUID
    client_id: UUID
    receipt: ReceiptNumber
    amount_cents: AmountCents
    interest_cents: int = Field(ge=0)
    principal_cents: int = Field(ge=0)
    fee_cents: int = Field(ge=0, default=0)
    suspense_cents: int = Field(ge=0)
    outstanding_cents: int = Field(ge=0)
    payment_method: Literal["mpesa", "cash", "bank"]


class Reallocation(BaseModel):
    """How a later repayment is allocated once an earlier one is reversed (the loan is re-folded)."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    receipt: ReceiptNumber
    interest_cents: int = Field(ge=0)
    principal_cents: int = Field(ge=0)
    fee_cents: int = Field(ge=0)
    suspense_cents: int = Field(ge=0)


class RepaymentReversed(_LedgerEvent):
    """A posted repayment was reversed by staff (compensating entry, never an edit).

    The split is the reversed repayment's allocation as it stood when it was reversed; the loan's
    later repayments are re-allocated (``reallocations``) and its figures are the new ones.
    """

    TYPE: ClassVar[str] = "RepaymentReversed"
    VERSION: ClassVar[int] = 1
    AGGREGATE: ClassVar[str] = "loan_account"
    EVENT: ClassVar[str] = "repayment_reversed"
    loan_id: UUID
    client_id: UUID
    receipt: ReceiptNumber
    amount_cents: AmountCents = Field(description="the reversed repayment's amount")
    interest_cents: int = Field(ge=0)
    principal_cents: int = Field(ge=0)
    fee_cents: int = Field(ge=0)
    suspense_cents: int = Field(ge=0)
    payment_method: Literal["mpesa", "cash", "bank"]
    reason: str
    reversed_on: dt.date
    reallocations: list[Reallocation] = Field(default_factory=list)
    outstanding_cents: int = Field(ge=0, description="the loan's outstanding after the reversal")
    total_paid_cents: int = Field(
        ge=0, description="the loan's repayments still standing after the reversal"
    )
    reopened: bool = Field(description="a repaid loan is owed again (its status is current)")


class LoanRepaid(_LedgerEvent):
    TYPE: ClassVar[str] = "LoanRepaid"
    VERSION: ClassVar[int] = 1
    AGGREGATE: ClassVar[str] = "loan_account"
    EVENT: ClassVar[str] = "repaid"
    loan_id: UUID
    client_id: UUID
    total_paid_cents: int = Field(ge=0)


class LoanStatusChanged(_LedgerEvent):
    """Arrears states the ledger derives from the schedule: ``in_arrears``, ``defaulted``, ``written_off``."""

    TYPE: ClassVar[str] = "LoanStatusChanged"
    VERSION: ClassVar[int] = 1
    AGGREGATE: ClassVar[str] = "loan_account"
    EVENT: ClassVar[str] = "status_changed"
    loan_id: UUID
    client_id: UUID
    status: Literal["current", "in_arrears", "defaulted", "written_off"]
    days_past_due: int = Field(ge=0)
    outstanding_cents: int = Field(ge=0)


class SavingsBalanceChanged(_LedgerEvent):
    """A client's savings moved; origination keeps these to enforce its savings rule."""

    TYPE: ClassVar[str] = "SavingsBalanceChanged"
    VERSION: ClassVar[int] = 1
    AGGREGATE: ClassVar[str] = "savings_account"
    EVENT: ClassVar[str] = "balance_changed"
    client_id: UUID
    balance_cents: int = Field(ge=0)
    change_cents: int
    reason: Literal["deposit", "withdrawal", "reversal", "transfer"]
    transaction_id: str
