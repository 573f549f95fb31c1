"""Events the USSD service publishes on the USSD stream."""

from __future__ import annotations

from typing import ClassVar, Literal
from uuid import UUID

from pydantic import AwareDatetime, Field

from hazina_contracts.events.base import ContractEvent
from hazina_contracts.money import AmountCents
from hazina_contracts.phones import Msisdn
from hazina_contracts.subjects import Stream


class RepaymentPromptRequested(ContractEvent):
    """A borrower asked on USSD to pay; the payments gateway starts an M-Pesa STK Push."""

    TYPE: ClassVar[str] = "RepaymentPromptRequested"
    VERSION: ClassVar[int] = 1
    STREAM: ClassVar[Stream] = Stream.USSD
    AGGREGATE: ClassVar[str] = "repayment_prompt"
    EVENT: ClassVar[str] = "requested"
    occurred_at: AwareDatetime
    prompt_id: UUID = Field(description="idempotency key: one STK push per id")
    phone: Msisdn  # any form of a Kenyan mobile; read as 2547XXXXXXXX / 2541XXXXXXXX
    amount_cents: AmountCents
    account_reference: str
    loan_id: UUID | None = None


class LoanApplicationRequested(ContractEvent):
    """A borrower applied on USSD; origination records it as an initiated loan of the product of
    ``product_type``, assigned to the client's loan officer."""

    TYPE: ClassVar[str] = "LoanApplicationRequested"
    VERSION: ClassVar[int] = 1
    STREAM: ClassVar[Stream] = Stream.USSD
    AGGREGATE: ClassVar[str] = "loan_application"
    EVENT: ClassVar[str] = "requested"
    occurred_at: AwareDatetime
    application_id: UUID = Field(description="idempotency key: one loan per application, ever")
    reference: str = Field(description="what the borrower was told, e.g. UAB3K9XQ2")
    client_id: UUID
    national_id: str
    phone: Msisdn
    principal_cents: AmountCents
    term: int = Field(ge=1, description="number of repayment periods")
    purpose: Literal["emergency", "business", "education", "other"]
    product_type: str
    limit_cents: int = Field(ge=0, description="the borrower's USSD limit when they applied")
