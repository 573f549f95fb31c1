"""The outbox relay and durable consumers against real PostgreSQL and real NATS.

Goal: an event stored is published even if NATS was down when it was stored; a relay that dies
between publishing and recording its position does not cause a second effect; a consumer given
the same message twice applies it once; a message that keeps failing is dead-lettered.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import nats
import psycopg
import pytest
from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event
from pydantic import AwareDatetime

from hazina_contracts.envelope import EventEnvelope
from hazina_contracts.events.base import ContractEvent
from hazina_contracts.subjects import Stream
from hazina_servicekit import infra
from hazina_servicekit.consumer import DurableConsumer
from hazina_servicekit.database import ensure_schema, open_pool
from hazina_servicekit.eventstore import postgres_env
from hazina_servicekit.messaging import ensure_all_streams
from hazina_servicekit.outbox import OutboxRelay

pytestmark = pytest.mark.integration


class TillOpened(ContractEvent):
    """A test-only contract event (not published by any service)."""

    TYPE: ClassVar[str] = "TestTillOpened"
    VERSION: ClassVar[int] = 1
    STREAM: ClassVar[Stream] = Stream.LEDGER
    AGGREGATE: ClassVar[str] = "till"
    EVENT: ClassVar[str] = "opened"
    till_id: uuid.UUID
    float_cents: int
    occurred_at: AwareDatetime


class Till(Aggregate):
    @event("Opened")
    def __init__(self, float_cents: int, correlation_id: str) -> None:
        self.float_cents = float_cents

    @event("Counted")
    def count(self) -> None:
        """Private: never leaves the service."""


class Tills(Application):
    name = "tills"


def to_contract(domain_event: Any) -> ContractEvent | None:
    if isinstance(domain_event, Till.Opened):
        return TillOpened(
            till_id=domain_event.originator_id,
            float_cents=domain_event.float_cents,
            occurred_at=domain_event.timestamp,
        )
    return None


@pytest.fixture
def tills(database_url: str) -> Iterator[tuple[Tills, Any]]:
    ensure_schema(database_url, "tills")
    pool = open_pool(database_url, "tills")
    app = Tills(env=postgres_env(database_url, "tills"))
    try:
        yield app, pool
    finally:
        app.close()
        pool.close()


def _open_tills(app: Tills, n: int) -> list[Till]:
    tills = []
    for i in range(n):
        till = Till(float_cents=100 * (i + 1), correlation_id=f"corr-{i}")
        till.count()
        tills.append(till)
    app.save(*tills)
    return tills


async def _stream_subjects(js: Any, stream: str) -> list[EventEnvelope]:
    info = await js.stream_info(stream)
    out = []
    for seq in range(info.state.first_seq, info.state.last_seq + 1):
        msg = await js.get_msg(stream, seq)
        out.append(EventEnvelope.from_bytes(msg.data))
    return out


def test_relay_publishes_mapped_events_once_with_their_correlation(
    tills: Any, nats_url: str
) -> None:
    app, pool = tills

    async def scenario() -> None:
        nc = await nats.connect(nats_url)
        js = nc.jetstream()
        await ensure_all_streams(js)
        stored = _open_tills(app, 3)
        relay = OutboxRelay(app=app, js=js, pool=pool, producer="tills", to_contract=to_contract)
        assert await relay.publish_once() == 6  # three opened, three private counts read past
        assert await relay.publish_once() == 0
        envelopes = await _stream_subjects(js, "LEDGER")
        assert [e.data["float_cents"] for e in envelopes] == [100, 200, 300]
        assert [e.correlation_id for e in envelopes] == ["corr-0", "corr-1", "corr-2"]
        assert {e.data["till_id"] for e in envelopes} == {str(t.id) for t in stored}
        assert all(e.subject == "ledger.till.opened" and e.producer == "tills" for e in envelopes)
        await nc.close()

    asyncio.run(scenario())


def test_events_stored_while_nats_is_down_are_published_when_it_returns(
    tills: Any, tmp_path: Path
) -> None:
    app, pool = tills
    server = infra.start_nats(tmp_path / "nats")
    url = server.url
    port = int(url.rsplit(":", 1)[1])

    async def scenario() -> None:
        nonlocal server
        nc = await nats.connect(url, max_reconnect_attempts=-1, reconnect_time_wait=0.2)
        js = nc.jetstream()
        await ensure_all_streams(js)
        relay = OutboxRelay(
            app=app,
            js=js,
            pool=pool,
            producer="tills",
            to_contract=to_contract,
            publish_timeout=0.5,
        )
        server.stop()  # NATS goes away
        _open_tills(app, 2)  # the business carries on: events are stored
        with pytest.raises(Exception):  # noqa: B017 - any publish failure will do
            await relay.publish_once()
        assert relay.positions.get("nats") == 0  # nothing recorded as published
        server = infra.start_nats(tmp_path / "nats", port=port)  # NATS is back, same store
        for _ in range(300):  # up to 30 s: a busy machine reconnects late, never not at all
            if nc.is_connected:
                break
            await asyncio.sleep(0.1)
        assert await relay.publish_once() == 4
        envelopes = await _stream_subjects(js, "LEDGER")
        assert len(envelopes) == 2
        await nc.close()

    try:
        asyncio.run(scenario())
    finally:
        server.stop()


def test_a_relay_killed_after_publishing_causes_no_second_effect(tills: Any, nats_url: str) -> None:
    app, pool = tills
    effects: list[int] = []

    def handler(envelope: EventEnvelope, conn: psycopg.Connection[Any]) -> None:
        effects.append(envelope.data["float_cents"])

    async def scenario() -> None:
        nc = await nats.connect(nats_url)
        js = nc.jetstream()
        await ensure_all_streams(js)
        _open_tills(app, 3)
        doomed = OutboxRelay(app=app, js=js, pool=pool, producer="tills", to_contract=to_contract)

        def crash(*_: Any) -> None:
            raise RuntimeError("killed between publish and recording the position")

        doomed.positions.set = crash  # type: ignore[method-assign]
        with pytest.raises(RuntimeError):
            await doomed.publish_once()
        survivor = OutboxRelay(app=app, js=js, pool=pool, producer="tills", to_contract=to_contract)
        assert await survivor.publish_once() == 6  # re-publishes the same batch...
        assert survivor.published == 0  # ...which JetStream recognises as duplicates
        consumer = DurableConsumer(
            js=js,
            pool=pool,
            service="tills",
            name="effects",
            stream="LEDGER",
            subjects=["ledger.till.opened"],
            handler=handler,
        )
        sub = await consumer.subscribe()
        for msg in await sub.fetch(10, timeout=2):
            await consumer.handle(msg)
        assert sorted(effects) == [100, 200, 300]
        await nc.close()

    asyncio.run(scenario())


def test_a_consumer_applies_the_same_message_once(tills: Any, nats_url: str) -> None:
    _, pool = tills

    def handler(envelope: EventEnvelope, conn: psycopg.Connection[Any]) -> None:
        conn.execute("CREATE TABLE IF NOT EXISTS till_totals (total bigint)")
        conn.execute("INSERT INTO till_totals VALUES (%s)", (envelope.data["float_cents"],))

    async def scenario() -> None:
        nc = await nats.connect(nats_url)
        js = nc.jetstream()
        await ensure_all_streams(js)
        envelope = EventEnvelope(
            event_id=uuid.uuid4(),
            type="TestTillOpened",
            version=1,
            occurred_at="2026-11-23T10:00:00Z",
            producer="tills",
            correlation_id="c",
            subject="ledger.till.opened",
            data={"float_cents": 700},
        )
        # Delivered three times, twice beyond JetStream's de-duplication (different message ids).
        for msg_id in ("a", "b", "c"):
            await js.publish(
                "ledger.till.opened", envelope.to_bytes(), headers={"Nats-Msg-Id": msg_id}
            )
        consumer = DurableConsumer(
            js=js,
            pool=pool,
            service="tills",
            name="totals",
            stream="LEDGER",
            subjects=["ledger.till.opened"],
            handler=handler,
        )
        sub = await consumer.subscribe()
        for msg in await sub.fetch(10, timeout=2):
            await consumer.handle(msg)
        assert (consumer.processed, consumer.duplicates) == (1, 2)
        with pool.connection() as conn:
            assert conn.execute("SELECT sum(total), count(*) FROM till_totals").fetchone() == (
                700,
                1,
            )
        await nc.close()

    asyncio.run(scenario())


def test_a_message_that_keeps_failing_is_dead_lettered_with_its_error(
    tills: Any, nats_url: str
) -> None:
    _, pool = tills

    def handler(envelope: EventEnvelope, conn: psycopg.Connection[Any]) -> None:
        conn.execute("CREATE TABLE IF NOT EXISTS half_written (x int)")
        conn.execute("INSERT INTO half_written VALUES (1)")
        raise ValueError("the ledger cannot place this")

    async def scenario() -> None:
        nc = await nats.connect(nats_url)
        js = nc.jetstream()
        await ensure_all_streams(js)
        envelope = EventEnvelope(
            event_id=uuid.uuid4(),
            type="TestTillOpened",
            version=1,
            occurred_at="2026-11-23T10:00:00Z",
            producer="tills",
            correlation_id="c",
            subject="ledger.till.opened",
            data={},
        )
        await js.publish("ledger.till.opened", envelope.to_bytes())
        await js.publish("ledger.till.opened", b"not an envelope at all")
        consumer = DurableConsumer(
            js=js,
            pool=pool,
            service="tills",
            name="fragile",
            stream="LEDGER",
            subjects=["ledger.till.opened"],
            handler=handler,
            max_deliver=3,
            backoff_seconds=(0.05,),
        )
        sub = await consumer.subscribe()
        for _ in range(20):
            if consumer.dead_lettered == 2:
                break
            try:
                for msg in await sub.fetch(10, timeout=0.5):
                    await consumer.handle(msg)
            except TimeoutError:  # nats-py raises its own subclass or the builtin one
                continue
        assert consumer.dead_lettered == 2
        letters = await _raw_messages(js, "DEADLETTER")
        errors = sorted(m.headers["Hazina-Error"] for m in letters)
        assert errors[0].startswith("ValueError: the ledger cannot place this")
        assert errors[1].startswith("not a valid event envelope")
        with pool.connection() as conn:  # each failed attempt rolled back whole
            assert conn.execute("SELECT to_regclass('half_written')").fetchone() == (None,)
        await nc.close()

    asyncio.run(scenario())


def till_message(subject: str, data: dict[str, Any] | None = None) -> bytes:
    """A till event on ``subject``, as a producer publishes it (each one a new event id)."""
    return EventEnvelope(
        event_id=uuid.uuid4(),
        type="TestTillEvent",
        version=1,
        occurred_at="2026-11-23T10:00:00Z",
        producer="tills",
        correlation_id="c",
        subject=subject,
        data=data or {},
    ).to_bytes()


def test_a_consumer_deployed_with_a_new_subject_receives_it_and_keeps_its_place(
    tills: Any, nats_url: str
) -> None:
    """An existing durable consumer is given the subjects the code now consumes on start; what it
    already processed is not delivered again, and the new subject's messages arrive."""
    _, pool = tills
    seen: list[str] = []

    def handler(envelope: EventEnvelope, conn: psycopg.Connection[Any]) -> None:
        seen.append(envelope.subject)

    def consumer(js: Any, subjects: list[str]) -> DurableConsumer:
        return DurableConsumer(
            js=js,
            pool=pool,
            service="tills",
            name="evolving",
            stream="LEDGER",
            subjects=subjects,
            handler=handler,
        )

    async def drain(sub: Any, c: DurableConsumer, expected: int) -> None:
        while len(seen) < expected:
            for msg in await sub.fetch(expected - len(seen), timeout=5):
                await c.handle(msg)

    async def scenario() -> None:
        nc = await nats.connect(nats_url)
        js = nc.jetstream()
        await ensure_all_streams(js)
        old = consumer(js, ["ledger.till.opened"])
        sub = await old.subscribe()
        await js.publish("ledger.till.opened", till_message("ledger.till.opened"))
        await drain(sub, old, 1)
        await sub.unsubscribe()
        # While the old code runs (or is down), the producer starts publishing a new event.
        await js.publish("ledger.till.counted", till_message("ledger.till.counted"))
        new = consumer(js, ["ledger.till.opened", "ledger.till.counted"])
        sub = await new.subscribe()
        info = await js.consumer_info("LEDGER", "tills-evolving")
        assert sorted(info.config.filter_subjects) == ["ledger.till.counted", "ledger.till.opened"]
        await js.publish("ledger.till.counted", till_message("ledger.till.counted"))
        await drain(sub, new, 3)
        assert seen == ["ledger.till.opened", "ledger.till.counted", "ledger.till.counted"]
        # The count stored before the change was owed and still ahead of the durable's place:
        # delivered by both, applied once. The opening was not delivered again.
        assert new.duplicates == 1
        again = consumer(js, ["ledger.till.opened", "ledger.till.counted"])
        await (await again.subscribe()).unsubscribe()  # same subjects: nothing to change
        await nc.close()

    asyncio.run(scenario())


async def _raw_messages(js: Any, stream: str) -> list[Any]:
    info = await js.stream_info(stream)
    return [
        await js.get_msg(stream, seq)
        for seq in range(info.state.first_seq, info.state.last_seq + 1)
    ]


def test_a_stored_event_wakes_the_relay_instead_of_waiting_for_its_timer(
    tills: Any, nats_url: str
) -> None:
    """The relay's timer is an hour here: the event is published because its commit woke it."""
    app, pool = tills

    async def scenario() -> None:
        nc = await nats.connect(nats_url)
        js = nc.jetstream()
        await ensure_all_streams(js)
        published = await nc.subscribe("ledger.till.opened")
        relay = OutboxRelay(
            app=app,
            js=js,
            pool=pool,
            producer="tills",
            to_contract=to_contract,
            idle_seconds=3600,
            idle_listening_seconds=3600,
        )
        stop = asyncio.Event()
        running = asyncio.create_task(relay.run(stop))
        try:
            await asyncio.wait_for(relay.idle.wait(), timeout=60)  # the first round found nothing
            assert relay.listening
            rounds = relay.rounds
            (till,) = await asyncio.to_thread(_open_tills, app, 1)
            msg = await published.next_msg(timeout=60)  # an hour before the timer would fire
            assert EventEnvelope.from_bytes(msg.data).data["till_id"] == str(till.id)
            assert relay.rounds > rounds
        finally:
            stop.set()
            await running
            await nc.close()

    asyncio.run(scenario())


def test_a_new_subject_s_messages_stored_before_the_deployment_are_delivered_once(
    tills: Any, nats_url: str
) -> None:
    """The messages of a newly consumed subject that the running consumer's server-side filter
    passed over (stored before, between and after the ones it took) are delivered after the
    deployment, each applied once; one owed while the service stopped mid-way still arrives."""
    _, pool = tills
    seen: list[str] = []

    def handler(envelope: EventEnvelope, conn: psycopg.Connection[Any]) -> None:
        seen.append(envelope.data["n"])

    def envelope_on(subject: str, n: str) -> bytes:
        return till_message(subject, {"n": n})

    def consumer(js: Any, subjects: list[str], name: str) -> DurableConsumer:
        return DurableConsumer(
            js=js,
            pool=pool,
            service="tills",
            name=name,
            stream="LEDGER",
            subjects=subjects,
            handler=handler,
        )

    async def take_all(sub: Any, c: DurableConsumer) -> None:
        """What the consumer's worker does while it runs: fetch until nothing is left."""
        while True:
            try:
                messages = await c.next_messages(sub, wait_seconds=0.5)
            except TimeoutError:
                return
            await c.handle_batch(messages)

    opened, counted, closed = "ledger.till.opened", "ledger.till.counted", "ledger.till.closed"

    async def scenario() -> None:
        nc = await nats.connect(nats_url)
        js = nc.jetstream()
        await ensure_all_streams(js)
        old = consumer(js, [opened], "learning")
        sub = await old.subscribe()
        await js.publish(counted, envelope_on(counted, "c1"))
        await js.publish(opened, envelope_on(opened, "o1"))
        await js.publish(counted, envelope_on(counted, "c2"))
        await take_all(sub, old)  # the server's filter skips both counts
        await js.publish(counted, envelope_on(counted, "c3"))
        await take_all(sub, old)
        await sub.unsubscribe()
        assert seen == ["o1"]

        new = consumer(js, [opened, counted], "learning")
        sub = await new.subscribe()  # owed: c1, c2, c3, delivered before it returns
        await js.publish(counted, envelope_on(counted, "c4"))
        await take_all(sub, new)
        await sub.unsubscribe()
        assert seen == ["o1", "c1", "c2", "c3", "c4"]
        with pool.connection() as conn:
            assert conn.execute("SELECT count(*) FROM consumer_backfills").fetchone() == (0,)
        with pytest.raises(nats.js.errors.NotFoundError):
            await js.consumer_info("LEDGER", new.backfill_durable)

        # Deployed again with a third subject, and stopped after the filter changed but before
        # the owed messages were delivered: the next start delivers them.
        await js.publish(closed, envelope_on(closed, "x1"))
        sub = await new.subscribe()  # the server's filter skips it
        await take_all(sub, new)
        await sub.unsubscribe()
        stopped = consumer(js, [opened, counted, closed], "learning")
        await stopped._update_subjects()
        assert seen == ["o1", "c1", "c2", "c3", "c4"]
        restarted = consumer(js, [opened, counted, closed], "learning")
        sub = await restarted.subscribe()
        await take_all(sub, restarted)
        await sub.unsubscribe()
        assert seen == ["o1", "c1", "c2", "c3", "c4", "x1"]
        again = consumer(js, [opened, counted, closed], "learning")
        sub = await again.subscribe()  # nothing changed, nothing owed: nothing delivered twice
        await take_all(sub, again)
        await sub.unsubscribe()
        assert seen == ["o1", "c1", "c2", "c3", "c4", "x1"]

        # A subject owed, then the deployment rolled back to code that does not consume it:
        # nothing of it is delivered, and it is no longer owed.
        await js.publish("ledger.till.audited", envelope_on("ledger.till.audited", "a1"))
        await consumer(
            js, [opened, counted, closed, "ledger.till.audited"], "learning"
        )._update_subjects()
        rolled_back = consumer(js, [opened, counted, closed], "learning")
        sub = await rolled_back.subscribe()
        await take_all(sub, rolled_back)
        await sub.unsubscribe()
        assert seen == ["o1", "c1", "c2", "c3", "c4", "x1"]
        with pool.connection() as conn:
            assert conn.execute("SELECT count(*) FROM consumer_backfills").fetchone() == (0,)
        await nc.close()

    asyncio.run(scenario())
