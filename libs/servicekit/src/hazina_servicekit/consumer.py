"""Durable JetStream pull consumers whose effects happen exactly once.

A handler's effects and the record that the message was processed commit in one PostgreSQL
transaction; the message is acknowledged only after that commit. A redelivery finds the record
and changes nothing. A message that keeps failing is redelivered with backoff (a database outage
passes); on its last delivery it is parked in the service's ``parked_events`` (with the bytes
delivered, so staff can retry it; see ``parking``), copied to a dead-letter subject with its
error, and acknowledged, so the consumer moves on.

Batch mode (a ``batch_handler``): the consumer takes what is waiting, up to ``batch_size``
messages (waiting at most ``linger_seconds`` for more once one has arrived), records them all as
processed in one statement and hands the new ones to the handler in one transaction; every
message is acknowledged after that commit. The same event twice (in one batch or redelivered)
is handed over once. The handler names the messages it could not apply (their effects must not
be made): those are released from the transaction and retried with backoff, then parked, as in
one-by-one mode, while the rest of the batch commits. If the handler raises, the batch is taken
apart and each message goes through ``handler`` on its own, so one bad message cannot hold up
the others.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import hashlib
import uuid
from collections.abc import Callable, Mapping, Sequence
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
# The new messages of a batch, in arrival order, inside the batch's transaction; returns the
# messages it could not apply (event id -> why), whose effects it did not make.
BatchHandler = Callable[
    [Sequence[EventEnvelope], psycopg.Connection[Any]], Mapping[uuid.UUID, Exception]
]

PROCESSED_DDL = """
CREATE TABLE IF NOT EXISTS processed_messages (
    consumer text NOT NULL,
    event_id uuid NOT NULL,
    subject text NOT NULL,
    processed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, event_id)
);
-- Subjects a durable consumer was given after it had passed over their messages (see
-- ``DurableConsumer._update_subjects``): their messages up to ``up_to_sequence`` are still owed.
CREATE TABLE IF NOT EXISTS consumer_backfills (
    consumer text NOT NULL,
    subject text NOT NULL,
    up_to_sequence bigint NOT NULL,
    PRIMARY KEY (consumer, subject)
);
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
    batch_handler: BatchHandler | None = None  # batch mode (see the module's docstring)
    linger_seconds: float = 0.005  # how long a batch waits for more once its first message is in
    processed: int = field(default=0, init=False)
    duplicates: int = field(default=0, init=False)
    dead_lettered: int = field(default=0, init=False)
    parked: int = field(default=0, init=False)
    batches: int = field(default=0, init=False)
    not_ours: int = field(default=0, init=False)  # acknowledged unread: a subject we don't consume

    def __post_init__(self) -> None:
        with self.pool.connection() as conn:
            conn.execute(PROCESSED_DDL)
        if self.parking is not None:
            self.parking.register(self.durable, MessageReplay(self.durable, self.handler))

    @property
    def durable(self) -> str:
        return f"{self.service}-{self.name}"

    async def subscribe(self) -> Any:
        await self._update_subjects()
        subscription = await self._pull(self.durable, self.subjects)
        try:
            await self._backfill()
        except Exception as exc:  # still owed (its record stays): the next start delivers it
            log.error("consumer_backfill_failed", consumer=self.durable, error=str(exc))
        return subscription

    async def _pull(self, durable: str, subjects: Sequence[str]) -> Any:
        """A pull subscription to the durable consumer ``durable`` of ``subjects``, created
        (reading the stream from its start) when the server does not have it yet."""
        config = ConsumerConfig(
            durable_name=durable,
            ack_policy=AckPolicy.EXPLICIT,
            deliver_policy=DeliverPolicy.ALL,
            ack_wait=self.ack_wait_seconds,
            max_deliver=self.max_deliver + 1,  # the last delivery is the one we dead-letter
            max_ack_pending=max(self.batch_size * 2, 100),
            filter_subjects=list(subjects),
        )
        return await self.js.pull_subscribe(
            subject=subjects[0], durable=durable, stream=self.stream, config=config
        )

    async def _update_subjects(self) -> None:
        """Give an existing durable consumer the subjects this code consumes.

        JetStream keeps the filter a durable consumer was created with, and ``pull_subscribe``
        only creates: without this, a deployment that learns a new event would never receive it.
        The consumer keeps its place for the subjects it had. It has passed over the new
        subjects' messages stored so far (the server skips what its filter does not take), so
        those are owed: written down here, before the filter changes, and delivered by
        ``_backfill``. The processed-message records stay valid because the durable name does
        not change; a message both deliver is applied once.
        """
        try:
            info = await self.js.consumer_info(self.stream, self.durable)
        except NotFoundError:
            return  # pull_subscribe creates it with ``config``, from the stream's start
        current = set(info.config.filter_subjects or ())
        if info.config.filter_subject:
            current.add(info.config.filter_subject)
        if current == set(self.subjects):
            return
        # No filter on record: a server older than 2.10, which delivered (and we acknowledged
        # unread) every subject; what was added cannot be told, so nothing is owed by name.
        added = sorted(set(self.subjects) - current) if current else []
        await self._owe(added)
        update = dataclasses.replace(
            info.config,
            name=self.durable,
            filter_subject=None,
            filter_subjects=list(self.subjects),
        )
        await self.js.add_consumer(self.stream, config=update)
        await self._owe(added)  # and what was stored while the filter changed
        log.info(
            "consumer_subjects_updated",
            consumer=self.durable,
            old=sorted(current),
            new=sorted(self.subjects),
            owed=added,
        )

    async def _owe(self, subjects: Sequence[str]) -> None:
        """Write down that ``subjects``' messages stored up to now are owed to this consumer."""
        if not subjects:
            return
        last = (await self.js.stream_info(self.stream)).state.last_seq

        def record() -> None:
            with self.pool.connection() as conn:
                conn.execute(
                    """
                    INSERT INTO consumer_backfills (consumer, subject, up_to_sequence)
                    SELECT %s, s, %s FROM unnest(%s::text[]) AS s
                    ON CONFLICT (consumer, subject) DO UPDATE SET up_to_sequence =
                        greatest(consumer_backfills.up_to_sequence, EXCLUDED.up_to_sequence)
                    """,
                    (self.durable, last, list(subjects)),
                )

        await asyncio.to_thread(record)

    @property
    def backfill_durable(self) -> str:
        return f"{self.durable}-backfill"

    async def _backfill(self) -> None:
        """Deliver what ``_update_subjects`` found owed, through this consumer's own handling.

        A durable consumer of its own reads the owed subjects from the stream's start up to the
        sequence written down, so a restart part way through goes on from where it stopped;
        each message is applied once (processed records) and parked or dead-lettered like any
        other. When all are handled, the record and that consumer are deleted.
        """

        def owed() -> list[tuple[str, int]]:
            with self.pool.connection() as conn:
                # A subject this code no longer consumes (a deployment rolled back) is not owed.
                conn.execute(
                    "DELETE FROM consumer_backfills WHERE consumer = %s AND NOT subject = ANY(%s)",
                    (self.durable, list(self.subjects)),
                )
                rows = conn.execute(
                    "SELECT subject, up_to_sequence FROM consumer_backfills WHERE consumer = %s "
                    "ORDER BY subject",
                    (self.durable,),
                ).fetchall()
            return [(str(subject), int(up_to)) for subject, up_to in rows]

        rows = await asyncio.to_thread(owed)
        if not rows:
            return
        subjects = [subject for subject, _ in rows]
        up_to = max(sequence for _, sequence in rows)
        with contextlib.suppress(NotFoundError):  # one left for other subjects starts again
            info = await self.js.consumer_info(self.stream, self.backfill_durable)
            if sorted(info.config.filter_subjects or ()) != subjects:
                await self.js.delete_consumer(self.stream, self.backfill_durable)
        subscription = await self._pull(self.backfill_durable, subjects)
        log.info("consumer_backfill_started", consumer=self.durable, subjects=subjects, up_to=up_to)
        handled = 0
        try:
            while True:
                try:
                    messages = await self.next_messages(subscription)
                except TimeoutError:
                    messages = []
                owed_now: list[Msg] = []
                for msg in messages:
                    if msg.metadata.sequence.stream <= up_to and subject_matches(
                        subjects, msg.subject
                    ):
                        owed_now.append(msg)
                    else:  # stored later (the consumer itself delivers it) or not owed
                        await msg.ack()
                if owed_now:
                    handled += len(owed_now)
                    await self.handle_batch(owed_now)
                try:
                    info = await self.js.consumer_info(self.stream, self.backfill_durable)
                except NotFoundError:  # another process of this service finished it
                    break
                if info.num_ack_pending == 0 and (
                    info.num_pending == 0 or info.delivered.stream_seq >= up_to
                ):
                    break
        finally:
            with contextlib.suppress(Exception):
                await subscription.unsubscribe()

        def settle() -> None:
            with self.pool.connection() as conn:
                conn.execute(
                    "DELETE FROM consumer_backfills WHERE consumer = %s AND subject = ANY(%s) "
                    "AND up_to_sequence <= %s",
                    (self.durable, subjects, up_to),
                )

        await asyncio.to_thread(settle)
        with contextlib.suppress(NotFoundError):
            await self.js.delete_consumer(self.stream, self.backfill_durable)
        log.info(
            "consumer_backfill_done", consumer=self.durable, subjects=subjects, messages=handled
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
                await self._failed(msg, envelope, exc)
                return
            if applied:
                self.processed += 1
            else:
                self.duplicates += 1
                log.info("message_duplicate_skipped")
            await msg.ack()
            if self.parking is not None and self.parking.unrecorded:  # the handler parked one
                await asyncio.to_thread(self.parking.record_pending)

    def _apply_batch(
        self, envelopes: Sequence[EventEnvelope]
    ) -> tuple[set[uuid.UUID], Mapping[uuid.UUID, Exception]]:
        """Record the batch as processed and apply its new messages in one transaction.

        Returns the ids applied now and those the handler could not apply; the rest were
        processed before (duplicates).
        """
        assert self.batch_handler is not None  # noqa: S101 - batch mode only
        with self.pool.connection() as conn, conn.transaction():
            rows = conn.execute(
                """
                INSERT INTO processed_messages (consumer, event_id, subject)
                SELECT %s, e.event_id, e.subject FROM unnest(%b::uuid[], %b::text[])
                    AS e(event_id, subject)
                ON CONFLICT DO NOTHING RETURNING event_id
                """,
                (
                    self.durable,
                    [e.event_id for e in envelopes],
                    [e.subject for e in envelopes],
                ),
            ).fetchall()
            new = {row[0] for row in rows}
            fresh = [e for e in envelopes if e.event_id in new]
            failed = dict(self.batch_handler(fresh, conn)) if fresh else {}
            if failed:  # not processed after all: redelivered, then parked if it keeps failing
                conn.execute(
                    "DELETE FROM processed_messages WHERE consumer = %s AND event_id = ANY(%s)",
                    (self.durable, list(failed)),
                )
        return new - set(failed), failed

    async def handle_batch(self, messages: Sequence[Msg]) -> None:
        """Apply ``messages`` as one batch (batch mode), acknowledging them after its commit."""
        if self.batch_handler is None:
            for msg in messages:
                await self.handle(msg)
            return
        envelopes: dict[uuid.UUID, EventEnvelope] = {}
        by_event: dict[uuid.UUID, list[Msg]] = {}
        for msg in messages:
            try:
                envelope = EventEnvelope.from_bytes(msg.data)
            except ValidationError:
                await self.handle(msg)  # parks and dead-letters it, as one by one
                continue
            envelopes.setdefault(envelope.event_id, envelope)  # the same event twice: once
            by_event.setdefault(envelope.event_id, []).append(msg)
        if not envelopes:
            return
        try:
            applied, failed = await asyncio.to_thread(self._apply_batch, list(envelopes.values()))
        except Exception as exc:
            log.warning("batch_failed_one_by_one", error=str(exc), messages=len(messages))
            for event_id in envelopes:
                for msg in by_event[event_id]:
                    await self.handle(msg)
            return
        self.batches += 1
        for event_id, msgs in by_event.items():
            if event_id in failed:
                with structlog.contextvars.bound_contextvars(event_id=str(event_id)):
                    for msg in msgs:
                        await self._failed(msg, envelopes[event_id], failed[event_id])
                continue
            if event_id in applied:
                self.processed += 1
                self.duplicates += len(msgs) - 1
            else:
                self.duplicates += len(msgs)
            for msg in msgs:
                await msg.ack()
        if self.parking is not None and self.parking.unrecorded:  # the handler parked one
            await asyncio.to_thread(self.parking.record_pending)

    async def _failed(self, msg: Msg, envelope: EventEnvelope, exc: Exception) -> None:
        """A message not applied: redelivered later with backoff, parked on its last delivery."""
        delivered = msg.metadata.num_delivered if msg.metadata else 1
        if delivered >= self.max_deliver:
            await self._give_up(
                msg, envelope, type(exc).__name__, error_text(exc), f"{type(exc).__name__}: {exc}"
            )
            return
        delay = self.backoff_seconds[min(delivered - 1, len(self.backoff_seconds) - 1)]
        log.warning("message_failed", error=str(exc), delivered=delivered, retry_in=delay)
        await msg.nak(delay=delay)

    async def next_messages(self, subscription: Any, *, wait_seconds: float = 1.0) -> list[Msg]:
        """What is waiting, up to ``batch_size``: the first message waited for (up to
        ``wait_seconds``), then what is ready or arrives within ``linger_seconds``.

        A single ``fetch(batch_size)`` would hold a lone message until its whole timeout passed,
        waiting for a full batch; here a message waits a linger of milliseconds at most.
        """
        messages: list[Msg] = list(await subscription.fetch(1, timeout=wait_seconds))
        if self.batch_size > 1:
            with contextlib.suppress(TimeoutError):  # nothing more within the linger
                messages += await subscription.fetch(
                    self.batch_size - len(messages), timeout=self.linger_seconds
                )
        return messages

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

    async def _ours(self, messages: list[Msg]) -> list[Msg]:
        """The messages on a subject this consumer takes; the others are acknowledged unread.

        A NATS server older than 2.10 ignores ``filter_subjects`` and delivers the whole stream:
        without this each unwanted message would cost a transaction and a processed record.
        """
        ours = []
        for msg in messages:
            if subject_matches(self.subjects, msg.subject):
                ours.append(msg)
            else:
                self.not_ours += 1
                await msg.ack()
        return ours

    async def _check_filter(self) -> None:
        """Say so once when the server did not take our subject filter (NATS < 2.10)."""
        with contextlib.suppress(Exception):
            info = await self.js.consumer_info(self.stream, self.durable)
            if not (info.config.filter_subjects or info.config.filter_subject):
                log.warning(
                    "consumer_filter_not_applied",
                    consumer=self.durable,
                    hint="NATS >= 2.10 filters on the server; this one delivers every subject, "
                    "and the consumer acknowledges the ones it does not take unread",
                )

    async def run(self, stop: asyncio.Event) -> None:
        subscription = await self.subscribe()
        await self._check_filter()
        log.info("consumer_started", consumer=self.durable)
        try:
            while not stop.is_set():
                try:
                    messages = await self.next_messages(subscription)
                except TimeoutError:  # nats-py raises its own subclass or the builtin one
                    continue
                except Exception as exc:
                    log.warning("consumer_fetch_failed", error=str(exc))
                    await asyncio.sleep(1.0)
                    continue
                messages = await self._ours(messages)
                if not messages:
                    continue
                if self.batch_handler is not None:
                    await self.handle_batch(messages)
                else:
                    for msg in messages:
                        await self.handle(msg)
        finally:
            # Without this the connection's drain at shutdown waits out its timeout (30 s) on
            # the idle pull subscription; the durable consumer itself stays on the server.
            with contextlib.suppress(Exception):
                await subscription.unsubscribe()


def subject_matches(patterns: Sequence[str], subject: str) -> bool:
    """Whether ``subject`` matches one of ``patterns`` by NATS's rules (``*`` one token, ``>`` the rest)."""
    if subject in patterns:
        return True
    tokens = subject.split(".")
    for pattern in patterns:
        if "*" not in pattern and ">" not in pattern:
            continue
        wanted = pattern.split(".")
        for i, part in enumerate(wanted):
            if part == ">":
                if len(tokens) > i:
                    return True
                break
            if i >= len(tokens) or part not in ("*", tokens[i]):
                break
        else:
            if len(wanted) == len(tokens):
                return True
    return False


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
