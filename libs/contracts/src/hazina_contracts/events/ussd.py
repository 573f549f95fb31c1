"""Events the USSD service publishes on the USSD stream."""

from __future__ import annotations

from typing import ClassVar
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
