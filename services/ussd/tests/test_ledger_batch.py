"""The ledger consumer in batch mode, over real NATS and PostgreSQL: the same ledger facts, one
message per transaction for one borrower and in batches (a message twice in a batch, the batch
redelivered, facts out of order) for another, leave the same loan rows and the same SMS."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from nats.js import JetStreamContext
from ussd_harness import World

from hazina_contracts.envelope import EventEnvelope
from hazina_contracts.events import ledger
from hazina_contracts.events.base import ContractEvent
from hazina_contracts.subjects import Stream
from hazina_servicekit.messaging import ensure_stream
from hazina_servicekit.testing import envelope, handle_alone, handle_in_batches, with_jetstream
from hazina_ussd.bootstrap import Container

T0 = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
Rounds = list[list[EventEnvelope]]


def story(loan_id: uuid.UUID, client_id: uuid.UUID) -> Rounds:
    ids = {"loan_id": loan_id, "client_id": client_id}

    def posted(receipt: str, amount: int, outstanding: int, days: int) -> EventEnvelope:
        return env(
            ledger.RepaymentPosted(
                occurred_at=T0 + timedelta(days=days),
                receipt=receipt,
                amount_cents=amount,
                interest_cents=amount // 4,
                principal_cents=amount - amount // 4,
                suspense_cents=0,
                outstanding_cents=outstanding,
                payment_method="mpesa",
                **ids,
            )
        )

    def env(event: ContractEvent) -> EventEnvelope:
        return envelope(event)

    r1 = posted("QAB1CD2EF3", 3_000_00, 9_000_00, 30)
    r2 = posted("QAB1CD2EF4", 2_000_00, 7_000_00, 60)
    r3 = posted("QAB1CD2EF5", 1_000_00, 6_000_00, 70)
    r4 = posted("QAB1CD2EF6", 1_000_00, 5_000_00, 80)
    arrears = env(
        ledger.LoanStatusChanged(
            occurred_at=T0 + timedelta(days=50),
            status="in_arrears",
            days_past_due=10,
            outstanding_cents=9_000_00,
            **ids,
        )
    )
    saved = env(
        ledger.SavingsBalanceChanged(
            occurred_at=T0 + timedelta(days=61),
            client_id=client_id,
            balance_cents=500_00,
            change_cents=500_00,
            reason="deposit",
            transaction_id="QAB1CD2EF9",
        )
    )
    first = [r1, r1, arrears, saved, r2]
    return [first, list(first), [r3, r4, r2]]  # the first batch redelivered; r2 again later


def rows(container: Container, loan_id: uuid.UUID) -> dict[str, list[tuple[Any, ...]]]:
    queries = {
        "loan": """SELECT ledger_status, paid_principal_cents, paid_interest_cents,
               paid_fees_cents, outstanding_cents, days_past_due, ever_in_arrears
           FROM borrower_loans WHERE loan_id = %s""",
        "movements": """SELECT key, kind, amount_cents, occurred_at FROM borrower_movements
           WHERE loan_id = %s AND kind <> 'disbursement' ORDER BY key""",  # the disbursement's is the harness's now
        "sms": """SELECT s.kind, s.text FROM sms_messages s
           JOIN borrower_loans l ON l.client_id = s.client_id
           WHERE l.loan_id = %s ORDER BY s.key""",
    }
    with container.pool.connection() as conn:
        return {k: [tuple(r) for r in conn.execute(q, (loan_id,))] for k, q in queries.items()}  # type: ignore[call-overload]


def test_ledger_facts_in_batches_equal_one_message_at_a_time(
    world: World, container: Container, nats_url: str
) -> None:
    borrowers = []
    for phone in ("254711000101", "254711000102"):
        client_id = world.client(phone, national_id=phone[-8:])
        borrowers.append((world.disbursed_loan(client_id), client_id))
    (alone_loan, alone_client), (batched_loan, batched_client) = borrowers

    async def main(js: JetStreamContext) -> None:
        await ensure_stream(js, Stream.LEDGER)
        declared = container.service.durable_consumer(js, "ledger")
        await handle_alone(js, declared, story(alone_loan, alone_client))
        rounds = story(batched_loan, batched_client)
        consumer = await handle_in_batches(js, declared, rounds)
        assert consumer.batches == len(rounds) and consumer.parked == 0
        assert (consumer.processed, consumer.duplicates) == (6, 7)

    with_jetstream(nats_url, main)
    expected = rows(container, alone_loan)
    assert rows(container, batched_loan) == expected
    assert [kind for kind, _ in expected["sms"]] == ["payment"] * 4  # a receipt texted once
    assert expected["loan"][0][4] == 5_000_00  # the last applied


def test_a_repayment_reported_again_under_a_new_event_id_counts_once(
    world: World, container: Container, nats_url: str
) -> None:
    """The receipt is the fact: a ledger that publishes it again (a replay, a retried relay)
    gives it a new event id, and the borrower's paid total must not grow."""
    client_id = world.client("254711000103", national_id="11000103")
    loan_id = world.disbursed_loan(client_id)
    ids = {"loan_id": loan_id, "client_id": client_id}
    posted = ledger.RepaymentPosted(
        occurred_at=T0 + timedelta(days=30),
        receipt="QAB1CD2EG1",
        amount_cents=3_000_00,
        interest_cents=750_00,
        principal_cents=2_250_00,
        suspense_cents=0,
        outstanding_cents=9_000_00,
        payment_method="mpesa",
        **ids,
    )
    reversed_ = ledger.RepaymentReversed(
        occurred_at=T0 + timedelta(days=31),
        receipt="QAB1CD2EG1",
        amount_cents=3_000_00,
        interest_cents=750_00,
        principal_cents=2_250_00,
        fee_cents=0,
        suspense_cents=0,
        payment_method="mpesa",
        reason="bounced",
        reversed_on=(T0 + timedelta(days=31)).date(),
        outstanding_cents=12_000_00,
        total_paid_cents=0,
        reopened=False,
        **ids,
    )

    def paid() -> tuple[Any, ...]:
        _, principal, interest, _, outstanding, *_ = rows(container, loan_id)["loan"][0]
        return principal, interest, outstanding

    seen: list[tuple[Any, ...]] = []

    async def main(js: JetStreamContext) -> None:
        await ensure_stream(js, Stream.LEDGER)
        declared = container.service.durable_consumer(js, "ledger")
        await handle_alone(js, declared, [[envelope(posted)], [envelope(posted)]])
        seen.append(paid())
        await handle_in_batches(js, declared, [[envelope(posted), envelope(reversed_)]])
        await handle_alone(js, declared, [[envelope(reversed_)]])
        seen.append(paid())

    with_jetstream(nats_url, main)
    assert seen == [(2_250_00, 750_00, 9_000_00), (0, 0, 12_000_00)]
    sms = rows(container, loan_id)["sms"]
    assert [kind for kind, _ in sms] == ["payment"]  # texted once
