"""The gateway's use cases over its event store: disbursements, payments received, STK prompts."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any, TypeVar

import structlog
from eventsourcing.application import AggregateNotFoundError
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError

from hazina_contracts.money import AmountCents
from hazina_contracts.receipts import MpesaReceipt
from hazina_payments_gateway.application.ports import (
    Accepted,
    B2COrder,
    Clock,
    DisbursementIndex,
    ReferenceBook,
    ReferenceMatch,
    Rejected,
    SendResult,
    StkAccepted,
    StkOrder,
    StkQueryAnswer,
    StkResult,
    Unknown,
)
from hazina_payments_gateway.application.records import (
    B2CResult,
    B2CTimeout,
    DisbursementRequest,
    Handled,
    IncomingPayment,
    PaymentOutcome,
    PromptRequest,
    QueueTimeout,
    StatusResult,
    StkCallback,
)
from hazina_payments_gateway.domain.callback_review import CallbackReview, Decision
from hazina_payments_gateway.domain.disbursement import (
    Disbursement,
    DisbursementPolicy,
    DisbursementStatus,
    NextAction,
)
from hazina_payments_gateway.domain.errors import GatewayError
from hazina_payments_gateway.domain.payment import Payment
from hazina_payments_gateway.domain.rules import (
    FINAL_FAILED_STATUSES,
    NOT_FOUND_STATUS_CODES,
    B2CTariff,
)
from hazina_payments_gateway.domain.stk_prompt import PromptStatus, StkPrompt
from hazina_servicekit.eventstore import EventStoreApplication
from hazina_servicekit.retry import retry_on_conflict

log = structlog.get_logger(__name__)
A = TypeVar("A", bound=Aggregate)
T = TypeVar("T")


class DisbursementNotFoundError(GatewayError):
    pass


class NotYetMatchableError(GatewayError):
    """A callback arrived before what it refers to was recorded; process it again a little later."""


def payment_handled(outcome: PaymentOutcome, *, recorded: str = "recorded") -> Handled:
    """A payment callback's inbox result: a conflicting repeat is flagged for staff."""
    if outcome.status == "conflict":
        return Handled(
            "conflict",
            "flagged",
            reason="the receipt was recorded before with another "
            + ", ".join(outcome.differences)
            + "; the first report stands, the repeat is listed in reconciliation and sent to the"
            " ledger as a conflict",
        )
    return Handled(recorded if outcome.recorded else outcome.status)


class PaymentsGateway(EventStoreApplication):
    """Event store of disbursements, payments and prompts, and the use cases that change them."""

    name = "payments"

    def __init__(
        self,
        env: dict[str, str],
        *,
        clock: Clock,
        tariff: B2CTariff,
        policy: DisbursementPolicy,
        references: ReferenceBook,
        index: DisbursementIndex,
        b2c_remarks: str = "Loan disbursement",
        not_sent_retry: timedelta = timedelta(seconds=5),
        stk_query_after: timedelta = timedelta(minutes=3),
        stk_query_attempts: int = 5,
    ) -> None:
        super().__init__(env=env)
        self.clock = clock
        self.tariff = tariff
        self.policy = policy
        self.references = references
        self.index = index
        self.b2c_remarks = b2c_remarks
        self.not_sent_retry = not_sent_retry
        self.stk_query_after = stk_query_after
        self.stk_query_attempts = stk_query_attempts
        self.on_work: Callable[[], None] = lambda: None  # wakes the dispatcher (set by bootstrap)

    # Plumbing

    def _change(self, aggregate_id: uuid.UUID, change: Callable[[Any], T]) -> T:
        """Load, decide, save; on a concurrent writer's conflict, load again and decide again."""

        def attempt() -> T:
            aggregate: Aggregate = self.repository.get(aggregate_id)
            result = change(aggregate)
            self.save(aggregate)
            return result

        return retry_on_conflict(attempt)

    # Disbursements

    def request_disbursement(self, request: DisbursementRequest) -> bool:
        """Record a disbursement once; a repeated or concurrent request for the same id changes nothing."""
        if request.disbursement_id in self.repository:
            return False
        disbursement = Disbursement(
            disbursement_id=request.disbursement_id,
            loan_id=request.loan_id,
            client_id=request.client_id,
            account_number=request.account_number,
            phone=request.phone,
            amount_cents=request.amount_cents,
            origin_attempt=request.origin_attempt,
            at=self.clock.now(),
            correlation_id=request.correlation_id,
        )
        try:
            self.save(disbursement)
        except IntegrityError:
            return False
        self.on_work()
        return True

    def get_disbursement(self, disbursement_id: uuid.UUID) -> Disbursement:
        try:
            disbursement: Disbursement = self.repository.get(disbursement_id)
        except AggregateNotFoundError:
            raise DisbursementNotFoundError("Disbursement not found") from None
        return disbursement

    def next_action(self, disbursement_id: uuid.UUID) -> NextAction | None:
        return self.get_disbursement(disbursement_id).next_action(self.clock.now(), self.policy)

    def begin_send(self, disbursement_id: uuid.UUID) -> B2COrder | None:
        """Store that the current OriginatorConversationID is going out; only the writer who wins sends."""
        disbursement = self.get_disbursement(disbursement_id)
        if disbursement.next_action(self.clock.now(), self.policy) != NextAction.SEND:
            return None
        ocid = disbursement.start_send(self.clock.now())
        try:
            self.save(disbursement)
        except IntegrityError:
            return None  # another dispatcher recorded something first; it owns this step
        return B2COrder(
            ocid=ocid,
            phone=disbursement.phone,
            amount_cents=disbursement.amount_cents,
            remarks=f"{self.b2c_remarks} {disbursement.account_number}"[:100],
            occasion=disbursement.account_number[:100] or ocid,
        )

    def record_send_result(self, disbursement_id: uuid.UUID, ocid: str, result: SendResult) -> None:
        def change(d: Disbursement) -> None:
            now = self.clock.now()
            if d.ocid != ocid:
                return
            match result:
                case Accepted(conversation_id=conversation_id):
                    d.record_accepted(conversation_id, now)
                case Rejected(never_sent=True) | Rejected(retryable=True):
                    d.record_not_sent(
                        result.code, result.description, now + self.not_sent_retry, now
                    )
                case Rejected():
                    d.fail(
                        ocid=ocid,
                        result_code=result.code,
                        description=result.description,
                        source="request",
                        at=now,
                    )
                case Unknown(reason=reason):
                    d.record_unknown(f"B2C request outcome unknown: {reason}", now, self.policy)

        self._change(disbursement_id, change)
        log.info(
            "b2c_request_result",
            disbursement_id=str(disbursement_id),
            ocid=ocid,
            result=type(result).__name__,
        )
        if isinstance(result, Unknown):
            self.on_work()

    def mark_unknown(self, disbursement_id: uuid.UUID, action: NextAction) -> None:
        reasons = {
            NextAction.MARK_INTERRUPTED: "the send was interrupted before its answer was recorded",
            NextAction.MARK_NO_RESULT: "no result callback within the configured time",
            NextAction.MARK_STATUS_MISSING: "the status query's result never came",
        }

        def change(d: Disbursement) -> None:
            if d.next_action(self.clock.now(), self.policy) == action:
                d.record_unknown(reasons[action], self.clock.now(), self.policy)

        self._change(disbursement_id, change)

    def record_status_query(
        self, disbursement_id: uuid.UUID, ocid: str, result: SendResult
    ) -> None:
        def change(d: Disbursement) -> None:
            now = self.clock.now()
            if d.ocid != ocid:
                return
            if isinstance(result, Accepted):
                d.record_status_query(result.conversation_id, now)
            else:
                reason = (
                    result.reason
                    if isinstance(result, Unknown)
                    else f"{result.code}: {result.description}"
                )
                d.record_status_query_failed(f"status query failed: {reason}", now, self.policy)

        self._change(disbursement_id, change)

    def apply_b2c_result(self, result: B2CResult) -> str | Handled:
        disbursement_id = self.index.by_ocid(result.ocid)
        if disbursement_id is None:
            log.warning("b2c_result_unmatched", ocid=result.ocid)
            raise NotYetMatchableError(f"no disbursement sent as {result.ocid}")

        def change(d: Disbursement) -> str | Handled:
            now = self.clock.now()
            if result.ocid != d.ocid:
                if result.result_code == "0":
                    log.error(
                        "b2c_success_for_superseded_attempt",
                        ocid=result.ocid,
                        disbursement_id=str(d.id),
                    )
                    return Handled(
                        "stale_success",
                        "flagged",
                        reason=f"Daraja paid {result.ocid}, an attempt this disbursement had"
                        f" already replaced by {d.ocid}: the loan may have been paid twice",
                    )
                return "stale"
            mismatch = None
            if result.result_code == "0":
                if result.amount_cents is not None and result.amount_cents != d.amount_cents:
                    log.error(
                        "b2c_amount_mismatch",
                        ocid=result.ocid,
                        reported=result.amount_cents,
                        requested=d.amount_cents,
                    )
                    mismatch = Handled(
                        "amount_mismatch",
                        "flagged",
                        reason=f"Daraja reports {result.amount_cents} cents paid for {result.ocid};"
                        f" {d.amount_cents} cents were requested",
                    )
                changed = d.complete(
                    ocid=result.ocid,
                    receipt=result.receipt or "",
                    charge_cents=self.tariff.charge_for(d.amount_cents),
                    recipient_name=result.recipient_name,
                    completed_at=result.completed_at or now,
                    source="result",
                    at=now,
                )
                if mismatch is not None and changed:
                    return mismatch
            else:
                changed = d.fail(
                    ocid=result.ocid,
                    result_code=result.result_code,
                    description=result.description,
                    source="result",
                    at=now,
                )
            return "applied" if changed else "duplicate"

        return self._change(disbursement_id, change)

    def apply_b2c_timeout(self, timeout: B2CTimeout) -> str:
        disbursement_id = self.index.by_ocid(timeout.ocid)
        if disbursement_id is None:
            raise NotYetMatchableError(f"no disbursement sent as {timeout.ocid}")

        def change(d: Disbursement) -> str:
            if timeout.ocid != d.ocid or d.status not in {
                DisbursementStatus.SENDING,
                DisbursementStatus.AWAITING_RESULT,
            }:
                return "ignored"
            d.record_unknown(f"queue timeout: {timeout.description}", self.clock.now(), self.policy)
            return "applied"

        outcome = self._change(disbursement_id, change)
        self.on_work()
        return outcome

    def apply_status_result(self, status: StatusResult) -> str:
        disbursement_id = None
        if status.query_conversation_id:
            disbursement_id = self.index.by_status_query(status.query_conversation_id)
        for candidate in (status.occasion, status.original_ocid):
            if disbursement_id is None and candidate:
                disbursement_id = self.index.by_ocid(candidate)
        if disbursement_id is None:
            raise NotYetMatchableError("no disbursement asked about under this status query")

        def change(d: Disbursement) -> str:
            now = self.clock.now()
            ocid = d.ocid
            if status.original_ocid and status.original_ocid != ocid:
                return "stale"
            if not d.is_open:
                return "duplicate"
            if status.result_code != "0":
                if status.result_code in NOT_FOUND_STATUS_CODES:
                    return "not_found" if d.record_not_found(ocid, now) else "ignored"
                d.record_unknown(
                    f"status query answered {status.result_code}: {status.description}",
                    now,
                    self.policy,
                )
                return "query_failed"
            fate = (status.transaction_status or "").strip().lower()
            if fate == "completed":
                d.complete(
                    ocid=ocid,
                    receipt=status.receipt or "",
                    charge_cents=self.tariff.charge_for(d.amount_cents),
                    recipient_name=status.recipient_name,
                    completed_at=status.finalised_at or now,
                    source="status",
                    at=now,
                )
                return "completed"
            if fate in FINAL_FAILED_STATUSES:
                d.fail(
                    ocid=ocid,
                    result_code=status.transaction_status or "failed",
                    description=f"Transaction Status: {status.transaction_status}",
                    source="status",
                    at=now,
                )
                return "failed"
            d.record_unknown(
                f"still {status.transaction_status or 'pending'} at Daraja", now, self.policy
            )
            return "pending"

        outcome = self._change(disbursement_id, change)
        self.on_work()
        return outcome

    def apply_status_timeout(self, timeout: QueueTimeout) -> str:
        """Daraja could not answer a Transaction Status query in time: ask again (after the usual delay)."""
        disbursement_id = (
            self.index.by_status_query(timeout.conversation_id) if timeout.conversation_id else None
        )
        if disbursement_id is None:
            raise NotYetMatchableError("no disbursement asked about under this status query")

        def change(d: Disbursement) -> str:
            if (
                d.status != DisbursementStatus.CHECKING
                or d.status_query_conversation_id != timeout.conversation_id
            ):
                return "ignored"
            d.record_unknown(
                f"status query timed out at Daraja: {timeout.description}",
                self.clock.now(),
                self.policy,
            )
            return "applied"

        outcome = self._change(disbursement_id, change)
        self.on_work()
        return outcome

    def retry_disbursement(self, disbursement_id: uuid.UUID, by: uuid.UUID | None) -> Disbursement:
        self.get_disbursement(disbursement_id)

        def change(d: Disbursement) -> Disbursement:
            d.retry(by=by, at=self.clock.now())
            return d

        disbursement = self._change(disbursement_id, change)
        self.on_work()
        return disbursement

    # Payments received

    def record_payment(
        self,
        incoming: IncomingPayment,
        *,
        match: ReferenceMatch | None = None,
        correlation_id: str | None = None,
    ) -> PaymentOutcome:
        """Record money in once per receipt, whichever path brings it first; a repeat that
        disagrees with the first report is recorded once as a conflict."""
        payment_id = Payment.create_id(incoming.receipt)
        if payment_id in self.repository:
            return self._repeat(incoming, match)
        match = match or self.references.match(incoming.bill_ref)
        payment = Payment(
            receipt=incoming.receipt,
            amount_cents=incoming.amount_cents,
            msisdn=incoming.msisdn,
            account_reference=incoming.bill_ref,
            target=match.target,
            loan_id=match.loan_id,
            client_id=match.client_id,
            paid_at=incoming.paid_at,
            payer_name=incoming.payer_name,
            channel=incoming.channel,
            shortcode=incoming.shortcode,
            correlation_id=correlation_id,
        )
        try:
            self.save(payment)
        except IntegrityError:
            return self._repeat(incoming, match)
        return PaymentOutcome("recorded")

    def _repeat(
        self, incoming: IncomingPayment, match: ReferenceMatch | None = None
    ) -> PaymentOutcome:
        """A receipt already recorded: the same payment again, or a conflicting repeat (recorded once)."""

        amount, msisdn, reference = incoming.amount_cents, incoming.msisdn, incoming.bill_ref

        def change(payment: Payment) -> PaymentOutcome:
            found = payment.differences_from(
                amount_cents=amount, msisdn=msisdn, account_reference=reference
            )
            if not found:
                return PaymentOutcome("duplicate")
            if payment.is_known_conflict(
                amount_cents=amount, msisdn=msisdn, account_reference=reference
            ):
                return PaymentOutcome("duplicate_conflict", found)
            matched = match or self.references.match(reference)
            payment.record_conflict(
                amount_cents=amount,
                msisdn=msisdn,
                account_reference=reference,
                target=matched.target,
                loan_id=matched.loan_id,
                client_id=matched.client_id,
                paid_at=incoming.paid_at,
                payer_name=incoming.payer_name,
                channel=incoming.channel,
                disagreements=found,
            )
            return PaymentOutcome("conflict", found)

        outcome = self._change(Payment.create_id(incoming.receipt), change)
        if outcome.status == "conflict":
            log.warning(
                "payment_conflicting_repeat",
                receipt=incoming.receipt,
                differences=list(outcome.differences),
                channel=incoming.channel,
            )
        return outcome

    def record_confirmations(
        self, confirmations: Sequence[IncomingPayment | Exception]
    ) -> list[Handled | Exception]:
        """A batch of C2B confirmations as the inbox read them: the readable ones recorded in one
        write, each answered with its inbox result; one that could not be read keeps its error."""
        readable = [item for item in confirmations if isinstance(item, IncomingPayment)]
        outcomes = iter(self.record_payments(readable))
        return [
            item if isinstance(item, Exception) else payment_handled(next(outcomes))
            for item in confirmations
        ]

    def record_payments(self, incoming: list[IncomingPayment]) -> list[PaymentOutcome]:
        """Record many payments in one write (the busy path: a burst of C2B confirmations).

        Receipts already recorded (by the read model) or repeated in the batch are compared with
        what was recorded; if a concurrent writer got one in first, the store refuses the batch
        and each is recorded alone.
        """
        results: list[PaymentOutcome | None] = [None] * len(incoming)
        first_index: dict[MpesaReceipt, int] = {}
        for i, item in enumerate(incoming):
            first_index.setdefault(item.receipt, i)
        known = self.index.known_receipts(list(first_index))
        todo = [(receipt, i) for receipt, i in first_index.items() if receipt not in known]
        if todo:
            matches = self.references.match_many([incoming[i].bill_ref for _, i in todo])
            payments = []
            for _, i in todo:
                item = incoming[i]
                match = matches.get(item.bill_ref) or ReferenceMatch(target="unallocated")
                payments.append(
                    Payment(
                        receipt=item.receipt,
                        amount_cents=item.amount_cents,
                        msisdn=item.msisdn,
                        account_reference=item.bill_ref,
                        target=match.target,
                        loan_id=match.loan_id,
                        client_id=match.client_id,
                        paid_at=item.paid_at,
                        payer_name=item.payer_name,
                        channel=item.channel,
                        shortcode=item.shortcode,
                        correlation_id=None,
                    )
                )
            try:
                self.save(*payments)
            except IntegrityError:
                for _, i in todo:
                    results[i] = self.record_payment(incoming[i])
            else:
                for _, i in todo:
                    results[i] = PaymentOutcome("recorded")
        return [
            outcome if outcome is not None else self._repeat(incoming[i])
            for i, outcome in enumerate(results)
        ]

    def get_payment(self, receipt: MpesaReceipt) -> Payment | None:
        try:
            payment: Payment = self.repository.get(Payment.create_id(receipt))
        except AggregateNotFoundError:
            return None
        return payment

    # Staff decisions on stored callbacks

    def record_callback_decision(
        self,
        *,
        inbox_key: str,
        inbox_id: int,
        kind: str,
        decision: Decision,
        was: str,
        by: uuid.UUID | None,
        reason: str,
    ) -> CallbackReview:
        """Store a staff retry or dismissal of an inbox row before the row changes."""
        review_id = CallbackReview.create_id(inbox_key)

        def attempt() -> CallbackReview:
            try:
                review: CallbackReview = self.repository.get(review_id)
            except AggregateNotFoundError:
                review = CallbackReview(inbox_key=inbox_key, inbox_id=inbox_id, kind=kind)
            review.decide(decision=decision, was=was, by=by, reason=reason, at=self.clock.now())
            self.save(review)
            return review

        return retry_on_conflict(attempt)

    # STK prompts

    def request_prompt(self, request: PromptRequest) -> bool:
        if request.prompt_id in self.repository:
            return False
        prompt = StkPrompt(
            prompt_id=request.prompt_id,
            phone=request.phone,
            amount_cents=request.amount_cents,
            account_reference=request.account_reference,
            loan_id=request.loan_id,
            at=self.clock.now(),
            correlation_id=request.correlation_id,
        )
        try:
            self.save(prompt)
        except IntegrityError:
            return False
        self.on_work()
        return True

    def get_prompt(self, prompt_id: uuid.UUID) -> StkPrompt:
        prompt: StkPrompt = self.repository.get(prompt_id)
        return prompt

    def begin_prompt(self, prompt_id: uuid.UUID) -> StkOrder | None:
        prompt = self.get_prompt(prompt_id)
        now = self.clock.now()
        if prompt.status != PromptStatus.REQUESTED or (
            prompt.retry_at is not None and prompt.retry_at > now
        ):
            return None
        prompt.start_send(now)
        try:
            self.save(prompt)
        except IntegrityError:
            return None
        return StkOrder(
            phone=prompt.phone,
            amount_cents=prompt.amount_cents,
            account_reference=prompt.account_reference,
            description="Loan repayment",
        )

    def record_prompt_result(self, prompt_id: uuid.UUID, result: StkResult) -> None:
        def change(p: StkPrompt) -> None:
            now = self.clock.now()
            match result:
                case StkAccepted():
                    p.record_sent(result.checkout_request_id, result.merchant_request_id, now)
                case Rejected(never_sent=True):
                    p.record_not_sent(
                        f"{result.code}: {result.description}", now + self.not_sent_retry, now
                    )
                case Rejected():
                    p.record_rejected(code=result.code, description=result.description, at=now)
                case Unknown(reason=reason):
                    p.record_unknown(reason, now)

        self._change(prompt_id, change)

    def apply_stk_callback(self, callback: StkCallback) -> str | Handled:
        prompt_id = self.index.by_checkout_request(callback.checkout_request_id)
        if prompt_id is None:
            raise NotYetMatchableError(
                f"no prompt with CheckoutRequestID {callback.checkout_request_id} yet"
            )
        prompt = self.get_prompt(prompt_id)
        paid = callback.result_code == "0" and bool(callback.receipt)

        def change(p: StkPrompt) -> bool:
            return p.record_result(
                result_code=callback.result_code,
                description=callback.description,
                receipt=callback.receipt,
                at=self.clock.now(),
            )

        self._change(prompt_id, change)
        if not paid or callback.receipt is None:
            return "failed"
        match = self.references.match(prompt.account_reference)
        if prompt.loan_id is not None and match.loan_id != prompt.loan_id:
            match = ReferenceMatch(target="loan", loan_id=prompt.loan_id, client_id=match.client_id)
        outcome = self.record_payment(
            IncomingPayment(
                receipt=callback.receipt,
                amount_cents=callback.amount_cents or AmountCents(prompt.amount_cents),
                msisdn=callback.phone,
                bill_ref=prompt.account_reference,
                paid_at=callback.paid_at or self.clock.now(),
                payer_name=None,
                shortcode=None,
                channel="stk",
            ),
            match=match,
            correlation_id=prompt.correlation_id,
        )
        return payment_handled(outcome, recorded="paid")

    def record_prompt_query(
        self, prompt_id: uuid.UUID, answer: StkQueryAnswer, found: Sequence[IncomingPayment]
    ) -> str:
        """Settle a prompt whose callback never came from Daraja's STK query, as the callback would.

        A failure is recorded as the callback records it. "Paid" comes without a receipt, so the
        payment is taken from ``found`` (Pull Transactions on the STK shortcode) and recorded
        through ``apply_stk_callback``: keyed by its receipt, the late callback or the C2B
        confirmation of the same payment is then a duplicate. A prompt the query cannot settle is
        asked again after ``stk_query_after``; after ``stk_query_attempts`` it is left ``unknown``.
        """
        prompt = self.get_prompt(prompt_id)
        checkout = prompt.checkout_request_id
        if prompt.status != PromptStatus.SENT or checkout is None:
            return "settled"  # the callback came first
        now = self.clock.now()
        if answer.state == "done" and answer.result_code != "0":
            code = answer.result_code or ""
            self._change(
                prompt_id,
                lambda p: p.record_result(
                    result_code=code, description=answer.description, receipt=None, at=now
                ),
            )
            return "failed"
        if answer.state == "done":
            taken = self.index.receipts_of_other_prompts(prompt_id, [r.receipt for r in found])
            paid = [
                row
                for row in found
                if row.receipt not in taken
                and prompt.could_be_paid_by(
                    amount_cents=row.amount_cents,
                    phone=row.msisdn,
                    reference=row.bill_ref,
                    paid_at=row.paid_at,
                )
            ]
            if len(paid) == 1:
                row = paid[0]
                self.apply_stk_callback(
                    StkCallback(
                        checkout_request_id=checkout,
                        merchant_request_id=prompt.merchant_request_id,
                        result_code="0",
                        description=answer.description,
                        receipt=row.receipt,
                        amount_cents=row.amount_cents,
                        phone=row.msisdn or prompt.phone,
                        paid_at=row.paid_at,
                    )
                )
                return "paid"
            if (
                paid
            ):  # real money either way: recorded, but which one answered the prompt is unclear
                for row in paid:
                    self.record_payment(row, correlation_id=prompt.correlation_id)
                return self._give_up_querying(
                    prompt_id,
                    f"Daraja's query says paid; {len(paid)} payments of this amount and reference"
                    " were found and recorded, none can be told to be this prompt's",
                    now,
                )
            unsettled = "Daraja's query says paid; the payment is not on the shortcode's pull yet"
        else:
            unsettled = f"Daraja's query answered {answer.state}: {answer.description}".strip()
        if prompt.queries + 1 >= self.stk_query_attempts:
            return self._give_up_querying(
                prompt_id,
                f"no callback; {self.stk_query_attempts} STK queries did not settle it (last:"
                f" {unsettled}); the C2B confirmation, a pull or the statement records any payment",
                now,
            )
        self._change(
            prompt_id,
            lambda p: p.note_query(
                answer=unsettled, next_query_at=now + self.stk_query_after, at=now
            ),
        )
        return "asked_again"

    def _give_up_querying(self, prompt_id: uuid.UUID, reason: str, now: datetime) -> str:
        self._change(prompt_id, lambda p: p.give_up_querying(reason, now))
        log.warning("stk_prompt_unresolved", prompt_id=str(prompt_id), reason=reason)
        return "unknown"
