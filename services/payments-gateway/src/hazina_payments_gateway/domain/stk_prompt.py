"""An STK Push prompt a borrower asked for on USSD: one prompt per prompt id.

A prompt is never sent twice automatically unless Daraja provably did not receive it; the
callback does not echo the account reference, so it is kept here, keyed by CheckoutRequestID.
A prompt whose callback is late is asked about (STK Push Query); what the query cannot settle
is asked again a few times and then left ``unknown``.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from enum import StrEnum

from eventsourcing.domain import Aggregate, event
from eventsourcing.utils import register_topic

from hazina_payments_gateway.domain.rules import normalise_reference, phones_agree

# Daraja shows at most this much of the account reference on the prompt and in the payment.
PROMPT_REFERENCE_LENGTH = 12
# How long before we recorded a prompt as sent its payment may be stamped (clocks differ).
CLOCK_SLACK = timedelta(minutes=5)


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
        self.queries = 0  # STK Push Queries that left the prompt unsettled

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

    def note_query(self, *, answer: str, next_query_at: datetime, at: datetime) -> bool:
        """A query did not settle a prompt whose callback is late; ask again at ``next_query_at``.

        A replica that asked at the same time finds the next query already set and notes nothing.
        """
        if self.status != PromptStatus.SENT or (
            self.queries and self.retry_at is not None and self.retry_at > at
        ):
            return False
        self._query_unsettled(answer=answer, next_query_at=next_query_at, at=at)
        return True

    @event("QueryUnsettled", topic="hazina.payments.StkPrompt.QueryUnsettled")
    def _query_unsettled(self, answer: str, next_query_at: datetime, at: datetime) -> None:
        self.queries += 1
        self.retry_at = next_query_at
        self.result_description = answer

    def give_up_querying(self, reason: str, at: datetime) -> bool:
        """No callback and no query settled it: the C2B confirmation, a pull or the statement will."""
        if self.status != PromptStatus.SENT:
            return False
        self._unknown(reason=reason, at=at)
        return True

    def could_be_paid_by(
        self, *, amount_cents: int, phone: str | None, reference: str, paid_at: datetime
    ) -> bool:
        """Whether a payment found on the shortcode can be this prompt's: same amount and account
        reference (as the prompt showed it), a phone that agrees, paid after it was sent."""
        shown = normalise_reference(self.account_reference[:PROMPT_REFERENCE_LENGTH])
        return (
            amount_cents == self.amount_cents
            and normalise_reference(reference)
            in {shown, normalise_reference(self.account_reference)}
            and phones_agree(self.phone, phone)
            and paid_at >= self.status_since - CLOCK_SLACK
        )


# Events stored before topics were pinned name this class (and theirs) by module path.
register_topic("hazina_payments_gateway.domain.stk_prompt:StkPrompt", StkPrompt)
