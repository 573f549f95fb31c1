"""Parked events: what a projection or a consumer could not apply, set aside so the service runs on.

An event in the store is forever, so one that a read model cannot take (a NUL character in a
name, a row that breaks a constraint, a bug) must never stop a projection, a consumer or the
service's start-up. It is parked instead: a row in the service's ``parked_events`` table, which
staff list, retry and skip through ``/api/<service>/parked`` (``parking_api``).

The parking rule
----------------
* **Projections.** A batch of events is applied in one transaction. If one event raises (anything
  but a lost connection, a lock or a timeout: those are retried as they are), the batch is rolled
  back and applied again one event at a time, each inside a SAVEPOINT. The failing event's partial
  effects roll back with its savepoint; it is parked (error, topic, originator id and version,
  notification id), the position moves past it and the projection carries on.
* **Behind.** While an aggregate has a parked event in a projection, every later event of that
  aggregate is parked *behind* it (``behind`` = the first one's id) instead of being applied: the
  read model never applies an update to a row whose earlier event is missing. Other aggregates
  carry on. Read-model effects that span aggregates are keyed upserts or sums, so they do not
  depend on another aggregate's order.
* **Resolving.** Only the first parked event of an aggregate (the head) can be retried. ``retry``
  re-applies it now; if it applies, the events behind it are re-applied in their original order
  (one that still fails becomes the new head and the rest wait behind it). If it fails again it
  stays parked with the new error. ``skip`` (with a reason) marks it skipped and releases the
  events behind it the same way; an event behind can also be skipped on its own. Retrying or
  skipping an event that is no longer parked is refused (409) and changes nothing.
* **Consumers.** A failing message is redelivered with backoff (a database outage passes); on the
  last delivery it is parked with the bytes delivered, so a retry runs the handler on exactly that
  message (recorded in ``processed_messages`` like any other). Messages are not parked behind one
  another: handlers already accept messages in any order.
* **Rebuild.** A projection rebuilt from zero leaves skipped events out again and tries parked
  ones again; one that now applies is marked retried.
* **Recorded.** Every park, retry and skip is also an event of a ``ParkedEvent`` aggregate (id =
  the row's id) in the service's own event store. The row is written in the transaction that
  parks; its events are recorded right after that commit, and any not yet recorded (a crash in
  between) by the next round. Automatic attempts that fail (a timer retrying an event that waits
  for another) only count ``attempts``.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

import psycopg
import structlog
from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.domain import Aggregate, event
from eventsourcing.persistence import InterfaceError as StoreInterfaceError
from eventsourcing.persistence import OperationalError as StoreOperationalError
from eventsourcing.persistence import RecordConflictError
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb
from psycopg_pool import ConnectionPool, PoolTimeout

from hazina_servicekit.filtered import Filters, counted_page
from hazina_servicekit.logging import mask_text

log = structlog.get_logger(__name__)

PARKED, RETRIED, SKIPPED = "parked", "retried", "skipped"
STATUSES = (PARKED, RETRIED, SKIPPED)
PROJECTION, MESSAGE = "projection", "message"
PARKED_ID_NAMESPACE = uuid.UUID("0b6f6c1e-3a52-4d1c-9a57-4f4b1d8e2c70")
TOPIC_PREFIX = "hazina.servicekit.ParkedEvent"
MAX_TEXT = 1000

PARKED_DDL = """
CREATE TABLE IF NOT EXISTS parked_events (
    id uuid PRIMARY KEY,
    seq bigserial,
    source text NOT NULL,
    kind text NOT NULL,
    reference text NOT NULL,
    position bigint,
    topic text NOT NULL,
    subject text,
    originator_id text,
    originator_version bigint,
    error_type text NOT NULL,
    error text NOT NULL,
    status text NOT NULL,
    behind uuid,
    waiting_for text,
    payload bytea,
    attempts integer NOT NULL DEFAULT 1,
    parked_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    resolved_by uuid,
    reason text,
    history jsonb NOT NULL DEFAULT '[]',
    recorded integer NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS parked_events_source ON parked_events (source, status, position);
CREATE INDEX IF NOT EXISTS parked_events_behind ON parked_events (behind) WHERE behind IS NOT NULL;
"""


def parked_id(source: str, reference: str) -> uuid.UUID:
    """The same event parked by the same projection or consumer is always the same row."""
    return uuid.uuid5(PARKED_ID_NAMESPACE, f"{source}:{reference}")


def safe_text(value: object, limit: int = MAX_TEXT) -> str:
    """Storable, shareable text: no NUL (PostgreSQL text cannot hold it), phones masked, bounded."""
    text = str(value).replace("\x00", "\\x00")
    return mask_text(text)[:limit]


def error_text(exc: BaseException) -> str:
    """The first line of an error: database errors put the offending values on the lines after."""
    lines = str(exc).strip().splitlines()
    return safe_text(lines[0] if lines else type(exc).__name__)


def is_transient(exc: BaseException) -> bool:
    """A lost connection, a lock or a timeout: try again as it is, never park for it."""
    return isinstance(
        exc,
        psycopg.OperationalError
        | psycopg.InterfaceError
        | PoolTimeout
        | StoreOperationalError
        | StoreInterfaceError
        | ConnectionError
        | TimeoutError,
    )


class StillWaiting(Exception):  # noqa: N818 - an outcome, not a fault
    """Raised by a re-application that cannot apply yet because something else must come first."""

    def __init__(self, waiting_for: str, message: str) -> None:
        super().__init__(message)
        self.waiting_for = waiting_for


class ParkedEvent(Aggregate):
    """The record, in the service's own event store, of one parked event and what staff did with it."""

    TOPIC = TOPIC_PREFIX

    class Created(Aggregate.Created):
        TOPIC = f"{TOPIC_PREFIX}.Created"

    @staticmethod
    def create_id(parked_id: str, **_: Any) -> uuid.UUID:
        return uuid.UUID(parked_id)

    @event("Parked", topic=f"{TOPIC_PREFIX}.Parked")
    def __init__(
        self,
        *,
        parked_id: str,
        source: str,
        kind: str,
        reference: str,
        topic: str,
        subject: str | None,
        originator_id: str | None,
        originator_version: int | None,
        error_type: str,
        error: str,
        behind: str | None,
        waiting_for: str | None,
        at: str,
    ) -> None:
        self.parked_id = parked_id
        self.source, self.kind, self.reference = source, kind, reference
        self.topic, self.subject = topic, subject
        self.originator = (originator_id, originator_version)
        self.error = (error_type, error)
        self.behind, self.waiting_for = behind, waiting_for
        self.status, self.updated_at = PARKED, at
        self.resolved_by: str | None = None

    @event("Retried", topic=f"{TOPIC_PREFIX}.Retried")
    def retried(
        self,
        *,
        succeeded: bool,
        automatic: bool,
        by: str | None,
        error_type: str | None,
        error: str | None,
        at: str,
    ) -> None:
        self.status = RETRIED if succeeded else PARKED
        self.updated_at = at
        if succeeded:
            self.resolved_by = None if automatic else by
        else:
            self.error = (error_type or "", error or "")

    @event("Skipped", topic=f"{TOPIC_PREFIX}.Skipped")
    def skipped(self, *, reason: str, by: str | None, at: str) -> None:
        self.status, self.reason, self.resolved_by, self.updated_at = SKIPPED, reason, by, at


@dataclass(frozen=True)
class ParkedRow:
    id: uuid.UUID
    source: str
    kind: str
    reference: str
    position: int | None
    topic: str
    subject: str | None
    originator_id: str | None
    originator_version: int | None
    error_type: str
    error: str
    status: str
    behind: uuid.UUID | None
    waiting_for: str | None
    payload: bytes | None
    attempts: int
    parked_at: datetime
    updated_at: datetime
    resolved_by: uuid.UUID | None
    reason: str | None

    @classmethod
    def from_db(cls, row: dict[str, Any]) -> ParkedRow:
        payload = row.get("payload")
        return cls(
            **{k: row[k] for k in cls.__dataclass_fields__ if k != "payload"},
            payload=bytes(payload) if payload is not None else None,
        )

    def view(self) -> dict[str, Any]:
        """How staff see it (``/api/<service>/parked``)."""
        return {
            "_id": str(self.id),
            "source": self.source,
            "kind": self.kind,
            "reference": self.reference,
            "position": self.position,
            "topic": self.topic,
            "subject": self.subject,
            "originatorId": self.originator_id,
            "originatorVersion": self.originator_version,
            "errorType": self.error_type,
            "error": self.error,
            "status": self.status,
            "behind": str(self.behind) if self.behind else None,
            "waitingFor": self.waiting_for,
            "attempts": self.attempts,
            "parkedAt": self.parked_at.isoformat(),
            "updatedAt": self.updated_at.isoformat(),
            "resolvedBy": str(self.resolved_by) if self.resolved_by else None,
            "reason": self.reason,
        }


class Reapplier(Protocol):
    """What parked something knows how to apply it again (a projection, a consumer's handler)."""

    def lock_for_retry(self, conn: psycopg.Connection[Any]) -> None:
        """Serialise with the normal path (a projection locks its position row)."""

    def reapply_parked(self, row: ParkedRow, conn: psycopg.Connection[Any]) -> None:
        """Apply it inside ``conn``'s transaction; raise if it still cannot be applied."""


class ParkingError(Exception):
    """A retry or skip that cannot be done; ``status`` is the HTTP status it answers with."""

    def __init__(self, message: str, status: int = 409, code: str = "conflict") -> None:
        super().__init__(message)
        self.status = status
        self.code = code


@dataclass(frozen=True)
class Resolution:
    """What a retry or skip did: the event now, and the events that were waiting behind it."""

    row: ParkedRow
    applied: bool
    error: str | None
    released: list[ParkedRow]


def _now() -> str:
    return datetime.now(UTC).isoformat()


def _entry(action: str, **fields: Any) -> dict[str, Any]:
    return {"action": action, "at": _now(), **fields}


_COLUMNS = (
    "id, source, kind, reference, position, topic, subject, originator_id, originator_version, "
    "error_type, error, status, behind, waiting_for, payload, attempts, parked_at, updated_at, "
    "resolved_by, reason"
)


class ParkingLot:
    """The ``parked_events`` table of one service and the sources that can re-apply what is in it.

    Given the service's ``app``, every park, retry and skip is also recorded as a ``ParkedEvent``
    in its event store; without one (a scratch rebuild) only the rows are kept.
    """

    def __init__(self, pool: ConnectionPool, app: Application[uuid.UUID] | None = None) -> None:
        self.pool = pool
        self.app = app
        self._sources: dict[str, Reapplier] = {}
        self._dirty = True  # rows left unrecorded by an earlier process are picked up once
        self._recording = threading.Lock()
        with pool.connection() as conn, conn.transaction():
            conn.execute(PARKED_DDL)

    @property
    def unrecorded(self) -> bool:
        """Something was parked or resolved here that may not be in the event store yet."""
        return self._dirty

    def register(self, source: str, reapplier: Reapplier) -> None:
        self._sources[source] = reapplier

    # Parking (inside the caller's transaction)

    def park(
        self,
        conn: psycopg.Connection[Any],
        *,
        source: str,
        kind: str,
        reference: str,
        topic: str,
        error_type: str,
        error: str,
        position: int | None = None,
        subject: str | None = None,
        originator_id: str | None = None,
        originator_version: int | None = None,
        behind: uuid.UUID | None = None,
        waiting_for: str | None = None,
        payload: bytes | None = None,
    ) -> str:
        """Park (or park again) one event; returns its status afterwards (a skipped one stays skipped)."""
        pid = parked_id(source, reference)
        error_type, error = safe_text(error_type, 200), safe_text(error)
        first = _entry(
            PARKED,
            parked_id=str(pid),
            source=source,
            kind=kind,
            reference=reference,
            topic=safe_text(topic, 300),
            subject=safe_text(subject, 300) if subject else None,
            originator_id=originator_id,
            originator_version=originator_version,
            error_type=error_type,
            error=error,
            behind=str(behind) if behind else None,
            waiting_for=safe_text(waiting_for, 300) if waiting_for else None,
        )
        again = _entry(
            RETRIED,
            succeeded=False,
            automatic=True,
            by=None,
            error_type=error_type,
            error=error,
        )
        row = conn.execute(
            """
            INSERT INTO parked_events (id, source, kind, reference, position, topic, subject,
                originator_id, originator_version, error_type, error, status, behind, waiting_for,
                payload, history)
            VALUES (%(id)s, %(source)s, %(kind)s, %(reference)s, %(position)s, %(topic)s,
                %(subject)s, %(originator_id)s, %(originator_version)s, %(error_type)s, %(error)s,
                'parked', %(behind)s, %(waiting_for)s, %(payload)s, %(history)s)
            ON CONFLICT (id) DO UPDATE SET
                error_type = EXCLUDED.error_type, error = EXCLUDED.error,
                behind = EXCLUDED.behind, waiting_for = EXCLUDED.waiting_for,
                attempts = parked_events.attempts + 1, updated_at = now(),
                status = CASE WHEN parked_events.status = 'skipped' THEN 'skipped' ELSE 'parked' END,
                history = CASE WHEN parked_events.status = 'retried'
                    THEN parked_events.history || %(again)s ELSE parked_events.history END
            RETURNING status
            """,
            {
                "id": pid,
                "source": source,
                "kind": kind,
                "reference": reference,
                "position": position,
                "topic": first["topic"],
                "subject": first["subject"],
                "originator_id": originator_id,
                "originator_version": originator_version,
                "error_type": error_type,
                "error": error,
                "behind": behind,
                "waiting_for": first["waiting_for"],
                "payload": payload,
                "history": Jsonb([first]),
                "again": Jsonb([again]),
            },
        ).fetchone()
        self._dirty = True
        log.warning(
            "event_parked",
            source=source,
            reference=reference,
            topic=first["topic"],
            error_type=error_type,
            error=error,
            behind=str(behind) if behind else None,
        )
        return str(row[0]) if row else PARKED

    def mark_retried(
        self,
        conn: psycopg.Connection[Any],
        row_id: uuid.UUID,
        *,
        by: uuid.UUID | None,
        automatic: bool,
    ) -> None:
        entry = _entry(
            RETRIED,
            succeeded=True,
            automatic=automatic,
            by=str(by) if by else None,
            error_type=None,
            error=None,
        )
        conn.execute(
            "UPDATE parked_events SET status = 'retried', behind = NULL, resolved_by = %s, "
            "updated_at = now(), history = history || %s WHERE id = %s",
            (by, Jsonb([entry]), row_id),
        )
        self._dirty = True

    def note_failure(
        self,
        conn: psycopg.Connection[Any],
        row: ParkedRow,
        exc: BaseException,
        *,
        by: uuid.UUID | None,
        automatic: bool,
        record: bool,
        behind: uuid.UUID | None = None,
    ) -> str:
        """A re-application failed: the event stays parked with the new error (``record``: as an event)."""
        cause = exc.__cause__ if isinstance(exc, StillWaiting) and exc.__cause__ else exc
        error_type, error = type(cause).__name__, error_text(exc)
        waiting_for = safe_text(exc.waiting_for, 300) if isinstance(exc, StillWaiting) else None
        entry = _entry(
            RETRIED,
            succeeded=False,
            automatic=automatic,
            by=str(by) if by else None,
            error_type=error_type,
            error=error,
        )
        conn.execute(
            "UPDATE parked_events SET status = 'parked', error_type = %s, error = %s, "
            "waiting_for = COALESCE(%s, waiting_for), behind = %s, attempts = attempts + 1, "
            "updated_at = now(), history = CASE WHEN %s THEN history || %s ELSE history END "
            "WHERE id = %s",
            (error_type, error, waiting_for, behind, record, Jsonb([entry]), row.id),
        )
        if record:
            self._dirty = True
        return f"{error_type}: {error}"

    # Reading

    def get(self, row_id: uuid.UUID) -> ParkedRow | None:
        with self.pool.connection() as conn:
            return self._read(conn, row_id)

    def find(
        self,
        *,
        status: str | None = None,
        source: str | None = None,
        waiting_for: Sequence[str] | None = None,
        not_waiting_for: str | None = None,
        limit: int | None = None,
        offset: int = 0,
    ) -> tuple[list[ParkedRow], int]:
        filters = Filters()
        if status:
            filters.add("status = %s", status)
        if source:
            filters.add("source = %s", source)
        if waiting_for:
            filters.add("waiting_for = ANY(%s)", list(waiting_for))
        if not_waiting_for:
            filters.add("waiting_for IS DISTINCT FROM %s", not_waiting_for)
        rows, total = counted_page(
            self.pool,
            columns=_COLUMNS,
            source="parked_events",
            filters=filters,
            order_by="seq",
            limit=limit,
            offset=offset,
        )
        return [ParkedRow.from_db(r) for r in rows], total

    def _read(
        self, conn: psycopg.Connection[Any], row_id: uuid.UUID, *, lock: str = ""
    ) -> ParkedRow | None:
        with conn.cursor(row_factory=dict_row) as cur:
            row = cur.execute(
                f"SELECT {_COLUMNS} FROM parked_events WHERE id = %s {lock}",  # noqa: S608 - fixed fragments
                (row_id,),
            ).fetchone()
        return ParkedRow.from_db(row) if row else None

    # Resolving: staff retry or skip, and automatic retries

    def retry(self, row_id: uuid.UUID, *, by: uuid.UUID | None) -> Resolution:
        """Re-apply a parked event now, then the events parked behind it, in order."""
        with self.pool.connection() as conn, conn.transaction():
            row, source = self._lock_open(conn, row_id, action="retry")
            if row.behind is not None:
                raise ParkingError(
                    f"This event waits behind parked event {row.behind} of the same aggregate; "
                    "retry or skip that one first"
                )
            if source is None:
                raise ParkingError(
                    f"'{row.source}' is not running in this process, so this event cannot be "
                    "retried here now; try again shortly",
                    status=503,
                    code="unavailable",
                )
            failure = self._attempt(conn, source, row)
            if failure is not None:
                error = self.note_failure(conn, row, failure, by=by, automatic=False, record=True)
                released: list[ParkedRow] = []
            else:
                error = None
                self.mark_retried(conn, row.id, by=by, automatic=False)
                released = self._release(conn, source, row.id, by)
            after = self._read(conn, row.id)
        self.record_pending()
        assert after is not None  # noqa: S101 - locked and updated above
        return Resolution(after, failure is None, error, released)

    def skip(self, row_id: uuid.UUID, *, by: uuid.UUID | None, reason: str) -> Resolution:
        """Leave a parked event out for good (with the reason), then release the events behind it."""
        with self.pool.connection() as conn, conn.transaction():
            row, source = self._lock_open(conn, row_id, action="skip")
            waiting = conn.execute(
                "SELECT 1 FROM parked_events WHERE behind = %s AND status = 'parked' LIMIT 1",
                (row.id,),
            ).fetchone()
            if waiting and source is None:
                raise ParkingError(
                    f"'{row.source}' is not running in this process, so the events behind this "
                    "one cannot be applied here now; try again shortly",
                    status=503,
                    code="unavailable",
                )
            entry = _entry(SKIPPED, reason=safe_text(reason, 500), by=str(by) if by else None)
            conn.execute(
                "UPDATE parked_events SET status = 'skipped', reason = %s, resolved_by = %s, "
                "updated_at = now(), history = history || %s WHERE id = %s",
                (entry["reason"], by, Jsonb([entry]), row.id),
            )
            self._dirty = True
            released = self._release(conn, source, row.id, by) if source is not None else []
            after = self._read(conn, row.id)
        self.record_pending()
        assert after is not None  # noqa: S101 - locked and updated above
        return Resolution(after, False, None, released)

    def retry_automatically(
        self, row_id: uuid.UUID, reapply: Callable[[ParkedRow, psycopg.Connection[Any]], None]
    ) -> bool:
        """A timer's attempt: True when it applied (recorded as an event); a failure only counts."""
        with self.pool.connection() as conn, conn.transaction():
            row = self._read(conn, row_id, lock="FOR UPDATE SKIP LOCKED")
            if row is None or row.status != PARKED:
                return False  # gone, resolved, or another worker is on it
            try:
                with conn.transaction():
                    reapply(row, conn)
            except Exception as exc:
                if is_transient(exc):
                    raise
                self.note_failure(conn, row, exc, by=None, automatic=True, record=False)
                return False
            self.mark_retried(conn, row.id, by=None, automatic=True)
        self.record_pending()
        return True

    def _lock_open(
        self, conn: psycopg.Connection[Any], row_id: uuid.UUID, *, action: str
    ) -> tuple[ParkedRow, Reapplier | None]:
        row = self._read(conn, row_id)
        if row is None:
            raise ParkingError("Parked event not found", status=404, code="not_found")
        source = self._sources.get(row.source)
        if source is not None:
            source.lock_for_retry(conn)
        row = self._read(conn, row_id, lock="FOR UPDATE")
        if row is None:  # pragma: no cover - rows are never deleted
            raise ParkingError("Parked event not found", status=404, code="not_found")
        if row.status != PARKED:
            raise ParkingError(
                f"This event was already {row.status}; there is nothing to {action}",
                code=f"already_{row.status}",
            )
        return row, source

    def _attempt(
        self, conn: psycopg.Connection[Any], source: Reapplier, row: ParkedRow
    ) -> Exception | None:
        try:
            with conn.transaction():
                source.reapply_parked(row, conn)
        except Exception as exc:
            if is_transient(exc):
                raise ParkingError(
                    "The database is busy or unreachable; nothing changed, try again",
                    status=503,
                    code="unavailable",
                ) from exc
            return exc
        return None

    def _release(
        self,
        conn: psycopg.Connection[Any],
        source: Reapplier,
        head: uuid.UUID,
        by: uuid.UUID | None,
    ) -> list[ParkedRow]:
        """Re-apply what waited behind ``head`` in order; the first that fails becomes the new head."""
        with conn.cursor(row_factory=dict_row) as cur:
            waiting = [
                ParkedRow.from_db(r)
                for r in cur.execute(
                    f"SELECT {_COLUMNS} FROM parked_events WHERE behind = %s AND status = 'parked' "  # noqa: S608
                    "ORDER BY position NULLS LAST, seq FOR UPDATE",
                    (head,),
                ).fetchall()
            ]
        new_head: ParkedRow | None = None
        for row in waiting:
            if new_head is not None:
                conn.execute(
                    "UPDATE parked_events SET behind = %s, updated_at = now() WHERE id = %s",
                    (new_head.id, row.id),
                )
                continue
            failure = self._attempt(conn, source, row)
            if failure is None:
                self.mark_retried(conn, row.id, by=by, automatic=True)
            else:
                self.note_failure(conn, row, failure, by=by, automatic=True, record=True)
                new_head = row
        return [r for r in (self._read(conn, w.id) for w in waiting) if r is not None]

    # Recording as events

    def record_pending(self, *, force: bool = False) -> int:
        """Record in the event store every park, retry and skip not recorded yet; returns how many rows."""
        if self.app is None or not (self._dirty or force):
            return 0
        done = 0
        with self._recording:
            self._dirty = False
            try:
                with self.pool.connection() as conn:
                    rows = conn.execute(
                        "SELECT id, history FROM parked_events "
                        "WHERE recorded < jsonb_array_length(history) ORDER BY seq LIMIT 500"
                    ).fetchall()
            except Exception as exc:
                self._dirty = True
                log.warning("parked_events_not_recorded", error=str(exc))
                return 0
            for row_id, _ in rows:
                try:
                    with self.pool.connection() as conn, conn.transaction():
                        # A row locked by a retry or skip in progress is recorded after it.
                        locked = conn.execute(
                            "SELECT history FROM parked_events WHERE id = %s "
                            "FOR UPDATE SKIP LOCKED",
                            (row_id,),
                        ).fetchone()
                        if locked is None:
                            self._dirty = True
                            continue
                        recorded = self._record(row_id, locked[0])
                        conn.execute(
                            "UPDATE parked_events SET recorded = GREATEST(recorded, %s) WHERE id = %s",
                            (recorded, row_id),
                        )
                    done += 1
                except Exception as exc:  # the next round records it
                    self._dirty = True
                    log.warning("parked_event_not_recorded", parked_id=str(row_id), error=str(exc))
        return done

    def _record(self, row_id: uuid.UUID, history: list[dict[str, Any]]) -> int:
        assert self.app is not None  # noqa: S101 - checked by the caller
        try:
            aggregate: ParkedEvent | None = self.app.repository.get(row_id)
        except AggregateNotFoundError:
            aggregate = None
        start = aggregate.version if aggregate is not None else 0
        if start >= len(history):
            return start
        for entry in history[start:]:
            fields = {k: v for k, v in entry.items() if k != "action"}
            if aggregate is None:
                aggregate = ParkedEvent(**fields)
            elif entry["action"] == RETRIED:
                aggregate.retried(**fields)
            elif entry["action"] == SKIPPED:
                aggregate.skipped(**fields)
        assert aggregate is not None  # noqa: S101 - history starts with the park
        try:
            self.app.save(aggregate)
        except RecordConflictError:
            self._dirty = True  # another process recorded some first: count again next round
            return start
        return len(history)
