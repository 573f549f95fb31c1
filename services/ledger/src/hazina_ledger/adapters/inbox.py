"""The ledger's inbox: origination's and the gateway's events, applied once, parked when early.

Handlers run inside servicekit's DurableConsumer transaction (processed-message record + effect,
then ack). The ledger's effects are event-store saves keyed by deterministic ids (the loan id,
the receipt number), so a redelivery that finds its effect already stored changes nothing.

An event that arrives before the one it depends on (a repayment before its disbursement, a
disbursement before its approval) is parked in the same transaction and retried when the
missing event is applied and on a timer: it waits, it is never dropped.
"""

from __future__ import annotations

import contextlib
import json
from typing import Any

import psycopg
import structlog
from psycopg.types.json import Jsonb
from psycopg_pool import ConnectionPool

from hazina_contracts.envelope import EventEnvelope
from hazina_contracts.events.base import event_class
from hazina_contracts.events.origination import ClientOnboarded, LoanApproved
from hazina_contracts.events.payments import DisbursementCompleted, PaymentReceived
from hazina_ledger.adapters.views import upsert_client
from hazina_ledger.application.commands import (
    DepositSavings,
    PostRepayment,
)
from hazina_ledger.application.ledger import Ledger
from hazina_ledger.application.policies import (
    TenantConventions,
    on_disbursement_completed,
    on_loan_approved,
    on_payment_received,
)
from hazina_ledger.domain.errors import (
    AwaitingPrerequisiteError,
    InvalidStateError,
    ReceiptConflictError,
)

log = structlog.get_logger(__name__)

PARKED_DDL = """
CREATE TABLE IF NOT EXISTS parked_messages (
    seq bigserial,
    event_id uuid PRIMARY KEY,
    type text NOT NULL,
    waiting_for text NOT NULL,
    reason text NOT NULL,
    envelope jsonb NOT NULL,
    parked_at timestamptz NOT NULL DEFAULT now(),
    attempts integer NOT NULL DEFAULT 0,
    last_attempt_at timestamptz
);
CREATE INDEX IF NOT EXISTS parked_messages_waiting ON parked_messages (waiting_for, seq);
"""

ORIGINATION_SUBJECTS = ("origination.loan.approved", "origination.client.onboarded")
PAYMENTS_SUBJECTS = ("payments.disbursement.completed", "payments.payment.received")


def _waiting_on(loan_id: object) -> tuple[str, str]:
    return f"loan:{loan_id}", f"disbursement:{loan_id}"


class LedgerInbox:
    def __init__(
        self, ledger: Ledger, pool: ConnectionPool, conventions: TenantConventions
    ) -> None:
        self.ledger = ledger
        self.pool = pool
        self.conventions = conventions
        with pool.connection() as conn:
            conn.execute(PARKED_DDL)  # type: ignore[arg-type]

    # The DurableConsumer handler

    def handle(self, envelope: EventEnvelope, conn: psycopg.Connection[Any]) -> None:
        try:
            self.apply(envelope, conn)
        except AwaitingPrerequisiteError as exc:
            self._park(conn, envelope, exc.waiting_for, str(exc))
        except InvalidStateError as exc:
            # e.g. a second, different disbursement for a loan: money moved, a person must look.
            self._park(conn, envelope, "staff-review", str(exc))

    def apply(self, envelope: EventEnvelope, conn: psycopg.Connection[Any] | None = None) -> None:
        try:
            model = event_class(envelope.type, envelope.version).model_validate(envelope.data)
        except LookupError:
            log.info("event_ignored", type=envelope.type, version=envelope.version)
            return
        if isinstance(model, LoanApproved):
            self.ledger.record_loan_terms(on_loan_approved(model, self.conventions))
            self.retry_parked(*_waiting_on(model.loan_id))
        elif isinstance(model, ClientOnboarded):
            row = {
                "client_id": model.client_id,
                "national_id": model.national_id,
                "name": model.name,
                "group_id": model.group_id,
                "loan_officer_id": model.loan_officer_id,
                "status": model.status,
                "onboarded_at": model.occurred_at,
            }
            if conn is not None:
                upsert_client(conn, row)
            else:
                with self.pool.connection() as own:
                    upsert_client(own, row)
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
        self, conn: psycopg.Connection[Any], envelope: EventEnvelope, waiting_for: str, reason: str
    ) -> None:
        conn.execute(
            "INSERT INTO parked_messages (event_id, type, waiting_for, reason, envelope) VALUES (%s, %s, %s, %s, %s) "
            "ON CONFLICT (event_id) DO UPDATE SET waiting_for = EXCLUDED.waiting_for, reason = EXCLUDED.reason",
            (
                envelope.event_id,
                envelope.type,
                waiting_for,
                reason,
                Jsonb(json.loads(envelope.model_dump_json())),
            ),
        )
        log.info("event_parked", type=envelope.type, waiting_for=waiting_for)

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
            where, params = "WHERE waiting_for = ANY(%s)", (waiting_for,)
        else:  # the timer: everything except what waits for a person
            where, params = "WHERE waiting_for <> %s", ("staff-review",)
        with self.pool.connection() as conn:
            rows = conn.execute(
                f"SELECT event_id, envelope FROM parked_messages {where} ORDER BY seq",  # noqa: S608 - fixed fragments
                params,
            ).fetchall()
        applied = 0
        for event_id, body in rows:
            envelope = EventEnvelope.model_validate(body)
            with self.pool.connection() as conn, conn.transaction():
                locked = conn.execute(
                    "SELECT 1 FROM parked_messages WHERE event_id = %s FOR UPDATE SKIP LOCKED",
                    (event_id,),
                ).fetchone()
                if locked is None:
                    continue  # gone, or another worker is on it
                try:
                    with conn.transaction():
                        self.apply(envelope, conn)
                except (AwaitingPrerequisiteError, InvalidStateError) as exc:
                    waits = (
                        exc.waiting_for
                        if isinstance(exc, AwaitingPrerequisiteError)
                        else "staff-review"
                    )
                    conn.execute(
                        "UPDATE parked_messages SET attempts = attempts + 1, last_attempt_at = now(), "
                        "reason = %s, waiting_for = %s WHERE event_id = %s",
                        (str(exc), waits, event_id),
                    )
                    continue
                except Exception as exc:  # keep it parked; the next round retries
                    log.warning("parked_retry_failed", event_id=str(event_id), error=str(exc))
                    with contextlib.suppress(Exception):
                        conn.execute(
                            "UPDATE parked_messages SET attempts = attempts + 1, last_attempt_at = now() "
                            "WHERE event_id = %s",
                            (event_id,),
                        )
                    continue
                conn.execute("DELETE FROM parked_messages WHERE event_id = %s", (event_id,))
                applied += 1
        return applied

    def parked(self) -> list[dict[str, Any]]:
        with self.pool.connection() as conn:
            rows = conn.execute(
                "SELECT event_id, type, waiting_for, reason, parked_at, attempts FROM parked_messages ORDER BY seq"
            ).fetchall()
        return [
            {
                "eventId": str(r[0]),
                "type": r[1],
                "waitingFor": r[2],
                "reason": r[3],
                "parkedAt": r[4].isoformat(),
                "attempts": r[5],
            }
            for r in rows
        ]
