"""Parking: an event a projection or consumer cannot apply is set aside; everything else carries on.

Real PostgreSQL (and NATS for the consumer). A group name with a NUL character can never be
stored in a text column; a CHECK constraint that a later fix drops stands for a bug fixed later.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from typing import Any, ClassVar

import nats
import psycopg
import pytest
from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event

from hazina_contracts.envelope import EventEnvelope
from hazina_contracts.events.base import ContractEvent
from hazina_contracts.subjects import Stream
from hazina_servicekit.consumer import DurableConsumer
from hazina_servicekit.database import ensure_schema, open_pool
from hazina_servicekit.eventstore import postgres_env
from hazina_servicekit.messaging import ensure_all_streams
from hazina_servicekit.outbox import OutboxRelay
from hazina_servicekit.parking import ParkedEvent, ParkingError, ParkingLot
from hazina_servicekit.projection import Projection

pytestmark = pytest.mark.integration

DDL = """
CREATE TABLE IF NOT EXISTS chama_names (
    chama_id uuid PRIMARY KEY,
    name text NOT NULL CONSTRAINT no_forbidden CHECK (name <> 'Forbidden'),
    renames integer NOT NULL DEFAULT 0
)
"""


class Chama(Aggregate):
    @event("Registered")
    def __init__(self, name: str) -> None:
        self.name = name

    @event("Renamed")
    def rename(self, name: str) -> None:
        self.name = name


class Chamas(Application):
    name = "chamas"


def apply_chama(domain_event: Any, conn: psycopg.Connection[Any]) -> None:
    if isinstance(domain_event, Chama.Registered):
        conn.execute(
            "INSERT INTO chama_names (chama_id, name) VALUES (%s, %s)",
            (domain_event.originator_id, domain_event.name),
        )
    elif isinstance(domain_event, Chama.Renamed):
        updated = conn.execute(
            "UPDATE chama_names SET name = %s, renames = renames + 1 WHERE chama_id = %s",
            (domain_event.name, domain_event.originator_id),
        )
        if updated.rowcount != 1:
            raise LookupError("renamed a chama the read model does not have")


@pytest.fixture
def chamas(database_url: str) -> Iterator[tuple[Chamas, Any, ParkingLot]]:
    ensure_schema(database_url, "chamas")
    pool = open_pool(database_url, "chamas")
    app = Chamas(env=postgres_env(database_url, "chamas"))
    try:
        yield app, pool, ParkingLot(pool, app)
    finally:
        app.close()
        pool.close()


def names(pool: Any) -> dict[uuid.UUID, tuple[str, int]]:
    with pool.connection() as conn:
        rows = conn.execute("SELECT chama_id, name, renames FROM chama_names").fetchall()
    return {r[0]: (r[1], r[2]) for r in rows}


def recorded(app: Chamas, row_id: uuid.UUID) -> list[str]:
    aggregate_events = app.repository.event_store.get(row_id)
    return [type(e).__name__ for e in aggregate_events]


def test_an_unappliable_event_is_parked_and_the_projection_carries_on(chamas: Any) -> None:
    app, pool, lot = chamas
    bad, good = Chama("Upendo\x00 Women"), Chama("Tumaini")
    app.save(bad, good)
    projection = Projection(app, pool, "chama_names", apply_chama, DDL, parking=lot)

    assert projection.catch_up() == 2  # does not raise
    assert set(names(pool)) == {good.id}
    rows, total = lot.find(status="parked")
    assert total == 1
    parked = rows[0]
    assert (parked.source, parked.kind, parked.originator_id) == (
        "chama_names",
        "projection",
        str(bad.id),
    )
    assert parked.originator_version == 1 and parked.position == 1
    assert parked.topic.endswith("Chama.Registered")
    assert parked.error_type == "DataError" and "NUL" in parked.error
    assert recorded(app, parked.id) == ["Parked"]  # recorded in the service's own store

    # Later events: another aggregate applies; the bad one's next event waits behind.
    good.rename("Tumaini Self Help")
    bad.rename("Upendo Women")
    later = Chama("Baraka")
    app.save(good, bad, later)
    projection.catch_up()
    assert names(pool)[good.id] == ("Tumaini Self Help", 1)
    assert later.id in names(pool)
    behind = [r for r in lot.find(status="parked")[0] if r.behind is not None]
    assert [(r.behind, r.originator_version) for r in behind] == [(parked.id, 2)]
    assert projection.catch_up() == 1  # the record of the second park is read past
    assert projection.catch_up() == 0


def test_the_parked_record_is_not_itself_a_read_model_event(chamas: Any) -> None:
    app, pool, lot = chamas
    app.save(Chama("Bad\x00"))
    projection = Projection(app, pool, "chama_names", apply_chama, DDL, parking=lot)
    projection.catch_up()
    projection.catch_up()  # reads the ParkedEvent record and applies nothing for it
    assert lot.find()[1] == 1
    topics = [n.topic for n in app.recorder.select_notifications(start=1, limit=10)]
    assert topics[-1] == "hazina.servicekit.ParkedEvent.Parked"


def test_retry_after_a_fix_applies_it_and_then_what_waited_behind_it_in_order(
    chamas: Any,
) -> None:
    app, pool, lot = chamas
    chama = Chama("Forbidden")  # refused by the read model's CHECK (a bug, fixed below)
    app.save(chama)
    projection = Projection(app, pool, "chama_names", apply_chama, DDL, parking=lot)
    projection.catch_up()
    chama.rename("Allowed One")
    chama.rename("Allowed Two")
    app.save(chama)
    projection.catch_up()
    head = lot.find(status="parked")[0][0]
    behind = [r for r in lot.find(status="parked")[0] if r.behind == head.id]
    assert len(behind) == 2

    with pytest.raises(ParkingError) as refused:
        lot.retry(behind[0].id, by=None)
    assert refused.value.status == 409 and "behind" in str(refused.value)

    staff = uuid.uuid4()
    still = lot.retry(head.id, by=staff)  # not fixed yet
    assert not still.applied and "no_forbidden" in (still.error or "")
    assert lot.get(head.id).status == "parked"  # type: ignore[union-attr]
    assert lot.get(head.id).attempts == 2  # type: ignore[union-attr]
    assert recorded(app, head.id) == ["Parked", "Retried"]

    with pool.connection() as conn:  # the fix
        conn.execute("ALTER TABLE chama_names DROP CONSTRAINT no_forbidden")
    done = lot.retry(head.id, by=staff)
    assert done.applied and done.row.status == "retried" and done.row.resolved_by == staff
    assert [r.status for r in done.released] == ["retried", "retried"]
    assert names(pool)[chama.id] == ("Allowed Two", 2)  # applied in their original order
    assert recorded(app, head.id) == ["Parked", "Retried", "Retried"]
    assert recorded(app, behind[0].id) == ["Parked", "Retried"]

    with pytest.raises(ParkingError) as again:  # a second retry changes nothing
        lot.retry(head.id, by=staff)
    assert again.value.code == "already_retried"
    assert recorded(app, head.id) == ["Parked", "Retried", "Retried"]

    chama.rename("Allowed Three")  # the aggregate is no longer blocked
    app.save(chama)
    projection.catch_up()
    assert names(pool)[chama.id] == ("Allowed Three", 3)


def test_skip_leaves_it_out_and_releases_the_rest_and_a_rebuild_keeps_it_out(
    chamas: Any,
) -> None:
    app, pool, lot = chamas
    chama = Chama("Nyota\x00")
    app.save(chama)
    projection = Projection(app, pool, "chama_names", apply_chama, DDL, parking=lot)
    projection.catch_up()
    chama.rename("Nyota")
    app.save(chama)
    projection.catch_up()
    head = next(r for r in lot.find(status="parked")[0] if r.behind is None)

    skipped = lot.skip(head.id, by=uuid.uuid4(), reason="name was mistyped; renamed after")
    assert skipped.row.status == "skipped" and skipped.row.reason.startswith("name was")  # type: ignore[union-attr]
    # The rename after it still cannot apply: no row to rename. It becomes the new head.
    assert [(r.status, r.behind, r.error_type) for r in skipped.released] == [
        ("parked", None, "LookupError")
    ]
    assert recorded(app, head.id) == ["Parked", "Skipped"]
    with pytest.raises(ParkingError) as twice:
        lot.skip(head.id, by=None, reason="again")
    assert twice.value.code == "already_skipped"
    assert recorded(app, head.id) == ["Parked", "Skipped"]

    lot.skip(skipped.released[0].id, by=None, reason="nothing to rename")
    assert lot.find(status="parked")[1] == 0

    other = Chama("Imani")
    app.save(other)
    with pool.connection() as conn:
        conn.execute("ALTER TABLE chama_names DROP CONSTRAINT no_forbidden")
    projection.rebuild(lambda conn: conn.execute("TRUNCATE chama_names"))
    assert set(names(pool)) == {other.id}  # the skipped ones stay out
    assert lot.find(status="parked")[1] == 0


def test_a_lost_connection_is_not_parked_it_is_retried(chamas: Any) -> None:
    app, pool, lot = chamas

    def flaky(domain_event: Any, conn: psycopg.Connection[Any]) -> None:
        raise psycopg.OperationalError("server closed the connection unexpectedly")

    app.save(Chama("Amani"))
    projection = Projection(app, pool, "flaky", flaky, parking=lot)
    with pytest.raises(psycopg.OperationalError):
        projection.catch_up()
    assert projection.position() == 0
    assert lot.find()[1] == 0


def test_the_follower_logs_a_failed_round_and_keeps_going(
    chamas: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    app, pool, lot = chamas
    calls: list[int] = []

    def flaky(domain_event: Any, conn: psycopg.Connection[Any]) -> None:
        calls.append(1)
        if len(calls) == 1:
            raise psycopg.OperationalError("server closed the connection unexpectedly")

    app.save(Chama("Amani"))
    projection = Projection(app, pool, "flaky", flaky, parking=lot)

    async def follow_until_applied() -> None:
        stop = asyncio.Event()
        task = asyncio.create_task(projection.follow(stop, interval_seconds=0.01))
        for _ in range(2000):
            if projection.position() == 1:
                break
            await asyncio.sleep(0.01)
        stop.set()
        await task

    asyncio.run(follow_until_applied())
    assert projection.position() == 1 and len(calls) == 2
    assert "projection_follow_failed" in capsys.readouterr().out


def test_records_left_unrecorded_by_a_crash_are_recorded_later(chamas: Any) -> None:
    app, pool, _ = chamas
    rows_only = ParkingLot(pool)  # e.g. a process that died before recording
    app.save(Chama("Bad\x00"))
    Projection(app, pool, "chama_names", apply_chama, DDL, parking=rows_only).catch_up()
    row = rows_only.find()[0][0]
    assert recorded(app, row.id) == []
    later = ParkingLot(pool, app)
    assert later.record_pending() == 1
    assert later.record_pending(force=True) == 0
    assert recorded(app, row.id) == ["Parked"]
    stored = app.repository.get(row.id)
    assert isinstance(stored, ParkedEvent) and stored.status == "parked"


def test_a_message_that_always_fails_is_parked_and_later_messages_are_processed(
    chamas: Any, nats_url: str
) -> None:
    app, pool, lot = chamas
    seen: list[str] = []
    broken = {"Broken"}

    def handler(envelope: EventEnvelope, conn: psycopg.Connection[Any]) -> None:
        if envelope.data["name"] in broken:
            raise ValueError("cannot place this chama")
        conn.execute("CREATE TABLE IF NOT EXISTS chama_seen (name text)")
        conn.execute("INSERT INTO chama_seen VALUES (%s)", (envelope.data["name"],))
        seen.append(envelope.data["name"])

    def envelope(name: str) -> EventEnvelope:
        return EventEnvelope(
            event_id=uuid.uuid4(),
            type="TestChamaRegistered",
            version=1,
            occurred_at="2026-11-23T10:00:00Z",
            producer="tests",
            correlation_id="c",
            subject="ledger.chama.registered",
            data={"name": name},
        )

    poison = envelope("Broken")

    async def scenario() -> DurableConsumer:
        nc = await nats.connect(nats_url)
        js = nc.jetstream()
        await ensure_all_streams(js)
        consumer = DurableConsumer(
            js=js,
            pool=pool,
            service="tests",
            name="chamas",
            stream="LEDGER",
            subjects=["ledger.chama.registered"],
            handler=handler,
            max_deliver=3,
            backoff_seconds=(0.05,),
            parking=lot,
        )
        await js.publish("ledger.chama.registered", poison.to_bytes())
        for name in ("Umoja", "Imani"):
            await js.publish("ledger.chama.registered", envelope(name).to_bytes())
        sub = await consumer.subscribe()
        for _ in range(200):
            if consumer.parked == 1 and consumer.processed == 2:
                break
            try:
                for msg in await sub.fetch(10, timeout=0.5):
                    await consumer.handle(msg)
            except TimeoutError:
                continue
        await nc.close()
        return consumer

    consumer = asyncio.run(scenario())
    assert (consumer.parked, consumer.processed, consumer.dead_lettered) == (1, 2, 1)
    assert seen == ["Umoja", "Imani"]
    rows, _ = lot.find(source="tests-chamas")
    assert [(r.reference, r.kind, r.status, r.error_type) for r in rows] == [
        (str(poison.event_id), "message", "parked", "ValueError")
    ]
    assert rows[0].topic == "TestChamaRegistered v1" and rows[0].attempts == 1
    assert recorded(app, rows[0].id) == ["Parked"]

    assert not lot.retry(rows[0].id, by=None).applied  # still broken
    broken.clear()  # the fix
    assert lot.retry(rows[0].id, by=None).applied
    assert seen == ["Umoja", "Imani", "Broken"]
    with pool.connection() as conn:
        assert conn.execute(
            "SELECT count(*) FROM processed_messages WHERE consumer = 'tests-chamas'"
        ).fetchone() == (3,)
    with pytest.raises(ParkingError):
        lot.retry(rows[0].id, by=None)
    assert seen == ["Umoja", "Imani", "Broken"]


class ChamaRegistered(ContractEvent):
    """A test-only contract event (not published by any service)."""

    TYPE: ClassVar[str] = "TestChamaRegistered"
    VERSION: ClassVar[int] = 1
    STREAM: ClassVar[Stream] = Stream.LEDGER
    AGGREGATE: ClassVar[str] = "chama"
    EVENT: ClassVar[str] = "registered"
    name: str


def test_an_event_the_relay_cannot_map_is_parked_and_the_rest_are_published(
    chamas: Any, nats_url: str
) -> None:
    app, pool, lot = chamas
    unmappable = {"Kesho"}

    def to_contract(domain_event: Any) -> ContractEvent | None:
        if isinstance(domain_event, Chama.Registered):
            if domain_event.name in unmappable:
                raise ValueError("no contract field for this chama")
            return ChamaRegistered(name=domain_event.name)
        return None

    async def published(js: Any) -> list[str]:
        info = await js.stream_info("LEDGER")
        out = []
        for seq in range(info.state.first_seq, info.state.last_seq + 1):
            out.append(
                EventEnvelope.from_bytes((await js.get_msg("LEDGER", seq)).data).data["name"]
            )
        return out

    async def scenario() -> None:
        nc = await nats.connect(nats_url)
        js = nc.jetstream()
        await ensure_all_streams(js)
        app.save(Chama("Leo"), Chama("Kesho"), Chama("Jana"))
        relay = OutboxRelay(
            app=app, js=js, pool=pool, producer="tests", to_contract=to_contract, parking=lot
        )
        assert await relay.publish_once() == 3
        assert await published(js) == ["Leo", "Jana"]  # not stuck behind the bad one
        (row,) = lot.find(status="parked")[0]
        assert (row.source, row.error_type, row.position) == ("outbox-nats", "ValueError", 2)
        assert recorded(app, row.id) == ["Parked"]

        assert not lot.retry(row.id, by=None).applied  # still cannot be mapped
        unmappable.clear()  # the fix (a new release maps it)
        assert lot.retry(row.id, by=None).applied
        await relay.publish_once()
        assert await published(js) == ["Leo", "Jana", "Kesho"]
        await relay.publish_once()
        assert await published(js) == ["Leo", "Jana", "Kesho"]  # published once
        await nc.close()

    asyncio.run(scenario())
