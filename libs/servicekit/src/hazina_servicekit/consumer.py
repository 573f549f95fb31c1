"""Durable JetStream pull consumers whose effects happen exactly once.

A handler's effects and the record that the message was processed commit in one PostgreSQL
transaction; the message is acknowledged only after that commit. A redelivery finds the record
and changes nothing. A message that keeps failing is redelivered with backoff (a database outage
passes); on its last delivery it is parked in the service's ``parked_events`` (with the bytes
delivered, so staff can retry it; see ``parking``), copied to a dead-letter subject with its
error, and acknowledged, so the consumer moves on.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import psycopg
import structlog
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.errors import NotFoundError
from psycopg_pool import ConnectionPool
from pydantic import ValidationError

from hazina_contracts.envelope import EventEnvelope
from hazina_contracts.subjects import dead_letter_subject
from hazina_servicekit.parking import MESSAGE, ParkedRow, ParkingLot, error_text, safe_text

log = structlog.get_logger(__name__)

Handler = Callable[[EventEnvelope, psycopg.Connection[Any]], None]

PROCESSED_DDL = """
CREATE TABLE IF NOT EXISTS processed_messages (
    consumer text NOT NULL,
    event_id uuid NOT NULL,
    subject text NOT NULL,
    processed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, event_id)
)
"""


@dataclass
class DurableConsumer:
    """One (service, purpose) pull consumer on one stream."""

    js: JetStreamContext
    pool: ConnectionPool
    service: str
    name: str
    stream: str
    subjects: Sequence[str]
    handler: Handler
    max_deliver: int = 5
    ack_wait_seconds: float = 30.0
    batch_size: int = 100
    backoff_seconds: Sequence[float] = (0.5, 2.0, 5.0, 15.0)
    parking: ParkingLot | None = None  # without one, a poison message is only dead-lettered
    processed: int = field(default=0, init=False)
    duplicates: int = field(default=0, init=False)
    dead_lettered: int = field(default=0, init=False)
    parked: int = field(default=0, init=False)

    def __post_init__(self) -> None:
        with self.pool.connection() as conn:
            conn.execute(PROCESSED_DDL)
        if self.parking is not None:
            self.parking.register(self.durable, MessageReplay(self.durable, self.handler))

    @property
    def durable(self) -> str:
        return f"{self.service}-{self.name}"

    async def subscribe(self) -> Any:
        config = ConsumerConfig(
            durable_name=self.durable,
            ack_policy=AckPolicy.EXPLICIT,
            deliver_policy=DeliverPolicy.ALL,
            ack_wait=self.ack_wait_seconds,
            max_deliver=self.max_deliver + 1,  # the last delivery is the one we dead-letter
            max_ack_pending=max(self.batch_size * 2, 100),
            filter_subjects=list(self.subjects),
        )
        await self._update_subjects()
        return await self.js.pull_subscribe(
            subject=self.subjects[0], durable=self.durable, stream=self.stream, config=config
        )

    async def _update_subjects(self) -> None:
        """Give an existing durable consumer the subjects this code consumes.

        JetStream keeps the filter a durable consumer was created with, and ``pull_subscribe``
        only creates: without this, a deployment that learns a new event would never receive it.
        The consumer keeps its position, so the new subject's messages from there on arrive; the
        processed-message records stay valid because the durable name does not change.
        """
        try:
            info = await self.js.consumer_info(self.stream, self.durable)
        except NotFoundError:
            return  # pull_subscribe creates it with ``config``
        current = set(info.config.filter_subjects or ())
        if info.config.filter_subject:
            current.add(info.config.filter_subject)
        if current == set(self.subjects):
            return
        update = dataclasses.replace(
            info.config,
            name=self.durable,
            filter_subject=None,
            filter_subjects=list(self.subjects),
        )
        await self.js.add_consumer(self.stream, config=update)
        log.info(
            "consumer_subjects_updated",
            consumer=self.durable,
            old=sorted(current),
            new=sorted(self.subjects),
        )

    def _apply(self, envelope: EventEnvelope) -> bool:
        """Returns False when the message had already been processed."""
        with self.pool.connection() as conn, conn.transaction():
            row = conn.execute(
                """
                INSERT INTO processed_messages (consumer, event_id, subject) VALUES (%s, %s, %s)
                ON CONFLICT DO NOTHING RETURNING 1
                """,
                (self.durable, envelope.event_id, envelope.subject),
            ).fetchone()
            if row is None:
                return False
            self.handler(envelope, conn)
        return True

    async def handle(self, msg: Msg) -> None:
        try:
            envelope = EventEnvelope.from_bytes(msg.data)
        except ValidationError as exc:
            error = f"not a valid event envelope: {exc.error_count()} errors"
            await self._give_up(msg, None, "InvalidEnvelope", error, error)
            return
        bound = structlog.contextvars.bound_contextvars(
            correlation_id=envelope.correlation_id,
            event_id=str(envelope.event_id),
            subject=msg.subject,
        )
        with bound:
            try:
                applied = await asyncio.to_thread(self._apply, envelope)
            except Exception as exc:
                delivered = msg.metadata.num_delivered if msg.metadata else 1
                if delivered >= self.max_deliver:
                    await self._give_up(
                        msg,
                        envelope,
                        type(exc).__name__,
                        error_text(exc),
                        f"{type(exc).__name__}: {exc}",
                    )
                    return
                delay = self.backoff_seconds[min(delivered - 1, len(self.backoff_seconds) - 1)]
                log.warning("message_failed", error=str(exc), delivered=delivered, retry_in=delay)
                await msg.nak(delay=delay)
                return
            if applied:
                self.processed += 1
            else:
                self.duplicates += 1
                log.info("message_duplicate_skipped")
            await msg.ack()
            if self.parking is not None and self.parking.unrecorded:  # the handler parked one
                await asyncio.to_thread(self.parking.record_pending)

    async def _give_up(
        self,
        msg: Msg,
        envelope: EventEnvelope | None,
        error_type: str,
        error: str,
        dead_letter_error: str,
    ) -> None:
        """The last delivery failed: park it for staff (when parking is wired), dead-letter it, move on."""
        parked = False
        if self.parking is not None:
            try:
                await asyncio.to_thread(self._park, msg, envelope, error_type, error)
                parked = True
                self.parked += 1
            except Exception as exc:  # the dead letter below still keeps it
                log.error("message_not_parked", error=str(exc), subject=msg.subject)
        try:
            await self._dead_letter(msg, dead_letter_error)
        except Exception as exc:
            if not parked:
                raise  # not acknowledged: redelivered, or kept by the stream
            log.warning("dead_letter_publish_failed", error=str(exc), subject=msg.subject)
            await msg.term()
        if parked and self.parking is not None:
            await asyncio.to_thread(self.parking.record_pending)

    def _park(self, msg: Msg, envelope: EventEnvelope | None, error_type: str, error: str) -> None:
        assert self.parking is not None  # noqa: S101 - checked by the caller
        if envelope is not None:
            reference = str(envelope.event_id)
            topic = f"{envelope.type} v{envelope.version}"
        else:
            reference = "sha256:" + hashlib.sha256(msg.data).hexdigest()
            topic = "unreadable message"
        with self.pool.connection() as conn, conn.transaction():
            self.parking.park(
                conn,
                source=self.durable,
                kind=MESSAGE,
                reference=reference,
                topic=topic,
                subject=safe_text(msg.subject, 300),
                error_type=error_type,
                error=error,
                payload=msg.data,
            )

    async def _dead_letter(self, msg: Msg, error: str) -> None:
        headers = {
            "Hazina-Error": " ".join(error.replace("\x00", "\\x00").split())[:1000],
            "Hazina-Original-Subject": msg.subject,
            "Hazina-Consumer": self.durable,
        }
        await self.js.publish(
            dead_letter_subject(self.service, self.name), msg.data, headers=headers
        )
        self.dead_lettered += 1
        log.error("message_dead_lettered", error=error, subject=msg.subject)
        await msg.term()

    async def run(self, stop: asyncio.Event) -> None:
        subscription = await self.subscribe()
        log.info("consumer_started", consumer=self.durable)
        try:
            while not stop.is_set():
                try:
                    messages = await subscription.fetch(self.batch_size, timeout=1.0)
                except TimeoutError:  # nats-py raises its own subclass or the builtin one
                    continue
                except Exception as exc:
                    log.warning("consumer_fetch_failed", error=str(exc))
                    await asyncio.sleep(1.0)
                    continue
                for msg in messages:
                    await self.handle(msg)
        finally:
            # Without this the connection's drain at shutdown waits out its timeout (30 s) on
            # the idle pull subscription; the durable consumer itself stays on the server.
            with contextlib.suppress(Exception):
                await subscription.unsubscribe()


class MessageReplay:
    """How staff retry a parked message: the handler again, with its processed-message record."""

    def __init__(self, durable: str, handler: Handler) -> None:
        self.durable = durable
        self.handler = handler

    def lock_for_retry(self, conn: psycopg.Connection[Any]) -> None:
        """Messages have no order to keep: nothing to lock beyond the parked row."""

    def reapply_parked(self, row: ParkedRow, conn: psycopg.Connection[Any]) -> None:
        envelope = EventEnvelope.from_bytes(row.payload or b"")
        first = conn.execute(
            "INSERT INTO processed_messages (consumer, event_id, subject) VALUES (%s, %s, %s) "
            "ON CONFLICT DO NOTHING RETURNING 1",
            (self.durable, envelope.event_id, envelope.subject),
        ).fetchone()
        if first is not None:  # else it was processed since (a redelivery): nothing to do again
            self.handler(envelope, conn)


def replay_parked_messages(parking: ParkingLot, durable: str, handler: Handler) -> None:
    """Let staff retry what consumer ``durable`` parked, in a process where it is not running."""
    parking.register(durable, MessageReplay(durable, handler))
