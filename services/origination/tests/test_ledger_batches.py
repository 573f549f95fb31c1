"""Origination's two LEDGER consumers in batch mode, over real NATS and PostgreSQL.

The same story of ledger facts goes to a loan one message per transaction (the consumer's
``handler``) and, with other ids, to another loan in batches (the service's own consumer, its
``batch_handler``): out of order, a message twice in one batch, the same fact under a new event
id, the whole batch redelivered. Both loans must end with the same rows, and with the same loan
state where the ledger moves the loan on.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from nats.js import JetStreamContext

from hazina_contracts.envelope import EventEnvelope
from hazina_contracts.events import ledger, payments
from hazina_contracts.events.base import ContractEvent
from hazina_contracts.subjects import Stream
from hazina_servicekit.consumer import DurableConsumer
from hazina_servicekit.messaging import ensure_stream
from hazina_servicekit.testing import (
    envelope,
    handle_alone,
    handle_each,
    handle_in_batches,
    with_jetstream,
)

T0 = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
Rounds = list[list[EventEnvelope]]


def day(n: int) -> datetime:
    return T0 + timedelta(days=n)


class Story:
    """Envelopes of one loan's (or client's) facts; ``again`` is the same fact under a new event id."""

    def __init__(self) -> None:
        self.sent: dict[str, EventEnvelope] = {}

    def add(self, name: str, event: ContractEvent) -> EventEnvelope:
        self.sent[name] = envelope(event, correlation_id=f"corr-{name}")
        return self.sent[name]

    def again(self, name: str) -> EventEnvelope:
        first = self.sent[name]
        return first.model_copy(update={"event_id": uuid.uuid4()})


def loan_story(loan_id: uuid.UUID, client_id: uuid.UUID) -> Rounds:
    """Three rounds for the loan-balances consumer; each round is one batch in batch mode."""
    s = Story()
    ids = {"loan_id": loan_id, "client_id": client_id}

    def paid(name: str, receipt: str, amount: int, outstanding: int, at: datetime) -> None:
        s.add(
            name,
            ledger.RepaymentPosted(
                occurred_at=at,
                receipt=receipt,
                amount_cents=amount,
                interest_cents=amount // 2,
                principal_cents=amount - amount // 2,
                fee_cents=amount // 100,
                suspense_cents=0,
                outstanding_cents=outstanding,
                payment_method="mpesa",
                **ids,
            ),
        )

    def reversed_(name: str, receipt: str, amount: int, outstanding: int, at: datetime,
                  *, reopened: bool, moves: list[ledger.Reallocation]) -> None:  # fmt: skip
        s.add(
            name,
            ledger.RepaymentReversed(
                occurred_at=at,
                receipt=receipt,
                amount_cents=amount,
                interest_cents=amount // 2,
                principal_cents=amount - amount // 2,
                fee_cents=0,
                suspense_cents=0,
                payment_method="mpesa",
                reason="M-Pesa reversed the C2B payment",
                reversed_on=at.date(),
                reallocations=moves,
                outstanding_cents=outstanding,
                total_paid_cents=3_230_000 - amount,
                reopened=reopened,
                **ids,
            ),
        )

    def status(name: str, value: str, outstanding: int, at: datetime) -> None:
        s.add(
            name,
            ledger.LoanStatusChanged(
                occurred_at=at,
                status=value,  # type: ignore[arg-type]
                days_past_due=0 if value == "current" else 15,
                outstanding_cents=outstanding,
                **ids,
            ),
        )

    def repaid(name: str, at: datetime) -> None:
        s.add(name, ledger.LoanRepaid(occurred_at=at, total_paid_cents=3_230_000, **ids))

    s.add(
        "open",
        ledger.LoanAccountOpenedV2(
            occurred_at=T0,
            principal_cents=2_000_000,
            total_interest_cents=1_200_000,
            total_fees_cents=30_000,
            instalments=2,
            disbursed_on=T0.date(),
            maturity_on=date(2026, 5, 2),
            schedule=[
                ledger.ScheduledInstalment(
                    number=n,
                    due_on=date(2026, 3 + n, 2),
                    principal_cents=1_000_000,
                    interest_cents=600_000,
                    fee_cents=15_000,
                )
                for n in (1, 2)
            ],
            **ids,
        ),
    )
    paid("r1", "RCP1AAA", 600_000, 2_630_000, day(30))
    paid("r2", "RCP2BBB", 700_000, 1_930_000, day(60))
    paid("r3", "RCP3CCC", 1_930_000, 0, day(90))
    paid("r4", "RCP4DDD", 250_000, 450_000, day(100))
    paid("r5", "RCP5EEE", 700_000, 0, day(110))
    paid("r6", "RCP6FFF", 300_000, 400_000, day(105))
    status("stale", "in_arrears", 2_630_000, day(45))
    status("same-instant", "current", 1_950_000, day(60))  # r2's smaller figure wins
    status("last-instant", "current", 50_000, day(110))  # r5's and the payoff's 0 wins
    repaid("paid", day(90))
    repaid("paid-again", day(110))
    move = ledger.Reallocation(
        receipt="RCP3CCC",
        interest_cents=1_000_000,
        principal_cents=930_000,
        fee_cents=0,
        suspense_cents=0,
    )
    reversed_("rev2", "RCP2BBB", 700_000, 700_000, day(95), reopened=True, moves=[move])
    reversed_("rev4", "RCP4DDD", 250_000, 700_000, day(101), reopened=False, moves=[])
    reversed_("rev6", "RCP6FFF", 300_000, 700_000, day(106), reopened=False, moves=[])
    e = s.sent
    first = [
        e["r2"], e["r1"], e["r1"], s.again("r1"), e["stale"], e["paid"], e["same-instant"],
        e["open"], e["r3"], e["rev4"], e["r4"],
    ]  # fmt: skip
    third = [
        e["r6"], e["rev2"], s.again("rev2"), s.again("r1"), e["paid-again"], e["r5"],
        e["last-instant"], s.again("stale"), e["rev6"],
    ]  # fmt: skip
    return [first, list(first), third]  # the first batch is delivered twice


def savings_story(client_id: uuid.UUID, loan_id: uuid.UUID) -> Rounds:
    """Three rounds for the ledger consumer: savings movements around the loan's states."""
    s = Story()

    def saved(name: str, tx: str, balance: int, change: int, at: datetime) -> None:
        s.add(
            name,
            ledger.SavingsBalanceChanged(
                occurred_at=at,
                client_id=client_id,
                balance_cents=balance,
                change_cents=change,
                reason="deposit",
                transaction_id=tx,
            ),
        )

    def state(name: str, value: str, at: datetime) -> None:
        s.add(
            name,
            ledger.LoanStatusChanged(
                occurred_at=at,
                loan_id=loan_id,
                client_id=client_id,
                status=value,  # type: ignore[arg-type]
                days_past_due=0 if value == "current" else 40,
                outstanding_cents=1_000_000,
            ),
        )

    saved("s1", "TX1", 300_000, 300_000, T0)
    saved("s2", "TX2", 500_000, 200_000, T0 + timedelta(minutes=5))
    saved("s3", "TX3", 450_000, -50_000, T0 + timedelta(minutes=5))  # same instant as s2
    saved("s4", "TX4", 600_000, 150_000, T0 + timedelta(minutes=10))
    saved("s5", "TX5", 650_000, 50_000, T0 + timedelta(minutes=20))
    saved("s6", "TX6", 640_000, -10_000, T0 + timedelta(minutes=20))  # s5's instant: s5 stays
    state("arrears", "in_arrears", day(10))
    state("stale", "current", day(1))
    state("defaulted", "defaulted", day(90))
    s.add(
        "repaid",
        ledger.LoanRepaid(
            occurred_at=day(120), loan_id=loan_id, client_id=client_id, total_paid_cents=2_600_000
        ),
    )
    e = s.sent
    first = [
        e["s2"], e["s1"], e["s1"], s.again("s1"), e["arrears"], e["s3"], e["arrears"],
        e["stale"], s.again("s4"), e["s4"],
    ]  # fmt: skip
    third = [
        e["repaid"], s.again("s1"), e["defaulted"], e["s5"], e["repaid"], s.again("s3"), e["s6"],
    ]  # fmt: skip
    return [first, list(first), third]


@dataclass
class Run:
    alone: DurableConsumer
    batched: DurableConsumer


def run_both(
    nats_url: str, world: Any, durable: str, alone: Rounds, batched: Rounds, stream: Stream
) -> Run:
    async def main(js: JetStreamContext) -> Run:
        await ensure_stream(js, stream)
        declared = world.container.service.durable_consumer(js, durable)
        return Run(
            alone=await handle_alone(js, declared, alone),
            batched=await handle_in_batches(js, declared, batched),
        )

    return with_jetstream(nats_url, main)


def loan_rows(world: Any, loan_id: uuid.UUID) -> dict[str, list[tuple[Any, ...]]]:
    queries = {
        "balances": """SELECT principal_cents, total_interest_cents, total_fees_cents,
               total_due_cents, instalments, disbursed_on, maturity_on, opened_at, outstanding_cents,
               outstanding_as_of, receipts_paid_cents, repayments_count, last_repayment_at,
               repaid_total_paid_cents, repaid_as_of, last_reversal_at
           FROM loan_balances WHERE loan_id = %s""",
        "repayments": """SELECT receipt, amount_cents, interest_cents, principal_cents, fee_cents,
               suspense_cents, outstanding_cents, payment_method, occurred_at, reversed_at,
               reversal_reason, split_as_of
           FROM loan_repayments WHERE loan_id = %s ORDER BY receipt""",
        "schedule": """SELECT number, due_on, principal_cents, interest_cents, fee_cents
           FROM loan_schedule WHERE loan_id = %s ORDER BY number""",
    }
    with world.container.pool.connection() as conn:
        return {k: [tuple(r) for r in conn.execute(q, (loan_id,))] for k, q in queries.items()}  # type: ignore[call-overload]


def savings_rows(world: Any, client_id: uuid.UUID) -> dict[str, list[tuple[Any, ...]]]:
    with world.container.pool.connection() as conn:
        return {
            "balance": [
                tuple(r)
                for r in conn.execute(
                    "SELECT balance_cents, as_of FROM savings_balances WHERE client_id = %s",
                    (client_id,),
                )
            ],
            "movements": [
                tuple(r)
                for r in conn.execute(
                    """SELECT transaction_id, change_cents, balance_cents, reason, occurred_at
                       FROM savings_movements WHERE client_id = %s ORDER BY transaction_id""",
                    (client_id,),
                )
            ],
        }


def test_loan_figures_in_batches_equal_one_message_at_a_time(world: Any, nats_url: str) -> None:
    alone_loan, batched_loan = uuid.uuid4(), uuid.uuid4()
    client_id = uuid.uuid4()
    run = run_both(
        nats_url,
        world,
        "loan-balances",
        loan_story(alone_loan, client_id),
        loan_story(batched_loan, client_id),
        Stream.LEDGER,
    )
    # 11 messages, 10 of them new (r1 twice); all 11 again; 9 new ones.
    assert (run.alone.processed, run.alone.duplicates) == (19, 12)
    assert (run.batched.processed, run.batched.duplicates) == (19, 12)
    assert run.batched.batches == 3 and run.batched.parked == 0

    expected = loan_rows(world, alone_loan)
    assert loan_rows(world, batched_loan) == expected
    [balance] = expected["balances"]
    # RCP1 600,000 + RCP3 1,930,000 + RCP5 700,000: RCP2 and RCP6 reversed after they counted
    # (RCP6 in the same batch), RCP4 reversed before it arrived (in the same batch); the newest
    # fact (day 110) says nothing is owed.
    assert balance[10:12] == (3_230_000, 3)
    assert balance[8:10] == (0, day(110))
    assert balance[13:15] == (3_230_000, day(110))
    reversed_receipts = [r[0] for r in expected["repayments"] if r[9] is not None]
    assert reversed_receipts == ["RCP2BBB", "RCP4DDD", "RCP6FFF"]
    six = next(r for r in expected["repayments"] if r[0] == "RCP6FFF")
    assert (six[6], six[8], six[9]) == (400_000, day(105), day(106))  # posted, then reversed
    split = {r[0]: r[2:4] for r in expected["repayments"]}
    assert split["RCP3CCC"] == (1_000_000, 930_000)  # the reversal's re-allocation
    assert len(expected["schedule"]) == 2


def _disbursed(world: Any, nats_url: str) -> dict[str, Any]:
    officer = world.staff("loan_officer")
    loan = world.approved_loan(officer)
    started = world.ok(
        world.http.post(f"/api/loans/{loan['_id']}/disburse", headers=world.disburser.headers), 202
    )
    done = payments.DisbursementCompleted(
        occurred_at=datetime.now(UTC),
        disbursement_id=uuid.UUID(started["transactionId"]),
        loan_id=uuid.UUID(loan["_id"]),
        amount_cents=2_000_000,
        charge_cents=1300,
        mpesa_receipt="QWE123ABC",
        completed_at=datetime.now(UTC),
    )

    async def body(js: JetStreamContext) -> None:
        await ensure_stream(js, Stream.PAYMENTS)
        consumer = world.container.service.durable_consumer(js, "payments")
        await handle_each(js, consumer, [envelope(done)])
        assert consumer.processed == 1

    with_jetstream(nats_url, body)
    return dict(loan)


def stored_names(world: Any, loan_id: str) -> list[str]:
    return [type(e).__name__ for e in world.container.app.events.get(uuid.UUID(loan_id))]


def test_savings_and_loan_states_in_batches_equal_one_message_at_a_time(
    world: Any, nats_url: str
) -> None:
    alone, batched = _disbursed(world, nats_url), _disbursed(world, nats_url)
    alone_saver, batched_saver = uuid.uuid4(), uuid.uuid4()
    run = run_both(
        nats_url,
        world,
        "ledger",
        savings_story(alone_saver, uuid.UUID(alone["_id"])),
        savings_story(batched_saver, uuid.UUID(batched["_id"])),
        Stream.LEDGER,
    )
    # 10 messages, 8 new (arrears and s1 twice in one batch); all 10 again; 6 new ones.
    assert (run.alone.processed, run.alone.duplicates) == (14, 13)
    assert (run.batched.processed, run.batched.duplicates) == (14, 13)
    assert run.batched.batches == 3 and run.batched.parked == 0

    expected = savings_rows(world, alone_saver)
    assert savings_rows(world, batched_saver) == expected
    assert expected["balance"] == [(650_000, T0 + timedelta(minutes=20))]
    assert [m[0] for m in expected["movements"]] == ["TX1", "TX2", "TX3", "TX4", "TX5", "TX6"]

    for loan in (alone, batched):
        detail = world.loan(loan["_id"])
        assert detail["status"] == "repaid"
        names = stored_names(world, loan["_id"])
        assert names.count("Repaid") == 1 and names.count("LedgerStatusChanged") == 1
    assert stored_names(world, alone["_id"])[-3:] == stored_names(world, batched["_id"])[-3:]
