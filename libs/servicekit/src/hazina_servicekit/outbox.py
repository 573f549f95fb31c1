"""The transactional outbox: the event store is the outbox, and a relay publishes it to JetStream.

The relay follows the application's notification log, maps each stored domain event to its
versioned contract event (private events map to nothing), publishes with ``Nats-Msg-Id`` equal
to a deterministic event id, and only after every publish is acknowledged records its position.
A crash anywhere re-publishes at most one batch, which JetStream's duplicate window absorbs
and idempotent consumers absorb beyond it.

A stored event that cannot be mapped to its contract (an exception other than a lost connection)
must not stop every later event from being published: given the service's parking lot, the relay
parks it (source ``outbox-<relay name>``, see ``parking``) and moves on. Consumers accept events
in any order, so nothing waits behind it. A staff retry maps it again; if it maps, it is queued
and the relay publishes it on its next round.

The relay is woken, not left to a timer: a statement trigger on the events table sends a
PostgreSQL ``NOTIFY`` when a transaction that stored events commits (one per transaction, however
many events), and the relay ``LISTEN``s, so a stored event is published as soon as it is committed,
by whichever process stored it. The timer stays as a safety net (a listening connection lost).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import psycopg
import structlog
from eventsourcing.application import Application
from eventsourcing.domain import DomainEventProtocol
from eventsourcing.postgres import PostgresApplicationRecorder
from nats.js import JetStreamContext
from psycopg_pool import ConnectionPool

from hazina_contracts.envelope import EventEnvelope
from hazina_contracts.events.base import ContractEvent
from hazina_servicekit.parking import (
    MESSAGE,
    RETRIED,
    ParkedRow,
    ParkingLot,
    error_text,
    is_transient,
)
from hazina_servicekit.parking import TOPIC_PREFIX as PARKED_TOPIC_PREFIX
from hazina_servicekit.wakeups import announce_inserts, conninfo_of, first_of, listen

log = structlog.get_logger(__name__)

QUEUED = "publish"  # waiting_for of a parked event a retry mapped: the relay publishes it next

# Event ids are derived from (aggregate id, version), so re-publishing yields the same Nats-Msg-Id.
EVENT_ID_NAMESPACE = uuid.UUID("6f1e7a52-5a0c-4a43-9a57-7d3f2f0c8e11")

# A stored event in, its public event out (None: it stays private).
ContractMapping = Callable[[DomainEventProtocol[uuid.UUID]], ContractEvent | None]


def advisory_key(name: str) -> int:
    """The PostgreSQL advisory lock named ``name`` (a relay's, a job's, a listening follower's)."""
    return uuid.uuid5(EVENT_ID_NAMESPACE, name).int & 0x7FFF_FFFF_FFFF_FFFF


def event_id_of(originator_id: uuid.UUID | str, originator_version: int) -> uuid.UUID:
    return uuid.uuid5(EVENT_ID_NAMESPACE, f"{originator_id}:{originator_version}")


POSITIONS_DDL = """
CREATE TABLE IF NOT EXISTS outbox_positions (
    relay text PRIMARY KEY,
    notification_id bigint NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
)
"""


def announce_stored_events(pool: ConnectionPool, app: Application[uuid.UUID]) -> str | None:
    """Make the commit of stored events send ``NOTIFY`` on the returned channel (None: ``app`` is
    not stored in PostgreSQL, nothing to listen to). Several processes may run this together."""
    recorder = app.recorder
    if not isinstance(recorder, PostgresApplicationRecorder):
        return None
    return announce_inserts(
        pool, recorder.datastore.schema, recorder.events_table_name, trigger="hazina_events_stored"
    )


class RelayPositions:
    """The last notification id each relay published, in the service's own schema."""

    def __init__(self, pool: ConnectionPool) -> None:
        self._pool = pool
        with pool.connection() as conn:
            conn.execute(POSITIONS_DDL)

    def get(self, relay: str) -> int:
        with self._pool.connection() as conn:
            row = conn.execute(
                "SELECT notification_id FROM outbox_positions WHERE relay = %s", (relay,)
            ).fetchone()
        return int(row[0]) if row else 0

    def set(self, relay: str, notification_id: int) -> None:
        with self._pool.connection() as conn:
            conn.execute(
                """
                INSERT INTO outbox_positions (relay, notification_id) VALUES (%s, %s)
                ON CONFLICT (relay) DO UPDATE
                SET notification_id = GREATEST(outbox_positions.notification_id, EXCLUDED.notification_id),
                    updated_at = now()
                """,
                (relay, notification_id),
            )


def envelope_for(domain_event: Any, contract: ContractEvent, producer: str) -> EventEnvelope:
    event_id = event_id_of(domain_event.originator_id, domain_event.originator_version)
    correlation = getattr(domain_event, "correlation_id", None) or str(event_id)
    causation = getattr(domain_event, "causation_id", None)
    return EventEnvelope(
        event_id=event_id,
        type=contract.TYPE,
        version=contract.VERSION,
        occurred_at=domain_event.timestamp,
        producer=producer,
        correlation_id=str(correlation),
        causation_id=str(causation) if causation else None,
        subject=contract.subject(),
        data=contract.model_dump(mode="json"),
    )


def envelope_of(
    app: Application[uuid.UUID], to_contract: ContractMapping, producer: str, notification: Any
) -> EventEnvelope | None:
    """The contract envelope of one stored event, or None for a private one."""
    domain_event = app.mapper.to_domain_event(notification)
    contract = to_contract(domain_event)
    return envelope_for(domain_event, contract, producer) if contract else None


@dataclass
class OutboxRelay:
    """Publishes one application's notification log to JetStream, at least once, in order."""

    app: Application[uuid.UUID]
    js: JetStreamContext
    pool: ConnectionPool
    producer: str
    to_contract: ContractMapping
    name: str = "nats"
    batch_size: int = 500
    # Between rounds with nothing to publish: how long the relay waits without a wake-up channel
    # (polling), and with one (a safety net only: every commit of stored events wakes it).
    idle_seconds: float = 0.1
    idle_listening_seconds: float = 2.0
    publish_timeout: float = 5.0

    parking: ParkingLot | None = None

    def __post_init__(self) -> None:
        self.positions = RelayPositions(self.pool)
        self.channel = announce_stored_events(self.pool, self.app)
        self.published = 0
        self.rounds = 0
        self.listening = False  # a LISTEN connection is open: a commit wakes the relay
        self.idle = asyncio.Event()  # set while the relay waits for work (tests watch it)
        if self.parking is not None:
            replay = RelayReplay(self.app, self.to_contract, self.producer, self._nudge)
            self.parking.register(self.source, replay)

    @property
    def source(self) -> str:
        """Its name in ``parked_events``."""
        return f"outbox-{self.name}"

    def envelope(self, notification: Any) -> EventEnvelope | None:
        return envelope_of(self.app, self.to_contract, self.producer, notification)

    def _nudge(self) -> None:
        self.rounds = 0  # a retry queued an event: publish it on the next round

    def _advisory_key(self) -> int:
        return advisory_key(f"relay:{self.producer}:{self.name}")

    def _read(self, after: int) -> list[tuple[int, EventEnvelope | None]]:
        notifications = self.app.recorder.select_notifications(
            start=after, limit=self.batch_size, inclusive_of_start=False
        )
        out: list[tuple[int, EventEnvelope | None]] = []
        for notification in notifications:
            if notification.topic.startswith(PARKED_TOPIC_PREFIX):
                out.append((notification.id, None))  # the record of parked events stays home
                continue
            try:
                out.append((notification.id, self.envelope(notification)))
            except Exception as exc:
                if self.parking is None or is_transient(exc):
                    raise
                self._park(notification, exc)
                out.append((notification.id, None))
        return out

    def _park(self, notification: Any, exc: Exception) -> None:
        assert self.parking is not None  # noqa: S101 - checked by the caller
        with self.pool.connection() as conn, conn.transaction():
            self.parking.park(
                conn,
                source=self.source,
                kind=MESSAGE,
                reference=str(notification.id),
                position=notification.id,
                topic=notification.topic,
                originator_id=str(notification.originator_id),
                originator_version=notification.originator_version,
                error_type=type(exc).__name__,
                error=error_text(exc),
            )

    def _queued(self) -> list[tuple[uuid.UUID, bytes]]:
        with self.pool.connection() as conn:
            rows = conn.execute(
                "SELECT id, payload FROM parked_events WHERE source = %s AND status = %s "
                "AND waiting_for = %s ORDER BY seq",
                (self.source, RETRIED, QUEUED),
            ).fetchall()
        return [(r[0], bytes(r[1])) for r in rows]

    def _sent(self, row_id: uuid.UUID) -> None:
        with self.pool.connection() as conn:
            conn.execute(
                "UPDATE parked_events SET waiting_for = NULL, updated_at = now() WHERE id = %s",
                (row_id,),
            )

    async def publish_retried(self) -> int:
        """Publish the parked events staff retried (mapped now); returns how many."""
        queued = await asyncio.to_thread(self._queued)
        for row_id, payload in queued:
            envelope = EventEnvelope.from_bytes(payload)
            await self.js.publish(
                envelope.subject,
                payload,
                timeout=self.publish_timeout,
                headers={"Nats-Msg-Id": str(envelope.event_id), "Hazina-Event-Type": envelope.type},
            )
            await asyncio.to_thread(self._sent, row_id)
        return len(queued)

    async def publish_once(self) -> int:
        """Publish what is pending in one batch; returns how many notifications it moved past."""
        if self.parking is not None and self.rounds % 20 == 0:  # retries are rare: now and then
            await self.publish_retried()
        self.rounds += 1
        position = await asyncio.to_thread(self.positions.get, self.name)
        batch = await asyncio.to_thread(self._read, position)
        if not batch:
            return 0
        envelopes = [env for _, env in batch if env is not None]
        acks = await asyncio.gather(
            *(
                self.js.publish(
                    env.subject,
                    env.to_bytes(),
                    timeout=self.publish_timeout,
                    headers={"Nats-Msg-Id": str(env.event_id), "Hazina-Event-Type": env.type},
                )
                for env in envelopes
            )
        )
        self.published += sum(1 for ack in acks if not ack.duplicate)
        await asyncio.to_thread(self.positions.set, self.name, batch[-1][0])
        if self.parking is not None and self.parking.unrecorded:
            await asyncio.to_thread(self.parking.record_pending)
        return len(batch)

    async def run(self, stop: asyncio.Event) -> None:
        """Relay until ``stop`` is set; one relay per service holds the advisory lock at a time."""
        backoff = 0.2
        lock_conn = await asyncio.to_thread(self._take_lock, stop)
        if lock_conn is None:
            return
        log.info("outbox_relay_started", relay=self.name)
        wake = asyncio.Event()
        listened = asyncio.Event()
        listener = asyncio.create_task(self._listen(wake, listened, stop))
        # The first round comes after LISTEN (or its failure): nothing committed in between is missed.
        await first_of(stop, listened, timeout=5.0)
        try:
            while not stop.is_set():
                wake.clear()
                try:
                    moved = await self.publish_once()
                    backoff = 0.2
                except Exception as exc:
                    log.warning("outbox_publish_failed", error=str(exc), retry_in=backoff)
                    await _sleep_or_stop(stop, backoff)
                    backoff = min(backoff * 2, 5.0)
                    continue
                if moved < self.batch_size:
                    self.idle.set()
                    idle = self.idle_listening_seconds if self.listening else self.idle_seconds
                    await first_of(stop, wake, timeout=idle)
                    self.idle.clear()
        finally:
            listener.cancel()
            with contextlib.suppress(BaseException):
                await listener
            await asyncio.to_thread(lock_conn.close)

    async def _listen(
        self, wake: asyncio.Event, listened: asyncio.Event, stop: asyncio.Event
    ) -> None:
        """``LISTEN`` for stored events and set ``wake`` on each; reconnects after a failure."""
        if self.channel is None:
            listened.set()
            return

        def state(on: bool) -> None:
            self.listening = on
            listened.set()  # listening, or polling meanwhile: the first round may start

        await listen(conninfo_of(self.pool), self.channel, wake.set, stop, listening=state)

    def _take_lock(self, stop: asyncio.Event) -> psycopg.Connection[Any] | None:
        conn = psycopg.connect(conninfo_of(self.pool), autocommit=True)
        key = self._advisory_key()
        while not stop.is_set():
            row = conn.execute("SELECT pg_try_advisory_lock(%s)", (key,)).fetchone()
            if row and row[0]:
                return conn
            time.sleep(1.0)  # another replica relays; stand by
        conn.close()
        return None


async def _sleep_or_stop(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)


class RelayReplay:
    """How staff retry an event the relay could not map: map it again and queue it for the relay."""

    def __init__(
        self,
        app: Application[uuid.UUID],
        to_contract: ContractMapping,
        producer: str,
        nudge: Callable[[], None] | None = None,
    ) -> None:
        self.app = app
        self.to_contract = to_contract
        self.producer = producer
        self.nudge = nudge

    def lock_for_retry(self, conn: psycopg.Connection[Any]) -> None:
        """Nothing to serialise: the relay publishes queued events whenever it finds them."""

    def reapply_parked(self, row: ParkedRow, conn: psycopg.Connection[Any]) -> None:
        found = self.app.recorder.select_notifications(
            start=row.position, limit=1, inclusive_of_start=True
        )
        if not found or found[0].id != row.position:
            raise LookupError(f"notification {row.position} is no longer in the event store")
        envelope = envelope_of(self.app, self.to_contract, self.producer, found[0])
        if envelope is None:
            return  # it maps to nothing now: private, nothing to publish
        conn.execute(
            "UPDATE parked_events SET payload = %s, waiting_for = %s WHERE id = %s",
            (envelope.to_bytes(), QUEUED, row.id),
        )
        if self.nudge is not None:
            self.nudge()


def queue_retried_events(
    parking: ParkingLot,
    app: Application[uuid.UUID],
    producer: str,
    to_contract: ContractMapping,
    name: str = "nats",
) -> None:
    """Let staff retry what relay ``name`` parked, in a process where it is not running (yet)."""
    parking.register(f"outbox-{name}", RelayReplay(app, to_contract, producer))
