"""The gateway's confirmations in batches: one transaction and one group commit per batch, each
receipt posted once (the same batch twice, the same message twice, the same receipt under two
envelopes), an early or conflicting one set aside while the rest posts, and replay equal to live."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from typing import Any

import nats
from fastapi.testclient import TestClient

from hazina_contracts.envelope import EventEnvelope
from hazina_contracts.subjects import Stream
from hazina_ledger.bootstrap import Container
from hazina_ledger.cli import replay
from hazina_servicekit.messaging import ensure_stream


def deliver_batch(container: Container, envelopes: Sequence[EventEnvelope]) -> dict[Any, Any]:
    """What servicekit's batch mode does with the new messages of a batch: one transaction."""
    with container.pool.connection() as conn, conn.transaction():
        return dict(container.inbox.handle_batch(envelopes, conn))


def stored_events(container: Container) -> int:
    with container.pool.connection() as conn:
        row = conn.execute("SELECT count(*) FROM ledger_events").fetchone()
    return int(row[0]) if row else 0


def paid(client: TestClient, staff: Any, loan_id: uuid.UUID) -> tuple[int, list[str]]:
    body = client.get(f"/api/repayments/{loan_id}", headers=staff.headers("approver_admin")).json()
    return body["total_paid_cents"], sorted(r["_id"] for r in body["repayments"])


def savings(client: TestClient, staff: Any, client_id: uuid.UUID) -> int:
    body = client.get(
        f"/api/clients/{client_id}/accounts", headers=staff.headers("approver_admin")
    ).json()
    return int(body["savings_cents"])


def test_a_batch_posts_in_one_commit_and_again_changes_nothing(
    client: TestClient, container: Container, staff: Any, h: Any
) -> None:
    loans = [h.open_loan(container)[0] for _ in range(3)]
    saver, stranger = uuid.uuid4(), uuid.uuid4()
    envelopes = [
        *(
            h.envelope(h.payment_received(f"BRP{n}{i}", 10_000 * (i + 1), loan_id=loan))
            for n in range(2)
            for i, loan in enumerate(loans)
        ),
        # one hot account: every deposit of the batch to the same savings
        *(
            h.envelope(h.payment_received(f"BDP{n}", 5_000, client_id=saver, target="savings"))
            for n in range(5)
        ),
        h.envelope(h.payment_received("BUNALLOC1", 7_000, target="unallocated")),
        h.envelope(h.payment_received("BEARLY1", 9_000, loan_id=stranger)),  # loan not here yet
        # the same receipt again under another envelope (a republished callback)...
        h.envelope(h.payment_received("BRP00", 10_000, loan_id=loans[0])),
        # ...and once more for another amount: a conflict, flagged, never posted
        h.envelope(h.payment_received("BRP01", 99_000, loan_id=loans[1])),
    ]
    writer = container.ledger.writer
    batches, before = writer.batches, stored_events(container)

    assert deliver_batch(container, envelopes) == {}

    assert writer.batches == batches + 1  # one commit for the whole batch
    assert writer.fallbacks == 0
    container.projection.catch_up()
    for i, loan in enumerate(loans):
        assert paid(client, staff, loan) == (2 * 10_000 * (i + 1), [f"BRP0{i}", f"BRP1{i}"])
    assert savings(client, staff, saver) == 25_000
    parked = container.inbox.parked()
    assert [p["waitingFor"] for p in parked] == [f"loan:{stranger}"]
    conflicts = client.get(
        "/api/repayments/conflicts", headers=staff.headers("approver_admin")
    ).json()
    assert [(c["receipt"], c["amount_cents"]) for c in conflicts] == [("BRP01", 99_000)]

    stored = stored_events(container)
    assert stored > before
    # The same batch delivered again (its processed-message records lost, say): nothing new.
    assert deliver_batch(container, envelopes) == {}
    container.projection.catch_up()
    assert stored_events(container) == stored  # the conflict is not flagged twice either
    for i, loan in enumerate(loans):
        assert paid(client, staff, loan)[0] == 2 * 10_000 * (i + 1)
    assert savings(client, staff, saver) == 25_000

    report = replay(container, quiet=True)  # every entry balances; replay equals live
    assert report.ok, report.checks


async def _publish(url: str, rounds: list[list[tuple[EventEnvelope, str]]]) -> None:
    nc = await nats.connect(url)
    try:
        js = nc.jetstream()
        await ensure_stream(js, Stream.PAYMENTS)
        for published in rounds:
            for env, msg_id in published:
                await js.publish(env.subject, env.to_bytes(), headers={"Nats-Msg-Id": msg_id})
    finally:
        await nc.close()


async def _consume(url: str, container: Container, expected: int) -> Any:
    """The service's own payments consumer, in batch mode, until ``expected`` messages are done."""
    nc = await nats.connect(url)
    try:
        consumer = container.service.durable_consumer(nc.jetstream(), "payments")
        assert consumer.batch_handler is not None
        sub = await consumer.subscribe()
        while consumer.processed + consumer.duplicates < expected:
            await consumer.handle_batch(await consumer.next_messages(sub, wait_seconds=5.0))
        await sub.unsubscribe()
        return consumer
    finally:
        await nc.close()


def test_the_payments_consumer_posts_each_receipt_once_through_nats(
    client: TestClient, container: Container, staff: Any, h: Any, nats_url: str
) -> None:
    loan_id, _ = h.open_loan(container)
    envelopes = [
        h.envelope(h.payment_received(f"NB{n:03d}", 1_000, loan_id=loan_id)) for n in range(40)
    ]
    first = [(e, f"a{e.event_id}") for e in envelopes]
    first.insert(10, (envelopes[3], f"b{envelopes[3].event_id}"))  # a message twice in a batch
    again = [(e, f"c{e.event_id}") for e in envelopes]  # the whole batch redelivered
    asyncio.run(_publish(nats_url, [first, again]))

    consumer = asyncio.run(_consume(nats_url, container, len(first) + len(again)))

    assert consumer.processed == 40
    assert consumer.duplicates == 41
    container.projection.catch_up()
    total, receipts = paid(client, staff, loan_id)
    assert total == 40_000
    assert receipts == [f"NB{n:03d}" for n in range(40)]
    assert container.ledger.writer.fallbacks == 0
    with container.pool.connection() as conn:
        assert conn.execute(
            "SELECT count(*) FROM processed_messages WHERE consumer = 'ledger-payments'"
        ).fetchone() == (40,)
