"""Read models kept from a service's own notification log, exactly once, readable right after a write.

A projection's rows and its position advance in one transaction, so a crash never applies an
event twice or skips one. ``catch_up`` is called after each write (read-your-writes) and by a
background loop (for writes made by other processes); the position row's lock serialises them.

An event the projection cannot apply is parked, never retried forever: see ``parking`` for the
rule (a savepoint per event once a batch fails; later events of the same aggregate wait behind
it; staff retry or skip it). So reads, the follower and a service's start-up keep working.

A projection applies each event with a plain ``apply(event, conn)``, or through ``batches``: a
read side that is handed each event with its notification id and may hold its row changes back
until ``flush`` (the ledger's, so the live projection and a bulk rebuild share one definition).
A batch is flushed once at its end, and after every event once a batch has failed, inside that
event's savepoint, so a failing write is still charged to the event that made it.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol
from uuid import UUID

import psycopg
import structlog
from eventsourcing.application import Application
from eventsourcing.domain import DomainEventProtocol
from eventsourcing.persistence import Notification
from eventsourcing.postgres import PostgresApplicationRecorder
from psycopg_pool import ConnectionPool

from hazina_servicekit.outbox import advisory_key, announce_stored_events
from hazina_servicekit.parking import (
    PARKED,
    PROJECTION,
    SKIPPED,
    TOPIC_PREFIX,
    ParkedRow,
    ParkingLot,
    error_text,
    is_transient,
    parked_id,
)
from hazina_servicekit.wakeups import conninfo_of, first_of, listen

log = structlog.get_logger(__name__)

# One stored event into the read tables, in the projection's transaction.
Apply = Callable[[DomainEventProtocol[UUID], psycopg.Connection[Any]], None]
ProgressCallback = Callable[[int, int], None]  # (notification id reached, events read)


class Batch(Protocol):
    """The events of one batch going into the read tables, in one transaction."""

    def apply(self, event: DomainEventProtocol[UUID], position: int, /) -> None:
        """Take one stored event and its notification id; writes may wait until ``flush``."""

    def flush(self) -> None:
        """Write every change held back so far."""


# A new batch writing into this connection's transaction.
BatchFactory = Callable[[psycopg.Connection[Any]], Batch]


class _OneByOne:
    """A plain ``apply``: every event is written as it comes, nothing is held back."""

    def __init__(self, apply: Apply, conn: psycopg.Connection[Any]) -> None:
        self._apply = apply
        self._conn = conn

    def apply(self, event: DomainEventProtocol[UUID], _position: int, /) -> None:
        self._apply(event, self._conn)

    def flush(self) -> None:
        return None


POSITIONS_DDL = """
CREATE TABLE IF NOT EXISTS projection_positions (
    projection text PRIMARY KEY,
    notification_id bigint NOT NULL DEFAULT 0
)
"""


@dataclass
class _Parked:
    """What the projection knows of its parked events while it applies one batch."""

    blocked: dict[str, uuid.UUID]  # originator id -> the head its later events wait behind
    known: dict[int, tuple[uuid.UUID, str]]  # position -> (row id, status), at or after the batch


class _BatchFailedError(Exception):
    """Internal: an event failed in a batch applied without savepoints."""


class Projection:
    def __init__(
        self,
        app: Application[UUID],
        pool: ConnectionPool,
        name: str,
        apply: Apply | None = None,
        ddl: str = "",
        *,
        parking: ParkingLot | None = None,
        batches: BatchFactory | None = None,
        position_key: str | None = None,
    ) -> None:
        if batches is None:
            if apply is None:
                raise TypeError("a projection needs apply or batches")
            batches = functools.partial(_OneByOne, apply)
        elif apply is not None:
            raise TypeError("a projection takes apply or batches, not both")
        self.app = app
        self.pool = pool
        self.name = name
        self.batches = batches
        # The row of projection_positions this projection keeps its place in: its name, unless
        # several processes share one read side's work (each its own place, parking as ``name``).
        self.position_key = position_key or name
        with pool.connection() as conn, conn.transaction():
            conn.execute(POSITIONS_DDL)
            if ddl:
                conn.execute(ddl)
            conn.execute(
                "INSERT INTO projection_positions (projection) VALUES (%s) ON CONFLICT DO NOTHING",
                (self.position_key,),
            )
        recorder = app.recorder
        self.follower_key = (
            advisory_key(f"follower:{recorder.datastore.schema}:{self.position_key}")
            if isinstance(recorder, PostgresApplicationRecorder)
            else None
        )
        # Without the service's lot (a scratch rebuild), events are still parked, just not recorded.
        self.parking = parking if parking is not None else ParkingLot(pool)
        self.parking.register(name, self)
        self._following_here = False  # this process's ``follow`` has caught up once and runs

    def position(self) -> int:
        with self.pool.connection() as conn:
            row = conn.execute(
                "SELECT notification_id FROM projection_positions WHERE projection = %s",
                (self.position_key,),
            ).fetchone()
        return int(row[0]) if row else 0

    def _apply(self, batch: Batch, notification: Notification) -> None:
        batch.apply(self.app.mapper.to_domain_event(notification), notification.id)

    def catch_up(
        self,
        batch_size: int = 500,
        progress: ProgressCallback | None = None,
        *,
        unless_followed: bool = False,
    ) -> int:
        """Apply every event not yet applied (parking what cannot be); returns notifications read.

        ``unless_followed``: if a follower (``follow``, in any process) is listening for every
        commit, leave the work to it and return at once: a read then shows the read model as
        last committed, never queueing behind the follower nor doing its work.
        """
        if unless_followed and self.followed():
            return 0
        total = 0
        try:
            while True:
                try:
                    read, last = self._batch(batch_size, careful=False)
                except _BatchFailedError:
                    # Roll the whole batch back and apply it again one savepoint per event.
                    read, last = self._batch(batch_size, careful=True)
                total += read
                if progress is not None and read:
                    progress(last, total)
                if read < batch_size:
                    return total
        finally:
            self.parking.record_pending()

    def followed(self) -> bool:
        """A follower holds the lock it takes while it listens for commits: this process's own
        is known without asking PostgreSQL (a read then pays no transaction for it)."""
        if self._following_here:
            return True
        if self.follower_key is None:
            return False
        with self.pool.connection() as conn:
            row = conn.execute(
                "SELECT pg_try_advisory_xact_lock_shared(%s)", (self.follower_key,)
            ).fetchone()
        return not (row and row[0])

    def _batch(self, batch_size: int, *, careful: bool) -> tuple[int, int]:
        with self.pool.connection() as conn, conn.transaction():
            row = conn.execute(
                "SELECT notification_id FROM projection_positions WHERE projection = %s FOR UPDATE",
                (self.position_key,),
            ).fetchone()
            position = int(row[0]) if row else 0
            notifications = self.app.recorder.select_notifications(
                start=position, limit=batch_size, inclusive_of_start=False
            )
            if not notifications:
                return 0, position
            parked = self._parked(conn, position)
            batch = self.batches(conn)
            for notification in notifications:
                self._one(conn, batch, notification, parked, careful=careful)
            if not careful:
                try:
                    batch.flush()
                except Exception as exc:
                    self._failed(exc, notifications[-1])
            conn.execute(
                "UPDATE projection_positions SET notification_id = %s WHERE projection = %s",
                (notifications[-1].id, self.position_key),
            )
        return len(notifications), notifications[-1].id

    def _parked(self, conn: psycopg.Connection[Any], position: int) -> _Parked:
        rows = conn.execute(
            "SELECT id, position, originator_id, status, behind FROM parked_events "
            "WHERE source = %s AND kind = %s AND (status = 'parked' OR position > %s)",
            (self.name, PROJECTION, position),
        ).fetchall()
        state = _Parked(blocked={}, known={})
        for row_id, at, originator, status, behind in rows:
            if at is not None and at > position:
                state.known[int(at)] = (row_id, status)
            elif status == PARKED and originator is not None:
                state.blocked[originator] = behind or row_id
        return state

    def _failed(self, exc: Exception, notification: Notification) -> None:
        """A batch applied without savepoints failed: redo it carefully (unless the database went)."""
        if is_transient(exc):
            raise exc
        log.warning(
            "projection_event_failed",
            projection=self.name,
            notification_id=notification.id,
            error_type=type(exc).__name__,
            error=error_text(exc),
        )
        raise _BatchFailedError from exc

    def _one(
        self,
        conn: psycopg.Connection[Any],
        batch: Batch,
        notification: Notification,
        parked: _Parked,
        *,
        careful: bool,
    ) -> None:
        if notification.topic.startswith(TOPIC_PREFIX):
            return  # the record of parked events itself: no read model needs it
        known = parked.known.get(notification.id)
        if known is not None and known[1] == SKIPPED:
            return  # staff decided this one is left out (a rebuild meets it again)
        head = parked.blocked.get(str(notification.originator_id)) if parked.blocked else None
        if head is not None:
            self._park(
                conn, notification, "ParkedBehind", f"waits behind parked event {head}", head
            )
            return
        if not careful:
            try:
                self._apply(batch, notification)
            except Exception as exc:
                self._failed(exc, notification)
        else:
            alone = self.batches(conn)  # nothing of an event that failed is left held back
            try:
                with conn.transaction():
                    self._apply(alone, notification)
                    alone.flush()
            except Exception as exc:
                if is_transient(exc):
                    raise
                self._park(conn, notification, type(exc).__name__, error_text(exc), None)
                parked.blocked[str(notification.originator_id)] = self._id(notification)
                return
        if known is not None and known[1] == PARKED:  # parked before, applies now (a rebuild)
            self.parking.mark_retried(conn, known[0], by=None, automatic=True)

    def _id(self, notification: Notification) -> uuid.UUID:
        return parked_id(self.name, str(notification.id))

    def _park(
        self,
        conn: psycopg.Connection[Any],
        notification: Notification,
        error_type: str,
        error: str,
        behind: uuid.UUID | None,
    ) -> None:
        self.parking.park(
            conn,
            source=self.name,
            kind=PROJECTION,
            reference=str(notification.id),
            position=notification.id,
            topic=notification.topic,
            originator_id=str(notification.originator_id),
            originator_version=notification.originator_version,
            error_type=error_type,
            error=error,
            behind=behind,
        )

    # What the parking lot calls when staff retry or skip

    def lock_for_retry(self, conn: psycopg.Connection[Any]) -> None:
        conn.execute(
            "SELECT notification_id FROM projection_positions WHERE projection = %s FOR UPDATE",
            (self.position_key,),
        )

    def reapply_parked(self, row: ParkedRow, conn: psycopg.Connection[Any]) -> None:
        if row.position is None:  # pragma: no cover - projections always park with a position
            raise LookupError("no notification id recorded")
        found = self.app.recorder.select_notifications(
            start=row.position, limit=1, inclusive_of_start=True
        )
        if not found or found[0].id != row.position:
            raise LookupError(f"notification {row.position} is no longer in the event store")
        batch = self.batches(conn)
        self._apply(batch, found[0])
        batch.flush()

    def rebuild(self, truncate: Callable[[psycopg.Connection[Any]], None]) -> int:
        """Drop the read model's rows and replay the whole log into it (skipped events stay out)."""
        with self.pool.connection() as conn, conn.transaction():
            truncate(conn)
            conn.execute(
                "UPDATE projection_positions SET notification_id = 0 WHERE projection = %s",
                (self.position_key,),
            )
        return self.catch_up()

    def start(self) -> None:
        """Catch up at start-up; a failure here (the database went away) is the follower's to retry."""
        try:
            self.catch_up()
        except Exception as exc:
            log.warning("projection_catch_up_failed", projection=self.name, error=str(exc))

    async def follow(
        self, stop: asyncio.Event, interval_seconds: float = 0.5, linger_seconds: float = 0.005
    ) -> None:
        """Keep the read model up to date until ``stop``: woken by each commit of stored events
        (by any process: ``wakeups``), with a short linger so a burst is applied in one batch,
        and every ``interval_seconds`` as a safety net."""
        wake = asyncio.Event()
        channel = await asyncio.to_thread(announce_stored_events, self.pool, self.app)
        listener = (
            asyncio.create_task(
                listen(
                    conninfo_of(self.pool),
                    channel,
                    wake.set,
                    stop,
                    who=self.name,
                    announce_as=self.follower_key,
                )
            )
            if channel is not None
            else None
        )
        rounds = 0
        try:
            while not stop.is_set():
                wake.clear()
                try:
                    await asyncio.to_thread(self.catch_up)
                    self._following_here = listener is not None
                    if rounds % 120 == 0:  # now and then: records left behind by another process
                        await asyncio.to_thread(self.parking.record_pending, force=True)
                except Exception as exc:  # the next round retries; the write path also catches up
                    log.warning(
                        "projection_follow_failed",
                        projection=self.name,
                        error_type=type(exc).__name__,
                        error=str(exc),
                    )
                rounds += 1
                await first_of(stop, wake, timeout=interval_seconds)
                if wake.is_set() and not stop.is_set():
                    await asyncio.sleep(linger_seconds)
        finally:
            self._following_here = False
            if listener is not None:
                listener.cancel()
                with contextlib.suppress(BaseException):
                    await listener
