"""An STK Push prompt a borrower asked for on USSD: one prompt per prompt id.

A prompt is never sent twice automatically unless Daraja provably did not receive it; the
callback does not echo the account reference, so it is kept here, keyed by CheckoutRequestID.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from eventsourcing.domain import Aggregate, event
from eventsourcing.utils import register_topic


class PromptStatus(StrEnum):
    REQUESTED = "requested"
    SENDING = "sending"
    SENT = "sent"  # the customer's phone is (or was) showing the prompt
    UNKNOWN = "unknown"  # timeout/5xx: the C2B confirmation or a pull will tell
    PAID = "paid"
    FAILED = "failed"


class StkPrompt(Aggregate):
    TOPIC = "hazina.payments.StkPrompt"

    class Created(Aggregate.Created):
        TOPIC = "hazina.payments.StkPrompt.Created"

    @staticmethod
    def create_id(prompt_id: uuid.UUID, **_: object) -> uuid.UUID:
        return prompt_id

    @event("Requested", topic="hazina.payments.StkPrompt.Requested")
    def __init__(
        self,
        *,
        prompt_id: uuid.UUID,
        phone: str,
        amount_cents: int,
        account_reference: str,
        loan_id: uuid.UUID | None,
        at: datetime,
        correlation_id: str | None,
    ) -> None:
        self.phone = phone
        self.amount_cents = amount_cents
        self.account_reference = account_reference
        self.loan_id = loan_id
        self.correlation_id = correlation_id
        self.status = PromptStatus.REQUESTED
        self.status_since = at
        self.retry_at: datetime | None = None
        self.checkout_request_id: str | None = None
        self.merchant_request_id: str | None = None
        self.receipt: str | None = None
        self.result_code: str | None = None
        self.result_description: str | None = None

    def start_send(self, at: datetime) -> bool:
        if self.status != PromptStatus.REQUESTED:
            return False
        self._send_started(at=at)
        return True

    @event("SendStarted", topic="hazina.payments.StkPrompt.SendStarted")
    def _send_started(self, at: datetime) -> None:
        self.status = PromptStatus.SENDING
        self.status_since = at

    def record_sent(self, checkout_request_id: str, merchant_request_id: str, at: datetime) -> bool:
        if self.status != PromptStatus.SENDING:
            return False
        self._sent(
            checkout_request_id=checkout_request_id, merchant_request_id=merchant_request_id, at=at
        )
        return True

    @event("Sent", topic="hazina.payments.StkPrompt.Sent")
    def _sent(self, checkout_request_id: str, merchant_request_id: str, at: datetime) -> None:
        self.status = PromptStatus.SENT
        self.status_since = at
        self.checkout_request_id = checkout_request_id
        self.merchant_request_id = merchant_request_id

    def record_not_sent(self, reason: str, retry_at: datetime, at: datetime) -> bool:
        if self.status != PromptStatus.SENDING:
            return False
        self._not_sent(reason=reason, retry_at=retry_at, at=at)
        return True

    @event("NotSent", topic="hazina.payments.StkPrompt.NotSent")
    def _not_sent(self, reason: str, retry_at: datetime, at: datetime) -> None:
        self.status = PromptStatus.REQUESTED
        self.status_since = at
        self.retry_at = retry_at
        self.result_description = reason

    def record_unknown(self, reason: str, at: datetime) -> bool:
        if self.status != PromptStatus.SENDING:
            return False
        self._unknown(reason=reason, at=at)
        return True

    @event("OutcomeUnknown", topic="hazina.payments.StkPrompt.OutcomeUnknown")
    def _unknown(self, reason: str, at: datetime) -> None:
        self.status = PromptStatus.UNKNOWN
        self.status_since = at
        self.result_description = reason

    def record_result(
        self, *, result_code: str, description: str, receipt: str | None, at: datetime
    ) -> bool:
        if self.status in {PromptStatus.PAID, PromptStatus.FAILED}:
            return False
        self._result(result_code=result_code, description=description, receipt=receipt, at=at)
        return True

    @event("ResultRecorded", topic="hazina.payments.StkPrompt.ResultRecorded")
    def _result(
        self, result_code: str, description: str, receipt: str | None, at: datetime
    ) -> None:
        self.status = PromptStatus.PAID if result_code == "0" and receipt else PromptStatus.FAILED
        self.status_since = at
        self.result_code = result_code
        self.result_description = description
        self.receipt = receipt

    def record_rejected(self, *, code: str, description: str, at: datetime) -> bool:
        if self.status != PromptStatus.SENDING:
            return False
        self._result(result_code=code, description=description, receipt=None, at=at)
        return True


# Events stored before topics were pinned name this class (and theirs) by module path.
register_topic("hazina_payments_gateway.domain.stk_prompt:StkPrompt", StkPrompt)
