"""What origination does with other services' events.

PAYMENTS: a disbursement's M-Pesa result moves the loan to ``disbursed`` or back to ``approved``.
LEDGER: savings balances feed the savings rule (a local projection; origination never calls the
ledger), and repaid/arrears states (and a reversal that reopens a repaid loan) move the loan on.
A second LEDGER consumer keeps each loan's figures (total due, outstanding, paid) as the ledger
reports them, reversals included.
IDENTITY: staff users, so views can name who did what and groups go only to active loan officers;
branches, so groups and clients show their branch's name and location.

Every handler is idempotent on its own: the loan records an outcome once per disbursement and a
ledger state only when it is newer than the last one, so a redelivery, or a message that is
handled again after a crash between the loan's save and the consumer's commit, changes nothing.

The two LEDGER consumers run in batch mode (servicekit's ``batch_handler``): a C2B payment
brings a ledger event per transaction, and a batch of them costs a few statements, not a
transaction each. The batch handlers make exactly the rows the one-by-one handlers would make
from the same messages in the same order: runs of the frequent, order-free facts are folded
into one statement per table (sums add up; "newest fact wins" keeps the newest of the run), and
anything else is applied alone, in its place, after the run before it.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import psycopg
import structlog
from psycopg.types.json import Jsonb

from hazina_contracts.envelope import EventEnvelope
from hazina_contracts.events import identity, ledger, payments
from hazina_contracts.events.base import ContractEvent
from hazina_origination.application.origination import Origination
from hazina_origination.domain.errors import NotFoundError
from hazina_servicekit.consumer import BatchHandler, Handler

log = structlog.get_logger(__name__)

PAYMENTS_SUBJECTS = (
    payments.DisbursementCompleted.subject(),
    payments.DisbursementFailed.subject(),
)
LEDGER_SUBJECTS = (
    ledger.SavingsBalanceChanged.subject(),
    ledger.LoanRepaid.subject(),
    ledger.LoanStatusChanged.subject(),
    ledger.RepaymentReversed.subject(),
)
# Each durable consumer is given these subjects on start (servicekit updates an existing
# consumer's filter, keeps its position and delivers an added subject's earlier messages), so
# adding a subject here reaches running systems, past included.
LOAN_BALANCE_SUBJECTS = (
    ledger.LoanAccountOpened.subject(),
    ledger.RepaymentPosted.subject(),
    ledger.LoanStatusChanged.subject(),
    ledger.LoanRepaid.subject(),
    ledger.RepaymentReversed.subject(),
)
IDENTITY_SUBJECTS = (
    identity.UserCreated.subject(),
    identity.UserRoleChanged.subject(),
    identity.UserDeactivated.subject(),
    identity.UserReactivated.subject(),
    identity.BranchOpened.subject(),
    identity.BranchDetailsChanged.subject(),
)


def payments_handler(app: Origination) -> Handler:
    def handle(envelope: EventEnvelope, _conn: psycopg.Connection[Any]) -> None:
        event = envelope.event()
        try:
            if isinstance(event, payments.DisbursementCompleted):
                app.record_disbursement_completed(
                    event.loan_id,
                    event.disbursement_id,
                    mpesa_receipt=event.mpesa_receipt,
                    completed_at=event.completed_at,
                    charge_cents=event.charge_cents,
                    correlation_id=envelope.correlation_id,
                )
            elif isinstance(event, payments.DisbursementFailed):
                app.record_disbursement_failed(
                    event.loan_id,
                    event.disbursement_id,
                    reason=f"{event.result_description} (M-Pesa result {event.result_code})",
                    result_code=event.result_code,
                    correlation_id=envelope.correlation_id,
                )
        except NotFoundError:
            log.error(
                "payment_for_unknown_loan",
                type=envelope.type,
                loan_id=str(getattr(event, "loan_id", "")),
            )

    return handle


def ledger_handler(app: Origination) -> Handler:
    def handle(envelope: EventEnvelope, conn: psycopg.Connection[Any]) -> None:
        event = envelope.event()
        if isinstance(event, ledger.SavingsBalanceChanged):
            record_savings(conn, event)
            return
        _record_loan_state(app, envelope, event)

    return handle


def ledger_batch_handler(app: Origination) -> BatchHandler:
    """The ledger handler for a batch: each run of ``SavingsBalanceChanged`` in two statements;
    the loan states (rare) one by one through the loan, in their place."""

    def handle_batch(
        envelopes: Sequence[EventEnvelope], conn: psycopg.Connection[Any]
    ) -> Mapping[uuid.UUID, Exception]:
        failed: dict[uuid.UUID, Exception] = {}
        run: list[ledger.SavingsBalanceChanged] = []
        for envelope in envelopes:
            try:
                event = envelope.event()
            except Exception as exc:  # retried, then parked, as one by one
                failed[envelope.event_id] = exc
                continue
            if isinstance(event, ledger.SavingsBalanceChanged):
                run.append(event)
                continue
            record_savings_many(conn, run)
            run = []
            try:  # the loan is saved in its own transaction; a failure is retried alone
                _record_loan_state(app, envelope, event)
            except Exception as exc:
                failed[envelope.event_id] = exc
        record_savings_many(conn, run)
        return failed

    return handle_batch


def _record_loan_state(app: Origination, envelope: EventEnvelope, event: ContractEvent) -> None:
    try:
        if isinstance(event, ledger.LoanRepaid):
            app.record_loan_repaid(
                event.loan_id,
                occurred_at=event.occurred_at,
                total_paid_cents=event.total_paid_cents,
                correlation_id=envelope.correlation_id,
            )
        elif isinstance(event, ledger.LoanStatusChanged):
            app.record_ledger_status(
                event.loan_id,
                ledger_status=event.status,
                occurred_at=event.occurred_at,
                days_past_due=event.days_past_due,
                outstanding_cents=event.outstanding_cents,
                correlation_id=envelope.correlation_id,
            )
        elif isinstance(event, ledger.RepaymentReversed) and event.reopened:
            # A repaid loan whose repayment was reversed is owed again.
            app.record_ledger_status(
                event.loan_id,
                ledger_status="current",
                occurred_at=event.occurred_at,
                days_past_due=0,
                outstanding_cents=event.outstanding_cents,
                correlation_id=envelope.correlation_id,
            )
    except NotFoundError:
        log.error(
            "ledger_event_for_unknown_loan",
            type=envelope.type,
            loan_id=str(getattr(event, "loan_id", "")),
        )


def record_savings(conn: psycopg.Connection[Any], event: ledger.SavingsBalanceChanged) -> None:
    """Keep the movement, and the balance of the newest movement seen (they may arrive out of order)."""
    record_savings_many(conn, [event])


def record_savings_many(
    conn: psycopg.Connection[Any], events: Sequence[ledger.SavingsBalanceChanged]
) -> None:
    """``record_savings`` for each of ``events`` in turn, in two statements: every movement (the
    first of a transaction repeated in the run counts, as it would one by one), and per client
    the balance of the run's newest movement (the first of equals), if newer than the one kept."""
    if not events:
        return
    movements: dict[tuple[uuid.UUID, str], ledger.SavingsBalanceChanged] = {}
    newest: dict[uuid.UUID, ledger.SavingsBalanceChanged] = {}
    for event in events:
        movements.setdefault((event.client_id, event.transaction_id), event)
        kept = newest.get(event.client_id)
        if kept is None or kept.occurred_at < event.occurred_at:
            newest[event.client_id] = event
    moved = [movements[key] for key in sorted(movements)]  # one lock order for every process
    conn.execute(
        """INSERT INTO savings_movements (client_id, transaction_id, change_cents, balance_cents, reason, occurred_at)
           SELECT * FROM unnest(%b::uuid[], %b::text[], %b::bigint[], %b::bigint[], %b::text[],
               %b::timestamptz[])
           ON CONFLICT DO NOTHING""",
        (
            [e.client_id for e in moved],
            [e.transaction_id for e in moved],
            [e.change_cents for e in moved],
            [e.balance_cents for e in moved],
            [e.reason for e in moved],
            [e.occurred_at for e in moved],
        ),
    )
    balances = [newest[client_id] for client_id in sorted(newest)]
    conn.execute(
        """INSERT INTO savings_balances (client_id, balance_cents, as_of)
           SELECT * FROM unnest(%b::uuid[], %b::bigint[], %b::timestamptz[])
           ON CONFLICT (client_id) DO UPDATE SET balance_cents = EXCLUDED.balance_cents, as_of = EXCLUDED.as_of,
               updated_at = now()
           WHERE savings_balances.as_of < EXCLUDED.as_of""",
        (
            [e.client_id for e in balances],
            [e.balance_cents for e in balances],
            [e.occurred_at for e in balances],
        ),
    )


# Loan figures from the ledger


# The facts a C2B payment brings: a run of them folds into a few statements (``record_loan_facts``).
LoanFact = ledger.RepaymentPosted | ledger.LoanStatusChanged | ledger.LoanRepaid


def loan_balances_handler() -> Handler:
    """Each loan's total due, outstanding and paid, as the ledger's events say (newest fact wins)."""

    def handle(envelope: EventEnvelope, conn: psycopg.Connection[Any]) -> None:
        _record_loan_balance(conn, envelope.event())

    return handle


def loan_balances_batch_handler() -> BatchHandler:
    """The loan figures for a batch: each run of repayments, states and payoffs in at most four
    statements; an opened account or a reversal (rare) alone, in its place."""

    def handle_batch(
        envelopes: Sequence[EventEnvelope], conn: psycopg.Connection[Any]
    ) -> Mapping[uuid.UUID, Exception]:
        failed: dict[uuid.UUID, Exception] = {}
        run: list[LoanFact] = []
        for envelope in envelopes:
            try:
                event = envelope.event()
            except Exception as exc:  # retried, then parked, as one by one
                failed[envelope.event_id] = exc
                continue
            if isinstance(event, LoanFact):
                run.append(event)
                continue
            record_loan_facts(conn, run)
            run = []
            try:
                with conn.transaction():  # a savepoint: its failure leaves the batch usable
                    _record_loan_balance(conn, event)
            except Exception as exc:
                failed[envelope.event_id] = exc
        record_loan_facts(conn, run)
        return failed

    return handle_batch


def _record_loan_balance(conn: psycopg.Connection[Any], event: ContractEvent) -> None:
    if isinstance(event, ledger.LoanAccountOpened):
        record_account_opened(conn, event)
    elif isinstance(event, LoanFact):
        record_loan_facts(conn, [event])
    elif isinstance(event, ledger.RepaymentReversed):
        record_reversal(conn, event)


def record_loan_facts(conn: psycopg.Connection[Any], events: Sequence[LoanFact]) -> None:
    """What applying each of ``events`` in turn would make, in at most four statements.

    A receipt counts once, however often it is reported (the first report of it is the one
    kept), and its outstanding applies only when it counts now. A payoff keeps its total paid if
    it is the newest payoff (the first of equals) and says nothing is outstanding. Each loan's
    outstanding is that of the newest fact, the smaller figure of two of the same instant. Sums
    add up in any order and "newest wins" keeps the newest of the run, so one statement per table
    for the whole run leaves the rows as applying the facts one at a time would.
    """
    if not events:
        return
    firsts: dict[tuple[uuid.UUID, str], ledger.RepaymentPosted] = {}
    for event in events:
        if isinstance(event, ledger.RepaymentPosted):
            firsts.setdefault((event.loan_id, event.receipt), event)
    counted = _insert_repayments(conn, [firsts[key] for key in sorted(firsts)])
    paid: dict[uuid.UUID, tuple[int, int, datetime]] = {}
    repaid: dict[uuid.UUID, ledger.LoanRepaid] = {}
    outstanding: dict[uuid.UUID, tuple[datetime, int]] = {}
    for event in events:
        if isinstance(event, ledger.RepaymentPosted):
            if id(event) not in counted:
                log.info("repayment_receipt_already_recorded", loan_id=str(event.loan_id))
                continue
            cents, count, last = paid.get(event.loan_id, (0, 0, event.occurred_at))
            paid[event.loan_id] = (
                cents + event.amount_cents,
                count + 1,
                max(last, event.occurred_at),
            )
            _newest(outstanding, event.loan_id, event.outstanding_cents, event.occurred_at)
        elif isinstance(event, ledger.LoanStatusChanged):
            _newest(outstanding, event.loan_id, event.outstanding_cents, event.occurred_at)
        else:
            kept = repaid.get(event.loan_id)
            if kept is None or kept.occurred_at < event.occurred_at:
                repaid[event.loan_id] = event
            _newest(outstanding, event.loan_id, 0, event.occurred_at)
    loans = sorted(paid)  # one lock order for every process
    if loans:
        conn.execute(
            """INSERT INTO loan_balances (loan_id, receipts_paid_cents, repayments_count, last_repayment_at)
               SELECT * FROM unnest(%b::uuid[], %b::bigint[], %b::integer[], %b::timestamptz[])
               ON CONFLICT (loan_id) DO UPDATE SET updated_at = now(),
                   receipts_paid_cents = loan_balances.receipts_paid_cents + EXCLUDED.receipts_paid_cents,
                   repayments_count = loan_balances.repayments_count + EXCLUDED.repayments_count,
                   last_repayment_at = GREATEST(loan_balances.last_repayment_at, EXCLUDED.last_repayment_at)""",
            (
                loans,
                [paid[loan][0] for loan in loans],
                [paid[loan][1] for loan in loans],
                [paid[loan][2] for loan in loans],
            ),
        )
    payoffs = [repaid[loan] for loan in sorted(repaid)]
    if payoffs:
        conn.execute(
            """INSERT INTO loan_balances (loan_id, repaid_total_paid_cents, repaid_as_of)
               SELECT * FROM unnest(%b::uuid[], %b::bigint[], %b::timestamptz[])
               ON CONFLICT (loan_id) DO UPDATE SET updated_at = now(),
                   repaid_total_paid_cents = CASE
                       WHEN loan_balances.repaid_as_of IS NULL
                           OR loan_balances.repaid_as_of < EXCLUDED.repaid_as_of
                       THEN EXCLUDED.repaid_total_paid_cents
                       ELSE loan_balances.repaid_total_paid_cents END,
                   repaid_as_of = GREATEST(loan_balances.repaid_as_of, EXCLUDED.repaid_as_of)""",
            (
                [e.loan_id for e in payoffs],
                [e.total_paid_cents for e in payoffs],
                [e.occurred_at for e in payoffs],
            ),
        )
    _outstanding_many(conn, outstanding)


def _insert_repayments(
    conn: psycopg.Connection[Any], posted: Sequence[ledger.RepaymentPosted]
) -> set[int]:
    """Record the receipts not recorded yet; returns which of ``posted`` (by ``id``) were new."""
    if not posted:
        return set()
    rows = conn.execute(
        """INSERT INTO loan_repayments (loan_id, receipt, amount_cents, interest_cents, principal_cents,
               fee_cents, suspense_cents, outstanding_cents, payment_method, occurred_at)
           SELECT * FROM unnest(%b::uuid[], %b::text[], %b::bigint[], %b::bigint[], %b::bigint[],
               %b::bigint[], %b::bigint[], %b::bigint[], %b::text[], %b::timestamptz[])
           ON CONFLICT DO NOTHING RETURNING loan_id, receipt""",
        (
            [e.loan_id for e in posted],
            [e.receipt for e in posted],
            [e.amount_cents for e in posted],
            [e.interest_cents for e in posted],
            [e.principal_cents for e in posted],
            [e.fee_cents for e in posted],
            [e.suspense_cents for e in posted],
            [e.outstanding_cents for e in posted],
            [e.payment_method for e in posted],
            [e.occurred_at for e in posted],
        ),
    ).fetchall()
    new = {(row[0], row[1]) for row in rows}
    return {id(e) for e in posted if (e.loan_id, e.receipt) in new}


def record_account_opened(conn: psycopg.Connection[Any], event: ledger.LoanAccountOpened) -> None:
    """The schedule's totals; until a later fact says otherwise, everything due is outstanding."""
    total_due = event.principal_cents + event.total_interest_cents + event.total_fees_cents
    conn.execute(
        """INSERT INTO loan_balances (loan_id, principal_cents, total_interest_cents, total_fees_cents,
               total_due_cents, instalments, disbursed_on, maturity_on, opened_at)
           VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)
           ON CONFLICT (loan_id) DO UPDATE SET principal_cents = EXCLUDED.principal_cents,
               total_interest_cents = EXCLUDED.total_interest_cents,
               total_fees_cents = EXCLUDED.total_fees_cents, total_due_cents = EXCLUDED.total_due_cents,
               instalments = EXCLUDED.instalments, disbursed_on = EXCLUDED.disbursed_on,
               maturity_on = EXCLUDED.maturity_on, opened_at = EXCLUDED.opened_at, updated_at = now()""",
        (
            event.loan_id,
            event.principal_cents,
            event.total_interest_cents,
            event.total_fees_cents,
            total_due,
            event.instalments,
            event.disbursed_on,
            event.maturity_on,
            event.occurred_at,
        ),
    )
    _outstanding(conn, event.loan_id, total_due, event.occurred_at)
    if isinstance(event, ledger.LoanAccountOpenedV2):
        for row in event.schedule:
            conn.execute(
                """INSERT INTO loan_schedule (loan_id, number, due_on, principal_cents, interest_cents,
                       fee_cents) VALUES (%s, %s, %s, %s, %s, %s)
                   ON CONFLICT (loan_id, number) DO UPDATE SET due_on = EXCLUDED.due_on,
                       principal_cents = EXCLUDED.principal_cents,
                       interest_cents = EXCLUDED.interest_cents, fee_cents = EXCLUDED.fee_cents""",
                (
                    event.loan_id,
                    row.number,
                    row.due_on,
                    row.principal_cents,
                    row.interest_cents,
                    row.fee_cents,
                ),
            )


def record_reversal(conn: psycopg.Connection[Any], event: ledger.RepaymentReversed) -> None:
    """The receipt stops counting once, however often the reversal is reported; if the reversal
    overtakes its repayment, the receipt is recorded as reversed and the repayment never counts."""
    row = conn.execute(
        """INSERT INTO loan_repayments (loan_id, receipt, amount_cents, interest_cents, principal_cents,
               fee_cents, suspense_cents, outstanding_cents, payment_method, occurred_at, reversed_at,
               reversal_reason)
           VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
           ON CONFLICT (loan_id, receipt) DO UPDATE SET reversed_at = EXCLUDED.reversed_at,
               reversal_reason = EXCLUDED.reversal_reason
           WHERE loan_repayments.reversed_at IS NULL
           RETURNING (xmax = 0) AS inserted, loan_repayments.amount_cents""",
        (
            event.loan_id,
            event.receipt,
            event.amount_cents,
            event.interest_cents,
            event.principal_cents,
            event.fee_cents,
            event.suspense_cents,
            event.outstanding_cents,
            event.payment_method,
            event.occurred_at,
            event.occurred_at,
            event.reason,
        ),
    ).fetchone()
    if row is None:
        log.info("repayment_reversal_already_recorded", loan_id=str(event.loan_id))
        return
    inserted, amount_cents = row
    counted = 0 if inserted else 1  # a repayment already counted stops counting
    conn.execute(
        """INSERT INTO loan_balances (loan_id, last_reversal_at) VALUES (%s, %s)
           ON CONFLICT (loan_id) DO UPDATE SET updated_at = now(),
               receipts_paid_cents = loan_balances.receipts_paid_cents - %s,
               repayments_count = loan_balances.repayments_count - %s,
               last_reversal_at = GREATEST(loan_balances.last_reversal_at, EXCLUDED.last_reversal_at)""",
        (event.loan_id, event.occurred_at, amount_cents * counted, counted),
    )
    for moved in event.reallocations:
        conn.execute(
            """UPDATE loan_repayments SET interest_cents = %s, principal_cents = %s, fee_cents = %s,
                   suspense_cents = %s, split_as_of = %s
               WHERE loan_id = %s AND receipt = %s
                   AND (split_as_of IS NULL OR split_as_of < %s)""",
            (
                moved.interest_cents,
                moved.principal_cents,
                moved.fee_cents,
                moved.suspense_cents,
                event.occurred_at,
                event.loan_id,
                moved.receipt,
                event.occurred_at,
            ),
        )
    _outstanding(conn, event.loan_id, event.outstanding_cents, event.occurred_at)


def _outstanding(
    conn: psycopg.Connection[Any], loan_id: Any, outstanding_cents: int, as_of: Any
) -> None:
    _outstanding_many(conn, {loan_id: (as_of, outstanding_cents)})


def _newest(
    kept: dict[uuid.UUID, tuple[datetime, int]], loan_id: uuid.UUID, cents: int, as_of: datetime
) -> None:
    """Keep in ``kept`` the outstanding ``_outstanding_many`` would keep of the facts offered."""
    current = kept.get(loan_id)
    if current is None or current[0] < as_of or (current[0] == as_of and cents < current[1]):
        kept[loan_id] = (as_of, cents)


def _outstanding_many(
    conn: psycopg.Connection[Any], facts: Mapping[Any, tuple[datetime, int]]
) -> None:
    """Keep each loan's outstanding of the newest fact (loan -> (as of, outstanding)); two facts
    of the same instant keep the smaller figure, so the result does not depend on the order they
    arrive in."""
    if not facts:
        return
    loans = sorted(facts)  # one lock order for every process
    conn.execute(
        """INSERT INTO loan_balances (loan_id, outstanding_cents, outstanding_as_of)
           SELECT * FROM unnest(%b::uuid[], %b::bigint[], %b::timestamptz[])
           ON CONFLICT (loan_id) DO UPDATE SET outstanding_cents = EXCLUDED.outstanding_cents,
               outstanding_as_of = EXCLUDED.outstanding_as_of, updated_at = now()
           WHERE loan_balances.outstanding_as_of IS NULL
               OR loan_balances.outstanding_as_of < EXCLUDED.outstanding_as_of
               OR (loan_balances.outstanding_as_of = EXCLUDED.outstanding_as_of
                   AND EXCLUDED.outstanding_cents < loan_balances.outstanding_cents)""",
        (loans, [facts[loan][1] for loan in loans], [facts[loan][0] for loan in loans]),
    )


# Staff from identity


def staff_handler() -> Handler:
    """The local staff projection: who each user is, their role, and whether they may still work."""

    def handle(envelope: EventEnvelope, conn: psycopg.Connection[Any]) -> None:
        event = envelope.event()
        if isinstance(event, identity.UserCreated):
            record_user_created(conn, event)
        elif isinstance(event, identity.UserRoleChanged):
            conn.execute(
                """INSERT INTO staff (user_id, role, regions, branch_id, role_as_of) VALUES (%s, %s, %s, %s, %s)
                   ON CONFLICT (user_id) DO UPDATE SET role = EXCLUDED.role, regions = EXCLUDED.regions,
                       branch_id = EXCLUDED.branch_id, role_as_of = EXCLUDED.role_as_of, updated_at = now()
                   WHERE staff.role_as_of IS NULL OR staff.role_as_of < EXCLUDED.role_as_of""",
                (
                    event.user_id,
                    event.role,
                    Jsonb(event.regions),
                    event.branch_id,
                    event.occurred_at,
                ),
            )
        elif isinstance(event, identity.BranchOpened | identity.BranchDetailsChanged):
            # The newest description wins, whatever order the two arrive in.
            conn.execute(
                """INSERT INTO branches (branch_id, name, code, location, as_of)
                   VALUES (%s, %s, %s, %s, %s)
                   ON CONFLICT (branch_id) DO UPDATE SET name = EXCLUDED.name, code = EXCLUDED.code,
                       location = EXCLUDED.location, as_of = EXCLUDED.as_of, updated_at = now()
                   WHERE branches.as_of < EXCLUDED.as_of""",
                (str(event.branch_id), event.name, event.code, event.location, event.occurred_at),
            )
        elif isinstance(event, identity.UserDeactivated | identity.UserReactivated):
            conn.execute(
                """INSERT INTO staff (user_id, active, active_as_of) VALUES (%s, %s, %s)
                   ON CONFLICT (user_id) DO UPDATE SET active = EXCLUDED.active,
                       active_as_of = EXCLUDED.active_as_of, updated_at = now()
                   WHERE staff.active_as_of IS NULL OR staff.active_as_of < EXCLUDED.active_as_of""",
                (
                    event.user_id,
                    isinstance(event, identity.UserReactivated),
                    event.occurred_at,
                ),
            )

    return handle


def record_user_created(conn: psycopg.Connection[Any], event: identity.UserCreated) -> None:
    """Name and username come only from here; role and active state only if nothing newer set them."""
    conn.execute(
        """INSERT INTO staff (user_id, username, name, role, regions, branch_id, role_as_of, active,
               active_as_of, created_at)
           VALUES (%s, %s, %s, %s, %s, %s, %s, true, %s, %s)
           ON CONFLICT (user_id) DO UPDATE SET username = EXCLUDED.username, name = EXCLUDED.name,
               created_at = EXCLUDED.created_at, updated_at = now(),
               role = CASE WHEN staff.role_as_of IS NULL OR staff.role_as_of < EXCLUDED.role_as_of
                   THEN EXCLUDED.role ELSE staff.role END,
               regions = CASE WHEN staff.role_as_of IS NULL OR staff.role_as_of < EXCLUDED.role_as_of
                   THEN EXCLUDED.regions ELSE staff.regions END,
               branch_id = CASE WHEN staff.role_as_of IS NULL OR staff.role_as_of < EXCLUDED.role_as_of
                   THEN EXCLUDED.branch_id ELSE staff.branch_id END,
               role_as_of = GREATEST(staff.role_as_of, EXCLUDED.role_as_of),
               active = CASE WHEN staff.active_as_of IS NULL OR staff.active_as_of < EXCLUDED.active_as_of
                   THEN true ELSE staff.active END,
               active_as_of = GREATEST(staff.active_as_of, EXCLUDED.active_as_of)""",
        (
            event.user_id,
            event.username,
            event.name,
            event.role,
            Jsonb(event.regions),
            event.branch_id,
            event.occurred_at,
            event.occurred_at,
            event.occurred_at,
        ),
    )
