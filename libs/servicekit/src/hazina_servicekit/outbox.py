"""The transactional outbox: the event store is the outbox, and a relay publishes it to JetStream.

The relay follows the application's notification log, maps each stored domain event to its
versioned contract event (private events map to nothing), publishes with ``Nats-Msg-Id`` equal
to a deterministic event id, and only after every publish is acknowledged records its position.
A crash anywhere re-publishes at most one batch, which JetStream's duplicate window absorbs
and idempotent consumers absorb beyond it.
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
from nats.js import JetStreamContext
from psycopg_pool import ConnectionPool

from hazina_contracts.envelope import EventEnvelope
from hazina_contracts.events.base import ContractEvent
from hazina_servicekit.parking import TOPIC_PREFIX as PARKED_TOPIC_PREFIX

log = structlog.get_logger(__name__)

# Event ids are derived from (aggregate id, version), so re-publishing yields the same Nats-Msg-Id.
EVENT_ID_NAMESPACE = uuid.UUID("6f1e7a52-5a0c-4a43-9a57-7d3f2f0c8e11")

ContractMapping = Callable[[Any], ContractEvent | None]


def event_id_of(originator_id: uuid.UUID | str, originator_version: int) -> uuid.UUID:
    return uuid.uuid5(EVENT_ID_NAMESPACE, f"{originator_id}:{originator_version}")


POSITIONS_DDL = """
CREATE TABLE IF NOT EXISTS outbox_positions (
    relay text PRIMARY KEY,
    notification_id bigint NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
)
"""


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


@dataclass
class OutboxRelay:
    """Publishes one application's notification log to JetStream, at least once, in order."""

    app: Application
    js: JetStreamContext
    pool: ConnectionPool
    producer: str
    to_contract: ContractMapping
    name: str = "nats"
    batch_size: int = 500
    idle_seconds: float = 0.1
    publish_timeout: float = 5.0

    def __post_init__(self) -> None:
        self.positions = RelayPositions(self.pool)
        self.published = 0

    def _advisory_key(self) -> int:
        return (
            uuid.uuid5(EVENT_ID_NAMESPACE, f"relay:{self.producer}:{self.name}").int
            & 0x7FFF_FFFF_FFFF_FFFF
        )

    def _read(self, after: int) -> list[tuple[int, EventEnvelope | None]]:
        notifications = self.app.recorder.select_notifications(
            start=after, limit=self.batch_size, inclusive_of_start=False
        )
        out: list[tuple[int, EventEnvelope | None]] = []
        for notification in notifications:
            if notification.topic.startswith(PARKED_TOPIC_PREFIX):
                out.append((notification.id, None))  # the record of parked events stays home
                continue
            domain_event = self.app.mapper.to_domain_event(notification)
            contract = self.to_contract(domain_event)
            out.append(
                (
                    notification.id,
                    envelope_for(domain_event, contract, self.producer) if contract else None,
                )
            )
        return out

    async def publish_once(self) -> int:
        """Publish what is pending in one batch; returns how many notifications it moved past."""
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
        return len(batch)

    async def run(self, stop: asyncio.Event) -> None:
        """Relay until ``stop`` is set; one relay per service holds the advisory lock at a time."""
        backoff = 0.2
        lock_conn = await asyncio.to_thread(self._take_lock, stop)
        if lock_conn is None:
            return
        log.info("outbox_relay_started", relay=self.name)
        try:
            while not stop.is_set():
                try:
                    moved = await self.publish_once()
                    backoff = 0.2
                except Exception as exc:
                    log.warning("outbox_publish_failed", error=str(exc), retry_in=backoff)
                    await _sleep_or_stop(stop, backoff)
                    backoff = min(backoff * 2, 5.0)
                    continue
                if moved < self.batch_size:
                    await _sleep_or_stop(stop, self.idle_seconds)
        finally:
            await asyncio.to_thread(lock_conn.close)

    def _take_lock(self, stop: asyncio.Event) -> psycopg.Connection[Any] | None:
        conninfo = self.pool.conninfo
        conn = psycopg.connect(conninfo, autocommit=True)
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
