"""A loan disbursement by M-Pesa B2C: one payment per disbursement id, ever.

The state machine only moves forward. Its one rule above all: money whose fate is unknown is
never sent again under a new OriginatorConversationID. Before anything else after a timeout or
an ambiguous answer, Daraja is asked (Transaction Status). Resending under the *same* id is safe,
because Daraja refuses a duplicate OriginatorConversationID.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from eventsourcing.domain import Aggregate, event
from eventsourcing.utils import register_topic

from hazina_payments_gateway.domain.errors import IllegalTransitionError, NotRetryableError
from hazina_payments_gateway.domain.rules import (
    is_retryable_b2c_failure,
    originator_conversation_id,
)


class DisbursementStatus(StrEnum):
    REQUESTED = (
        "requested"  # recorded; the current OriginatorConversationID is not (known to be) sent
    )
    SENDING = "sending"  # the id is stored and the B2C request is on its way
    AWAITING_RESULT = "awaiting_result"  # Daraja accepted it; waiting for the result callback
    UNKNOWN = "unknown"  # timeout, 5xx, queue timeout or crash: ask Daraja before anything else
    CHECKING = "checking"  # a Transaction Status query is out; waiting for its result
    COMPLETED = "completed"
    FAILED = "failed"


OPEN = frozenset(
    {
        DisbursementStatus.REQUESTED,
        DisbursementStatus.SENDING,
        DisbursementStatus.AWAITING_RESULT,
        DisbursementStatus.UNKNOWN,
        DisbursementStatus.CHECKING,
    }
)


class NextAction(StrEnum):
    SEND = "send"
    MARK_INTERRUPTED = "mark_interrupted"  # a send was started and never finished (crash)
    MARK_NO_RESULT = "mark_no_result"  # accepted, yet no result within the configured time
    QUERY_STATUS = "query_status"
    MARK_STATUS_MISSING = "mark_status_missing"  # the status query's own result never came


@dataclass(frozen=True)
class DisbursementPolicy:
    send_lease: timedelta = timedelta(seconds=60)
    result_timeout: timedelta = timedelta(minutes=5)
    status_result_timeout: timedelta = timedelta(minutes=2)
    status_retry_delays: tuple[timedelta, ...] = (
        timedelta(seconds=0),
        timedelta(seconds=30),
        timedelta(minutes=2),
        timedelta(minutes=10),
    )

    def status_delay(self, queries_so_far: int) -> timedelta:
        return self.status_retry_delays[min(queries_so_far, len(self.status_retry_delays) - 1)]


class Disbursement(Aggregate):
    """The aggregate id is the disbursement id origination chose: a second request is refused by the store."""

    TOPIC = "hazina.payments.Disbursement"

    class Created(Aggregate.Created):
        TOPIC = "hazina.payments.Disbursement.Created"

    @staticmethod
    def create_id(disbursement_id: uuid.UUID, **_: object) -> uuid.UUID:
        return disbursement_id

    @event("Requested", topic="hazina.payments.Disbursement.Requested")
    def __init__(
        self,
        *,
        disbursement_id: uuid.UUID,
        loan_id: uuid.UUID,
        client_id: uuid.UUID,
        account_number: str,
        phone: str,
        amount_cents: int,
        origin_attempt: int,
        at: datetime,
        correlation_id: str | None,
    ) -> None:
        self.loan_id = loan_id
        self.client_id = client_id
        self.account_number = account_number
        self.phone = phone
        self.amount_cents = amount_cents
        self.origin_attempt = origin_attempt
        self.correlation_id = correlation_id
        self.attempt = 1
        self.ocid = originator_conversation_id(disbursement_id, 1)
        self.ocids = [self.ocid]
        self.status = DisbursementStatus.REQUESTED
        self.status_since = at
        self.retry_at: datetime | None = None
        self.sends = 0
        self.status_queries = 0
        self.conversation_id: str | None = None
        self.status_query_conversation_id: str | None = None
        self.last_reason: str | None = None
        self.receipt: str | None = None
        self.charge_cents: int | None = None
        self.recipient_name: str | None = None
        self.completed_at: datetime | None = None
        self.result_code: str | None = None
        self.result_description: str | None = None
        self.retryable: bool | None = None

    # Queries

    @property
    def is_open(self) -> bool:
        return self.status in OPEN

    def next_action(self, now: datetime, policy: DisbursementPolicy) -> NextAction | None:
        """What the dispatcher should do now, if anything."""
        since = self.status_since
        match self.status:
            case DisbursementStatus.REQUESTED if self.retry_at is None or self.retry_at <= now:
                return NextAction.SEND
            case DisbursementStatus.SENDING if now - since >= policy.send_lease:
                return NextAction.MARK_INTERRUPTED
            case DisbursementStatus.AWAITING_RESULT if now - since >= policy.result_timeout:
                return NextAction.MARK_NO_RESULT
            case DisbursementStatus.UNKNOWN if self.retry_at is None or self.retry_at <= now:
                return NextAction.QUERY_STATUS
            case DisbursementStatus.CHECKING if now - since >= policy.status_result_timeout:
                return NextAction.MARK_STATUS_MISSING
        return None

    def owns(self, ocid: str) -> bool:
        return ocid in self.ocids

    # Commands: decide, then record.

    def start_send(self, at: datetime) -> str:
        """Record that the current id is about to be sent; only then may the request go out."""
        self._require(DisbursementStatus.REQUESTED, action="send")
        self._send_started(ocid=self.ocid, at=at)
        return self.ocid

    @event("SendStarted", topic="hazina.payments.Disbursement.SendStarted")
    def _send_started(self, ocid: str, at: datetime) -> None:
        self.status = DisbursementStatus.SENDING
        self.status_since = at
        self.sends += 1
        self.retry_at = None

    def record_accepted(self, conversation_id: str, at: datetime) -> bool:
        if self.status != DisbursementStatus.SENDING:
            return False  # a result or a status answer got here first
        self._accepted(conversation_id=conversation_id, at=at)
        return True

    @event("Accepted", topic="hazina.payments.Disbursement.Accepted")
    def _accepted(self, conversation_id: str, at: datetime) -> None:
        self.status = DisbursementStatus.AWAITING_RESULT
        self.status_since = at
        self.conversation_id = conversation_id

    def record_not_sent(
        self, code: str, description: str, retry_at: datetime, at: datetime
    ) -> bool:
        """Daraja provably did not take the request (connection refused, rate limited): send the same id later."""
        if self.status != DisbursementStatus.SENDING:
            return False
        self._not_sent(code=code, description=description, retry_at=retry_at, at=at)
        return True

    @event("NotSent", topic="hazina.payments.Disbursement.NotSent")
    def _not_sent(self, code: str, description: str, retry_at: datetime, at: datetime) -> None:
        self.status = DisbursementStatus.REQUESTED
        self.status_since = at
        self.retry_at = retry_at
        self.last_reason = f"{code}: {description}"

    def record_unknown(self, reason: str, at: datetime, policy: DisbursementPolicy) -> bool:
        allowed = {
            DisbursementStatus.SENDING,
            DisbursementStatus.AWAITING_RESULT,
            DisbursementStatus.CHECKING,
        }
        if self.status not in allowed:
            return False
        self._outcome_unknown(
            reason=reason, at=at, check_at=at + policy.status_delay(self.status_queries)
        )
        return True

    @event("OutcomeUnknown", topic="hazina.payments.Disbursement.OutcomeUnknown")
    def _outcome_unknown(self, reason: str, at: datetime, check_at: datetime) -> None:
        self.status = DisbursementStatus.UNKNOWN
        self.status_since = at
        self.retry_at = check_at
        self.last_reason = reason

    def record_status_query(self, conversation_id: str, at: datetime) -> bool:
        if self.status != DisbursementStatus.UNKNOWN:
            return False
        self._status_query_sent(conversation_id=conversation_id, at=at)
        return True

    @event("StatusQuerySent", topic="hazina.payments.Disbursement.StatusQuerySent")
    def _status_query_sent(self, conversation_id: str, at: datetime) -> None:
        self.status = DisbursementStatus.CHECKING
        self.status_since = at
        self.status_queries += 1
        self.status_query_conversation_id = conversation_id
        self.retry_at = None

    def record_status_query_failed(
        self, reason: str, at: datetime, policy: DisbursementPolicy
    ) -> bool:
        if self.status != DisbursementStatus.UNKNOWN:
            return False
        delay = policy.status_delay(self.status_queries + 1)
        self._status_query_failed(
            reason=reason, at=at, check_at=at + max(delay, timedelta(seconds=1))
        )
        return True

    @event("StatusQueryFailed", topic="hazina.payments.Disbursement.StatusQueryFailed")
    def _status_query_failed(self, reason: str, at: datetime, check_at: datetime) -> None:
        self.status_queries += 1
        self.retry_at = check_at
        self.last_reason = reason

    def record_not_found(self, ocid: str, at: datetime) -> bool:
        """Daraja says it has no such payment: the same id may be sent again (a duplicate would be refused)."""
        if ocid != self.ocid or self.status not in {
            DisbursementStatus.CHECKING,
            DisbursementStatus.UNKNOWN,
        }:
            return False
        self._not_found(ocid=ocid, at=at)
        return True

    @event("NotFoundByDaraja", topic="hazina.payments.Disbursement.NotFoundByDaraja")
    def _not_found(self, ocid: str, at: datetime) -> None:
        self.status = DisbursementStatus.REQUESTED
        self.status_since = at
        self.retry_at = None
        self.last_reason = "Daraja has no record of the payment"

    def complete(
        self,
        *,
        ocid: str,
        receipt: str,
        charge_cents: int,
        recipient_name: str | None,
        completed_at: datetime,
        source: str,
        at: datetime,
    ) -> bool:
        """A success result for the current attempt completes it; anything else changes nothing."""
        if ocid != self.ocid or not self.is_open:
            return False
        self._completed(
            ocid=ocid,
            receipt=receipt,
            charge_cents=charge_cents,
            recipient_name=recipient_name,
            completed_at=completed_at,
            source=source,
            at=at,
        )
        return True

    @event("Completed", topic="hazina.payments.Disbursement.Completed")
    def _completed(
        self,
        ocid: str,
        receipt: str,
        charge_cents: int,
        recipient_name: str | None,
        completed_at: datetime,
        source: str,
        at: datetime,
    ) -> None:
        self.status = DisbursementStatus.COMPLETED
        self.status_since = at
        self.receipt = receipt
        self.charge_cents = charge_cents
        self.recipient_name = recipient_name
        self.completed_at = completed_at
        self.retry_at = None

    def fail(
        self, *, ocid: str, result_code: str, description: str, source: str, at: datetime
    ) -> bool:
        if ocid != self.ocid or not self.is_open:
            return False
        self._failed(
            ocid=ocid,
            result_code=result_code,
            description=description,
            retryable=is_retryable_b2c_failure(result_code),
            source=source,
            at=at,
        )
        return True

    @event("Failed", topic="hazina.payments.Disbursement.Failed")
    def _failed(
        self,
        ocid: str,
        result_code: str,
        description: str,
        retryable: bool,
        source: str,
        at: datetime,
    ) -> None:
        self.status = DisbursementStatus.FAILED
        self.status_since = at
        self.result_code = result_code
        self.result_description = description
        self.retryable = retryable
        self.retry_at = None

    def retry(self, *, by: uuid.UUID | None, at: datetime) -> str:
        """Staff try a failed disbursement again: a new attempt with a new id, since the old one is settled."""
        if self.status != DisbursementStatus.FAILED:
            raise IllegalTransitionError(
                f"Only a failed disbursement can be retried; it is {self.status.value}"
            )
        if not self.retryable:
            raise NotRetryableError(
                f"This disbursement cannot succeed by retrying ({self.result_code}: {self.result_description})"
            )
        new_ocid = originator_conversation_id(self.id, self.attempt + 1)
        self._retried(attempt=self.attempt + 1, ocid=new_ocid, by=by, at=at)
        return new_ocid

    @event("Retried", topic="hazina.payments.Disbursement.Retried")
    def _retried(self, attempt: int, ocid: str, by: uuid.UUID | None, at: datetime) -> None:
        self.attempt = attempt
        self.ocid = ocid
        self.ocids = [*self.ocids, ocid]
        self.status = DisbursementStatus.REQUESTED
        self.status_since = at
        self.sends = 0
        self.status_queries = 0
        self.conversation_id = None
        self.status_query_conversation_id = None
        self.result_code = None
        self.result_description = None
        self.retryable = None
        self.retry_at = None

    def _require(self, status: DisbursementStatus, *, action: str) -> None:
        if self.status != status:
            raise IllegalTransitionError(
                f"Cannot {action} a disbursement that is {self.status.value}"
            )


# Events stored before topics were pinned name this class (and theirs) by module path.
register_topic("hazina_payments_gateway.domain.disbursement:Disbursement", Disbursement)
