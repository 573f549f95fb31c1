"""A consumer in batch mode, over real NATS and PostgreSQL: many messages, one transaction, each
effect once (the same batch twice, the same message twice in a batch), a bad message parked while
the rest of its batch commits, and a batch whose handler breaks taken apart message by message."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import nats
import psycopg
import pytest
from eventsourcing.application import Application
from nats.js.api import ConsumerConfig, DeliverPolicy

from hazina_contracts.envelope import EventEnvelope
from hazina_servicekit.consumer import DurableConsumer, subject_matches
from hazina_servicekit.database import ensure_schema, open_pool
from hazina_servicekit.eventstore import postgres_env
from hazina_servicekit.messaging import ensure_all_streams
from hazina_servicekit.parking import ParkingLot

pytestmark = pytest.mark.integration

SUBJECT = "ledger.till.counted"


class Tills(Application[uuid.UUID]):
    name = "tills"


@pytest.fixture
def tills(database_url: str) -> Iterator[tuple[Any, ParkingLot]]:
    ensure_schema(database_url, "tills")
    pool = open_pool(database_url, "tills")
    app = Tills(env=postgres_env(database_url, "tills"))
    with pool.connection() as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS till_counts (event_id uuid, cents bigint)")
    try:
        yield pool, ParkingLot(pool, app)
    finally:
        app.close()
        pool.close()


def counted(cents: int) -> EventEnvelope:
    return EventEnvelope(
        event_id=uuid.uuid4(),
        type="TestTillCounted",
        version=1,
        occurred_at="2026-11-30T10:00:00Z",
        producer="tills",
        correlation_id="c",
        subject=SUBJECT,
        data={"cents": cents},
    )


class Counter:
    """Handlers that write each message's cents; ``bad`` amounts cannot be applied."""

    def __init__(self, bad: set[int] | None = None, *, broken: bool = False) -> None:
        self.bad = bad or set()
        self.broken = broken
        self.batches: list[list[int]] = []
        self.alone: list[int] = []

    def one(self, envelope: EventEnvelope, conn: psycopg.Connection[Any]) -> None:
        if envelope.data["cents"] in self.bad:
            raise ValueError("cannot count this till")
        conn.execute(
            "INSERT INTO till_counts VALUES (%s, %s)", (envelope.event_id, envelope.data["cents"])
        )
        self.alone.append(envelope.data["cents"])

    def many(
        self, envelopes: Sequence[EventEnvelope], conn: psycopg.Connection[Any]
    ) -> Mapping[uuid.UUID, Exception]:
        if self.broken:
            raise RuntimeError("the batch handler is broken")
        self.batches.append([e.data["cents"] for e in envelopes])
        good = [e for e in envelopes if e.data["cents"] not in self.bad]
        with conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO till_counts VALUES (%s, %s)",
                [(e.event_id, e.data["cents"]) for e in good],
            )
        return {
            e.event_id: ValueError("cannot count this till")
            for e in envelopes
            if e.data["cents"] in self.bad
        }


def rows(pool: Any) -> list[tuple[uuid.UUID, int]]:
    with pool.connection() as conn:
        return [tuple(r) for r in conn.execute("SELECT event_id, cents FROM till_counts")]  # type: ignore[misc]


def till_counts(js: Any, pool: Any, counter: Counter, name: str, **options: Any) -> DurableConsumer:
    """The consumer under test: ``counter``'s handlers for the till counts on the LEDGER stream."""
    return DurableConsumer(
        js=js,
        pool=pool,
        service="tills",
        name=name,
        stream="LEDGER",
        subjects=[SUBJECT],
        handler=counter.one,
        batch_handler=counter.many,
        **options,
    )


async def _deliver(
    nats_url: str,
    pool: Any,
    counter: Counter,
    rounds: list[list[tuple[EventEnvelope, str]]],
    **options: Any,
) -> DurableConsumer:
    """Publish each round (envelope, message id), then let the consumer take it as one batch."""
    nc = await nats.connect(nats_url)
    try:
        js = nc.jetstream()
        await ensure_all_streams(js)
        consumer = till_counts(js, pool, counter, "counts", **options)
        sub = await consumer.subscribe()
        for published in rounds:
            for env, msg_id in published:
                await js.publish(SUBJECT, env.to_bytes(), headers={"Nats-Msg-Id": msg_id})
            taken: list[Any] = []
            while len(taken) < len(published):  # all of the round, however fetch splits it
                taken += await consumer.next_messages(sub, wait_seconds=5.0)
            await consumer.handle_batch(taken)
        return consumer
    finally:
        await nc.close()


def test_the_same_batch_twice_and_a_message_twice_in_a_batch_apply_once(
    tills: Any, nats_url: str
) -> None:
    pool, _ = tills
    a, b, c = counted(100), counted(200), counted(300)
    first = [(a, "a1"), (b, "b1"), (c, "c1"), (b, "b2")]  # b twice in one batch
    again = [(a, "a3"), (b, "b3"), (c, "c3")]  # the whole batch redelivered
    counter = Counter()
    consumer = asyncio.run(_deliver(nats_url, pool, counter, [first, again]))

    assert counter.batches == [[100, 200, 300]]  # the second batch had nothing new
    assert sorted(rows(pool)) == sorted([(a.event_id, 100), (b.event_id, 200), (c.event_id, 300)])
    assert (consumer.processed, consumer.duplicates, consumer.batches) == (3, 4, 2)
    with pool.connection() as conn:
        assert conn.execute(
            "SELECT count(*) FROM processed_messages WHERE consumer = 'tills-counts'"
        ).fetchone() == (3,)


def test_a_message_that_cannot_be_applied_is_parked_and_the_rest_of_its_batch_commits(
    tills: Any, nats_url: str
) -> None:
    pool, lot = tills
    good, bad, later = counted(100), counted(666), counted(300)
    counter = Counter(bad={666})
    consumer = asyncio.run(
        _deliver(
            nats_url,
            pool,
            counter,
            [[(good, "g"), (bad, "x"), (later, "l")]],
            parking=lot,
            max_deliver=1,
        )
    )
    assert sorted(c for _, c in rows(pool)) == [100, 300]
    assert (consumer.processed, consumer.parked, consumer.dead_lettered) == (2, 1, 1)
    parked, _ = lot.find(source="tills-counts")
    assert [(r.reference, r.status, r.error_type) for r in parked] == [
        (str(bad.event_id), "parked", "ValueError")
    ]
    with pool.connection() as conn:  # released from the batch: its retry will apply it
        assert conn.execute(
            "SELECT count(*) FROM processed_messages WHERE event_id = %s", (bad.event_id,)
        ).fetchone() == (0,)
    counter.bad.clear()  # the fix; staff retry it alone
    assert lot.retry(parked[0].id, by=None).applied
    assert sorted(c for _, c in rows(pool)) == [100, 300, 666]


def test_a_batch_whose_handler_breaks_is_applied_message_by_message(
    tills: Any, nats_url: str
) -> None:
    pool, _ = tills
    envelopes = [counted(100 * n) for n in range(1, 5)]
    counter = Counter(broken=True)
    consumer = asyncio.run(
        _deliver(nats_url, pool, counter, [[(e, str(e.event_id)) for e in envelopes]])
    )
    assert counter.alone == [100, 200, 300, 400]  # in order, each once
    assert sorted(c for _, c in rows(pool)) == [100, 200, 300, 400]
    assert consumer.processed == 4


def test_subjects_match_by_the_rules_of_nats() -> None:
    assert subject_matches(["ledger.till.counted"], "ledger.till.counted")
    assert not subject_matches(["ledger.till.counted"], "ledger.till.opened")
    assert subject_matches(["ledger.till.*"], "ledger.till.opened")
    assert not subject_matches(["ledger.till.*"], "ledger.till.opened.late")
    assert subject_matches(["ledger.>"], "ledger.till.opened.late")
    assert not subject_matches(["ledger.>"], "ledger")
    assert not subject_matches(["ledger.*.counted"], "ledger.till")


def test_messages_on_subjects_it_does_not_take_are_acknowledged_unread(
    tills: Any, nats_url: str
) -> None:
    """A NATS server older than 2.10 ignores ``filter_subjects`` and delivers the whole stream."""
    pool, _ = tills
    counter = Counter()

    async def deliver() -> tuple[DurableConsumer, list[int], int]:
        nc = await nats.connect(nats_url)
        try:
            js = nc.jetstream()
            await ensure_all_streams(js)
            consumer = till_counts(js, pool, counter, "unfiltered")
            # What an old server gives: a durable on the whole stream.
            sub = await js.pull_subscribe(
                "ledger.>",
                durable="tills-unfiltered",
                stream="LEDGER",
                config=ConsumerConfig(deliver_policy=DeliverPolicy.NEW),
            )
            wanted, other = counted(100), counted(200)
            await js.publish(SUBJECT, wanted.to_bytes())
            await js.publish("ledger.till.opened", other.to_bytes())
            taken: list[Any] = []
            deadline = asyncio.get_running_loop().time() + 30
            while len(taken) < 2 and asyncio.get_running_loop().time() < deadline:
                with contextlib.suppress(TimeoutError):
                    taken += await sub.fetch(2 - len(taken), timeout=1.0)
            ours = await consumer._ours(taken)  # the part an old server needs
            await consumer.handle_batch(ours)
            # An acknowledgement is a message to the server, applied as it arrives: ask until
            # both are in (a busy machine delays them; a missing one never comes).
            pending = (await sub.consumer_info()).num_ack_pending
            deadline = asyncio.get_running_loop().time() + 120
            while pending and asyncio.get_running_loop().time() < deadline:
                await asyncio.sleep(0.05)
                pending = (await sub.consumer_info()).num_ack_pending
            return consumer, [m.subject == SUBJECT for m in ours], pending
        finally:
            await nc.close()

    consumer, ours, unacknowledged = asyncio.run(deliver())
    assert ours == [True]
    assert consumer.not_ours == 1
    assert unacknowledged == 0  # both acknowledged: the other one without being read
    assert counter.batches == [[100]]
