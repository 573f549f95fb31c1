"""The ledger's inbox: origination's and the gateway's events, applied once, parked when early.

Handlers run inside servicekit's DurableConsumer transaction (processed-message record + effect,
then ack). The ledger's effects are event-store saves keyed by deterministic ids (the loan id,
the receipt number), so a redelivery that finds its effect already stored changes nothing.

An event that arrives before the one it depends on (a repayment before its disbursement, a
disbursement before its approval) is parked in the same transaction and retried when the
missing event is applied and on a timer: it waits, it is never dropped. One that needs a person
(a second, different disbursement for a loan) waits for staff, who retry or skip it through
``/api/ledger/parked``. Both live in servicekit's ``parked_events`` (source ``ledger-inbox``),
so every park, retry and skip is also recorded as an event.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import psycopg
import structlog
from psycopg_pool import ConnectionPool

from hazina_contracts.envelope import EventEnvelope
from hazina_contracts.events.origination import (
    ClientApproved,
    ClientDetailsChanged,
    ClientOnboarded,
    ClientRejected,
    LoanApproved,
    LoanCancelled,
)
from hazina_contracts.events.payments import DisbursementCompleted, PaymentReceived
from hazina_ledger.adapters.views import change_client_details, change_client_status, upsert_client
from hazina_ledger.application.commands import (
    CancelLoan,
    DepositSavings,
    PostRepayment,
)
from hazina_ledger.application.ledger import Ledger
from hazina_ledger.application.policies import (
    TenantConventions,
    on_disbursement_completed,
    on_loan_approved,
    on_loan_cancelled,
    on_payment_received,
)
from hazina_ledger.domain.errors import (
    AwaitingPrerequisiteError,
    InvalidStateError,
    ReceiptConflictError,
)
from hazina_servicekit.parking import MESSAGE, PARKED, ParkedRow, ParkingLot, StillWaiting

log = structlog.get_logger(__name__)

SOURCE = "ledger-inbox"  # the source of its parked messages in parked_events
STAFF_REVIEW = "staff-review"

# Each durable consumer is given these subjects on start (servicekit updates an existing
# consumer's filter, keeps its position and delivers an added subject's earlier messages), so a
# subject added here reaches running systems, past included.
ORIGINATION_SUBJECTS = (
    LoanApproved.subject(),
    LoanCancelled.subject(),
    ClientOnboarded.subject(),
    ClientDetailsChanged.subject(),
    ClientApproved.subject(),
    ClientRejected.subject(),
)
PAYMENTS_SUBJECTS = (DisbursementCompleted.subject(), PaymentReceived.subject())
PAYMENT_RECEIVED = (PaymentReceived.TYPE, PaymentReceived.VERSION)

# Origination's cancellations as heard, whether or not the loan's approval has reached the ledger:
# origination cancels loans it never approved too (the ledger never hears of those), and an
# approval delivered after its cancellation must still find the loan cancelled. Fed by this
# consumer, like ``clients``; ``replay`` leaves it alone (the loans' own ``Cancelled`` is stored).
LOAN_CANCELLATIONS_DDL = """
CREATE TABLE IF NOT EXISTS loan_cancellations (
    loan_id uuid PRIMARY KEY,
    reason text,
    cancelled_at timestamptz NOT NULL
)
"""


def _waiting_on(loan_id: object) -> tuple[str, str]:
    return f"loan:{loan_id}", f"disbursement:{loan_id}"


def _client(client_id: object) -> str:
    return f"client:{client_id}"


def _known_or_waiting(known: bool, client_id: uuid.UUID) -> None:
    """A change for a client not onboarded here yet waits (parked) for the onboarding."""
    if not known:
        raise AwaitingPrerequisiteError(
            f"Client {client_id} was changed before their onboarding reached the ledger",
            waiting_for=_client(client_id),
        )


def _described(model: ClientOnboarded | ClientDetailsChanged) -> dict[str, Any]:
    """Who the client is and whose they are, as the event describes them."""
    return {
        "client_id": model.client_id,
        "national_id": model.national_id,
        "name": model.name,
        "group_id": model.group_id,
        "loan_officer_id": model.loan_officer_id,
    }


def _cancellation(conn: psycopg.Connection[Any], loan_id: uuid.UUID) -> CancelLoan | None:
    row = conn.execute(
        "SELECT reason, cancelled_at FROM loan_cancellations WHERE loan_id = %s", (loan_id,)
    ).fetchone()
    return None if row is None else CancelLoan(loan_id=loan_id, reason=row[0], cancelled_at=row[1])


class LedgerInbox:
    def __init__(
        self,
        ledger: Ledger,
        pool: ConnectionPool,
        conventions: TenantConventions,
        parking: ParkingLot | None = None,
    ) -> None:
        self.ledger = ledger
        self.pool = pool
        self.conventions = conventions
        self.parking = parking if parking is not None else ParkingLot(pool)
        self.parking.register(SOURCE, self)
        with pool.connection() as conn:
            conn.execute(LOAN_CANCELLATIONS_DDL)

    # The DurableConsumer handler

    def handle(self, envelope: EventEnvelope, conn: psycopg.Connection[Any]) -> None:
        try:
            self.apply(envelope, conn)
        except AwaitingPrerequisiteError as exc:
            self._park(conn, envelope, exc.waiting_for, str(exc), type(exc).__name__)
        except InvalidStateError as exc:
            # e.g. a second, different disbursement for a loan: money moved, a person must look.
            self._park(conn, envelope, STAFF_REVIEW, str(exc), type(exc).__name__)

    def handle_batch(
        self, envelopes: Sequence[EventEnvelope], conn: psycopg.Connection[Any]
    ) -> Mapping[uuid.UUID, Exception]:
        """servicekit's batch handler: the payments of a batch posted in ONE group commit.

        Runs of ``PaymentReceived`` go to ``Ledger.receive_payments`` together (one ``save()``);
        anything else is applied alone, in its place, so a disbursement still lands before the
        repayments behind it. A repayment that arrived early or needs staff is parked here, in
        the batch's transaction, as one by one; one that failed otherwise is handed back to
        servicekit (retried, then parked), its effects not made.
        """
        failed: dict[uuid.UUID, Exception] = {}
        payments: list[tuple[EventEnvelope, PaymentReceived]] = []
        for envelope in envelopes:
            model: object = None
            if (envelope.type, envelope.version) == PAYMENT_RECEIVED:
                try:
                    model = PaymentReceived.model_validate(envelope.data)
                except ValueError as exc:
                    failed[envelope.event_id] = exc
                    continue
            if isinstance(model, PaymentReceived):
                payments.append((envelope, model))
                continue
            self._receive_many(payments, conn, failed)
            payments = []
            try:
                with conn.transaction():  # a savepoint: its failure leaves the batch usable
                    self.handle(envelope, conn)
            except Exception as exc:
                failed[envelope.event_id] = exc
        self._receive_many(payments, conn, failed)
        return failed

    def _receive_many(
        self,
        payments: Sequence[tuple[EventEnvelope, PaymentReceived]],
        conn: psycopg.Connection[Any],
        failed: dict[uuid.UUID, Exception],
    ) -> None:
        if not payments:
            return
        answers = self.ledger.receive_payments([on_payment_received(m) for _, m in payments])
        for (envelope, model), answer in zip(payments, answers, strict=True):
            if not isinstance(answer, Exception):
                continue
            if isinstance(answer, AwaitingPrerequisiteError):
                self._park(conn, envelope, answer.waiting_for, str(answer), type(answer).__name__)
            elif isinstance(answer, InvalidStateError):
                self._park(conn, envelope, STAFF_REVIEW, str(answer), type(answer).__name__)
            elif isinstance(answer, ReceiptConflictError):
                log.warning("receipt_conflict_flagged", receipt=model.receipt, error=str(answer))
            else:
                failed[envelope.event_id] = answer

    def apply(self, envelope: EventEnvelope, conn: psycopg.Connection[Any] | None = None) -> None:
        try:
            model = envelope.event()
        except LookupError:
            log.info("event_ignored", type=envelope.type, version=envelope.version)
            return
        if isinstance(model, LoanApproved):
            self.ledger.record_loan_terms(on_loan_approved(model, self.conventions))
            with self._connection(conn) as c:
                cancelled = _cancellation(c, model.loan_id)
            if cancelled is not None:  # its cancellation came first
                self.ledger.cancel_loan(cancelled)
            self.retry_parked(*_waiting_on(model.loan_id))
        elif isinstance(model, LoanCancelled):
            command = on_loan_cancelled(model)
            with self._connection(conn) as c:
                c.execute(
                    "INSERT INTO loan_cancellations (loan_id, reason, cancelled_at) "
                    "VALUES (%s, %s, %s) ON CONFLICT (loan_id) DO NOTHING",
                    (command.loan_id, command.reason, command.cancelled_at),
                )
            if self.ledger.cancel_loan(command) != "unknown":
                # Repayments that waited for its disbursement become unallocated receipts.
                self.retry_parked(*_waiting_on(model.loan_id))
        elif isinstance(model, ClientOnboarded):
            # A change parked while it waited for this client is applied by the retry timer: this
            # row is not committed (so not visible to a retry) until the consumer's transaction is.
            row = {**_described(model), "status": model.status, "onboarded_at": model.occurred_at}
            with self._connection(conn) as c:
                upsert_client(c, row)
        elif isinstance(model, ClientDetailsChanged):
            details = {**_described(model), "as_of": model.occurred_at}
            with self._connection(conn) as c:
                known = change_client_details(c, details)
            _known_or_waiting(known, model.client_id)
        elif isinstance(model, ClientApproved | ClientRejected):
            status = "active" if isinstance(model, ClientApproved) else "rejected"
            with self._connection(conn) as c:
                known = change_client_status(c, model.client_id, status, model.occurred_at)
            _known_or_waiting(known, model.client_id)
        elif isinstance(model, DisbursementCompleted):
            outcome = self.ledger.open_loan_account(on_disbursement_completed(model))
            if outcome == "held":
                # Paid out, but not the approved principal: booked to suspense, not scheduled,
                # listed for staff (GET /api/ledger/disbursement-mismatches).
                log.warning(
                    "disbursement_mismatch_held",
                    loan_id=str(model.loan_id),
                    disbursement_id=str(model.disbursement_id),
                    amount_cents=model.amount_cents,
                )
            self.retry_parked(*_waiting_on(model.loan_id))
        elif isinstance(model, PaymentReceived):
            self._receive(model)

    @contextlib.contextmanager
    def _connection(
        self, conn: psycopg.Connection[Any] | None
    ) -> Iterator[psycopg.Connection[Any]]:
        """The consumer's connection, or one of the pool's when applied outside a consumer."""
        if conn is not None:
            yield conn
        else:
            with self.pool.connection() as own:
                yield own

    def _receive(self, model: PaymentReceived) -> None:
        command = on_payment_received(model)
        try:
            if isinstance(command, PostRepayment):
                self.ledger.post_repayment(command)
            elif isinstance(command, DepositSavings):
                self.ledger.deposit_savings(command)
            else:
                self.ledger.record_unallocated(command)
        except ReceiptConflictError as exc:
            # Flagged on the receipt for staff (GET /api/repayments/conflicts); never posted, never retried.
            log.warning("receipt_conflict_flagged", receipt=model.receipt, error=str(exc))

    # Parking

    def _park(
        self,
        conn: psycopg.Connection[Any],
        envelope: EventEnvelope,
        waiting_for: str,
        reason: str,
        error_type: str = "AwaitingPrerequisiteError",
    ) -> None:
        self.parking.park(
            conn,
            source=SOURCE,
            kind=MESSAGE,
            reference=str(envelope.event_id),
            topic=f"{envelope.type} v{envelope.version}",
            subject=envelope.subject,
            error_type=error_type,
            error=reason,
            waiting_for=waiting_for,
            payload=envelope.to_bytes(),
        )

    def retry_parked(self, *waiting_for: str) -> int:
        """Apply parked events (those waiting for any of ``waiting_for``, or all) in arrival order,
        round after round while rounds make progress (one applied event may unblock the next)."""
        total = 0
        while True:
            applied = self._retry_round(list(waiting_for))
            total += applied
            if applied == 0:
                return total

    def _retry_round(self, waiting_for: list[str]) -> int:
        if waiting_for:
            rows, _ = self.parking.find(status=PARKED, source=SOURCE, waiting_for=waiting_for)
        else:  # the timer: everything except what waits for a person
            rows, _ = self.parking.find(status=PARKED, source=SOURCE, not_waiting_for=STAFF_REVIEW)
        applied = 0
        for row in rows:
            try:
                applied += self.parking.retry_automatically(row.id, self.reapply_parked)
            except Exception as exc:  # keep it parked; the next round retries
                log.warning("parked_retry_failed", event_id=row.reference, error=str(exc))
        return applied

    # How servicekit's parking lot re-applies one (a timer, or staff through the API)

    def lock_for_retry(self, conn: psycopg.Connection[Any]) -> None:
        """Effects are saves keyed by deterministic ids: nothing to serialise beyond the row."""

    def reapply_parked(self, row: ParkedRow, conn: psycopg.Connection[Any]) -> None:
        envelope = EventEnvelope.from_bytes(row.payload or b"")
        try:
            self.apply(envelope, conn)
        except AwaitingPrerequisiteError as exc:
            raise StillWaiting(exc.waiting_for, str(exc)) from exc
        except InvalidStateError as exc:
            raise StillWaiting(STAFF_REVIEW, str(exc)) from exc

    def parked(self) -> list[dict[str, Any]]:
        """What still waits, oldest first (all of it is also in ``/api/ledger/parked``)."""
        rows, _ = self.parking.find(status=PARKED, source=SOURCE)
        return [
            {
                "_id": str(r.id),
                "eventId": r.reference,
                "type": r.topic.rsplit(" v", 1)[0],
                "waitingFor": r.waiting_for,
                "reason": r.error,
                "parkedAt": r.parked_at.isoformat(),
                "attempts": r.attempts,
            }
            for r in rows
        ]
