"""The callback inbox: every callback is stored raw and durably before it is acknowledged, and
processed afterwards from here, so a crash after the acknowledgement loses nothing.

Writes come from the async request path (a psycopg async pool; concurrent callbacks are committed
together in small groups, each caller answered only after its row's commit). Processing takes
rows with ``FOR UPDATE SKIP LOCKED``, so several processes may share the work.

A row's ``status``: ``pending`` (due at ``next_attempt_at``), ``processed``, ``flagged`` (unreadable,
surprising or conflicting: a person must look; ``error`` says why), ``parked`` (processing kept
failing: retried a bounded number of times with growing delays, then set aside), ``open`` (kept
and described in ``detail``, but nothing acts on that kind yet), ``dismissed`` (by staff). No row
can hold up another: each is decided and written on its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import psycopg
import structlog
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool, ConnectionPool

from hazina_payments_gateway.adapters.read_models import match_reference_async
from hazina_payments_gateway.application.gateway import NotYetMatchableError
from hazina_payments_gateway.application.ports import (
    ATTENTION,
    InboxRowNotFoundError,
    InboxRowStateError,
    InboxUnavailableError,
    ReferenceMatch,
)
from hazina_payments_gateway.application.records import Handled, MalformedCallbackError
from hazina_servicekit.filtered import Filters, counted_page
from hazina_servicekit.wakeups import announce_inserts, conninfo_of, listen

log = structlog.get_logger(__name__)

INBOX_DDL = """
CREATE TABLE IF NOT EXISTS callback_inbox (
    id bigserial PRIMARY KEY,
    kind text NOT NULL,
    received_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    remote_addr text,
    body bytea NOT NULL,
    processed_at timestamptz,
    next_attempt_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    attempts int NOT NULL DEFAULT 0,
    outcome text,
    error text
);
CREATE INDEX IF NOT EXISTS callback_inbox_received ON callback_inbox (received_at);
ALTER TABLE callback_inbox ADD COLUMN IF NOT EXISTS status text NOT NULL DEFAULT 'pending';
ALTER TABLE callback_inbox ADD COLUMN IF NOT EXISTS detail jsonb;
DROP INDEX IF EXISTS callback_inbox_pending;
CREATE INDEX IF NOT EXISTS callback_inbox_due ON callback_inbox (next_attempt_at, id) WHERE status = 'pending';
CREATE INDEX IF NOT EXISTS callback_inbox_attention ON callback_inbox (status, id)
    WHERE status IN ('flagged', 'parked', 'open');
-- Rows closed before rows had a status: what their outcome meant.
UPDATE callback_inbox SET status = CASE outcome
        WHEN 'malformed' THEN 'flagged' WHEN 'unmatched' THEN 'flagged'
        WHEN 'failed' THEN 'parked'
        WHEN 'stored' THEN CASE WHEN kind = 'c2b_validation' THEN 'processed' ELSE 'open' END
        ELSE 'processed' END
    WHERE status = 'pending' AND processed_at IS NOT NULL;
"""


@dataclass
class _Pending:
    kind: str
    body: bytes
    remote: str | None
    done: asyncio.Future[int]


# One statement for a whole group: the ids come back in insertion order (one sequence, one
# statement, rows inserted in ``n`` order), so sorted they line up with the group.
GROUP_INSERT = """
INSERT INTO callback_inbox (kind, body, remote_addr)
SELECT kind, body, remote
FROM unnest(%b::text[], %b::bytea[], %b::text[]) WITH ORDINALITY AS t(kind, body, remote, n)
ORDER BY n
RETURNING id
"""


class InboxWriter:
    """Stores callbacks; ``store`` returns only after the row is committed.

    Group commit: callers queue their row and wait; ``committers`` tasks each take what is waiting
    (lingering ``linger_seconds`` for more while the group is not full, so a burst shares one
    commit), insert the group in one statement and commit once, then answer every caller in it.
    Work per callback is O(1): one queue entry, one array element, one future.
    """

    def __init__(
        self,
        conninfo: str,
        schema: str,
        *,
        committers: int = 3,
        max_group: int = 256,
        linger_seconds: float = 0.002,
    ) -> None:
        self.conninfo = conninfo
        self.schema = schema
        self.committers = max(1, committers)
        self.max_group = max_group
        self.linger_seconds = linger_seconds
        self.pool: AsyncConnectionPool | None = None
        self._queue: asyncio.Queue[_Pending] | None = None
        self._committers: list[asyncio.Task[None]] = []
        self.on_stored: Callable[[], None] = lambda: None
        self.groups = 0  # groups committed (each one INSERT, one commit)
        self.stored = 0  # callbacks in them

    async def open(self) -> None:
        self.pool = AsyncConnectionPool(
            self.conninfo,
            min_size=2,
            # a connection per committer, and some for validation look-ups on the request path
            max_size=self.committers + 3,
            open=False,
            name=f"{self.schema}-inbox",
            # autocommit: a group's one INSERT is its transaction, committed in the same round trip
            kwargs={"options": f"-c search_path={self.schema},public", "autocommit": True},
        )
        await self.pool.open(wait=True, timeout=30)
        self._queue = asyncio.Queue()
        self._committers = [
            asyncio.create_task(self._commit_loop()) for _ in range(self.committers)
        ]

    async def close(self) -> None:
        for task in self._committers:
            task.cancel()
        for task in self._committers:
            with contextlib.suppress(BaseException):
                await task
        if self.pool is not None:
            await self.pool.close()

    async def store(self, kind: str, body: bytes, remote: str | None) -> int:
        if self._queue is None:
            raise InboxUnavailableError("the inbox is not open")
        done: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait(_Pending(kind, body, remote, done))
        return await done

    async def match_reference(self, bill_ref: str | None) -> ReferenceMatch | None:
        """What ``bill_ref`` matches, read on this inbox's pool (the request path's); None while
        the inbox is not open."""
        if self.pool is None:
            return None
        return await match_reference_async(self.pool, bill_ref)

    async def _take_group(self, queue: asyncio.Queue[_Pending]) -> list[_Pending]:
        group = [await queue.get()]
        if self.linger_seconds > 0 and queue.qsize() < self.max_group - 1:
            await asyncio.sleep(self.linger_seconds)  # a few ms for the rest of a burst
        while len(group) < self.max_group and not queue.empty():
            group.append(queue.get_nowait())
        return group

    async def insert_group(self, group: list[_Pending]) -> list[int]:
        """Insert ``group`` in one statement, committed when it returns (autocommit: one round
        trip for the group); the ids in the group's order."""
        if self.pool is None:
            raise InboxUnavailableError("the inbox is not open")
        async with self.pool.connection(timeout=5) as conn, conn.cursor() as cur:
            await cur.execute(
                GROUP_INSERT,
                (
                    [item.kind for item in group],
                    [item.body for item in group],
                    [item.remote for item in group],
                ),
            )
            ids = sorted(int(row[0]) for row in await cur.fetchall())
        if len(ids) != len(group):
            raise InboxUnavailableError(f"stored {len(ids)} of {len(group)} callbacks")
        return ids

    async def _commit_loop(self) -> None:
        """One committer: take a group, store it in one transaction, answer its callers."""
        queue = self._queue
        if queue is None:
            raise InboxUnavailableError("the inbox is not open")
        while True:
            group = await self._take_group(queue)
            try:
                ids = await self.insert_group(group)
            except Exception as exc:
                log.error(
                    "callback_store_failed", error=f"{type(exc).__name__}: {exc}", count=len(group)
                )
                for item in group:
                    if not item.done.done():
                        item.done.set_exception(InboxUnavailableError(str(exc)))
                continue
            self.groups += 1
            self.stored += len(group)
            for item, row_id in zip(group, ids, strict=True):
                if not item.done.done():
                    item.done.set_result(row_id)
            self.on_stored()


Outcome = str | Handled
Handler = Callable[[bytes], Outcome]
# Many stored callbacks of one kind at once; one outcome (or the error) per body, in order.
BatchHandler = Callable[[list[bytes]], list["Outcome | Exception"]]

MAX_ERROR = 1000


def safe_text(text: str, limit: int = MAX_ERROR) -> str:
    """Text for the ``error`` column and logs: control characters escaped (a NUL cannot be stored
    in a text column at all), never longer than ``limit``."""
    escaped = "".join(
        ch if ch.isprintable() or ch == " " else ascii(ch)[1:-1] for ch in text[: limit * 2]
    )
    return escaped if len(escaped) <= limit else escaped[: limit - 1] + "…"


@dataclass(frozen=True)
class _Decision:
    status: str
    outcome: str | None
    error: str | None = None
    detail: dict[str, Any] | None = None
    retry_in: timedelta | None = None  # status 'pending': try again after this


class InboxProcessor:
    """Applies stored callbacks to the use cases, each exactly once in effect (the use cases are idempotent)."""

    def __init__(
        self,
        pool: ConnectionPool,
        handlers: dict[str, Handler],
        *,
        batch_handlers: dict[str, BatchHandler] | None = None,
        before_batch: Callable[[], object] = lambda: None,
        batch_size: int = 200,
        max_attempts: int = 8,
        retry_delay: timedelta = timedelta(seconds=2),
        max_retry_delay: timedelta = timedelta(minutes=15),
        interval_seconds: float = 0.5,
    ) -> None:
        self.pool = pool
        self.handlers = handlers
        self.batch_handlers = batch_handlers or {}
        self.before_batch = before_batch
        self.batch_size = batch_size
        self.max_attempts = max(1, max_attempts)
        self.retry_delay = retry_delay
        self.max_retry_delay = max_retry_delay
        self.interval_seconds = interval_seconds
        self._wake: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._refresh_warned_at = 0.0
        with pool.connection() as conn, conn.transaction():
            # Several replicas may start together: one of them alters the table at a time.
            conn.execute("SELECT pg_advisory_xact_lock(hashtext('callback_inbox ddl'))")
            conn.execute(INBOX_DDL)
            row = conn.execute("SELECT current_schema()").fetchone()
        # A stored callback wakes the processor even when another process (the API) stored it.
        self.channel = announce_inserts(
            pool, str(row[0]) if row else "public", "callback_inbox", trigger="callback_stored"
        )

    def wake(self) -> None:
        if self._loop is not None and self._wake is not None:
            with contextlib.suppress(RuntimeError):
                self._loop.call_soon_threadsafe(self._wake.set)

    def _refresh(self) -> None:
        """Bring the read models up to date before matching; if that fails, rows are still
        processed (what cannot be matched yet is tried again later), and the failure is logged."""
        try:
            self.before_batch()
        except Exception as exc:
            now = time.monotonic()
            if now - self._refresh_warned_at > 30:
                self._refresh_warned_at = now
                log.warning("inbox_refresh_failed", error=safe_text(f"{type(exc).__name__}: {exc}"))

    def process_pending(self) -> int:
        """Process one batch of due rows; returns how many rows it took."""
        self._refresh()
        with self.pool.connection() as conn, conn.transaction():
            rows = conn.execute(
                """
                SELECT id, kind, body, attempts FROM callback_inbox
                WHERE status = 'pending' AND next_attempt_at <= clock_timestamp()
                ORDER BY id LIMIT %s FOR UPDATE SKIP LOCKED
                """,
                (self.batch_size,),
            ).fetchall()
            batched: dict[str, list[tuple[int, bytes, int]]] = {}
            for row_id, kind, body, attempts in rows:
                if kind in self.batch_handlers:
                    batched.setdefault(kind, []).append((row_id, bytes(body), attempts))
                else:
                    self._write(
                        conn, row_id, kind, self._decide(row_id, kind, bytes(body), attempts)
                    )
            for kind, items in batched.items():
                self._process_batch(conn, kind, items)
        return len(rows)

    def _process_batch(
        self, conn: psycopg.Connection[Any], kind: str, items: list[tuple[int, bytes, int]]
    ) -> None:
        outcomes: list[Outcome | Exception]
        try:
            outcomes = self.batch_handlers[kind]([body for _, body, _ in items])
            if len(outcomes) != len(items):
                raise RuntimeError(f"{len(outcomes)} outcomes for {len(items)} callbacks")
        except Exception as exc:  # the batch's write failed as a whole: each row is tried alone
            log.warning(
                "callback_batch_failed",
                kind=kind,
                count=len(items),
                error=safe_text(f"{type(exc).__name__}: {exc}"),
            )
            outcomes = [exc] * len(items)
        decided: list[tuple[int, _Decision]] = []
        for (row_id, body, attempts), outcome in zip(items, outcomes, strict=True):
            if isinstance(outcome, MalformedCallbackError) or (
                isinstance(outcome, Exception) and kind not in self.handlers
            ):
                decision = self._decide(row_id, kind, body, attempts, failure=outcome)
            elif isinstance(outcome, Exception):
                # Tried alone, so one row that cannot be written never holds up the others.
                decision = self._decide(row_id, kind, body, attempts)
            else:
                decision = self._decision_for(outcome)
            decided.append((row_id, decision))
        self._write_many(conn, kind, decided)

    def _write_many(
        self, conn: psycopg.Connection[Any], kind: str, decided: list[tuple[int, _Decision]]
    ) -> None:
        """Write a batch's final decisions in one statement (one round trip for the batch); a row
        still pending, or every row if that statement fails, is written on its own."""
        final = [(row_id, d) for row_id, d in decided if d.status != "pending"]
        alone = [(row_id, d) for row_id, d in decided if d.status == "pending"]
        if final:
            try:
                with conn.transaction():
                    conn.execute(
                        """
                        UPDATE callback_inbox AS c
                        SET status = d.status, outcome = d.outcome, error = d.error,
                            detail = d.detail, processed_at = clock_timestamp(),
                            attempts = c.attempts + 1
                        FROM unnest(%b::bigint[], %b::text[], %b::text[], %b::text[], %b::jsonb[])
                            AS d(id, status, outcome, error, detail)
                        WHERE c.id = d.id
                        """,
                        (
                            [row_id for row_id, _ in final],
                            [d.status for _, d in final],
                            [d.outcome for _, d in final],
                            [d.error for _, d in final],
                            [Jsonb(d.detail) if d.detail is not None else None for _, d in final],
                        ),
                    )
            except Exception as exc:
                log.warning(
                    "callback_decisions_not_written_together",
                    kind=kind,
                    count=len(final),
                    error=safe_text(f"{type(exc).__name__}: {exc}"),
                )
                alone = decided
        for row_id, decision in alone:
            self._write(conn, row_id, kind, decision)

    def _decide(
        self,
        row_id: int,
        kind: str,
        body: bytes,
        attempts: int,
        *,
        failure: Exception | None = None,
    ) -> _Decision:
        """Run the handler and turn what happened into the row's next state; never raises."""
        handler = self.handlers.get(kind)
        try:
            if failure is not None:
                raise failure
            if handler is None:
                return _Decision("open", "unhandled", f"no handler for '{safe_text(kind, 60)}'")
            return self._decision_for(handler(body))
        except MalformedCallbackError as exc:
            log.warning("callback_flagged", inbox_id=row_id, kind=kind, error=safe_text(str(exc)))
            return _Decision("flagged", "malformed", safe_text(str(exc)))
        except NotYetMatchableError as exc:
            if attempts + 1 >= self.max_attempts:
                log.warning("callback_unmatched", inbox_id=row_id, kind=kind)
                return _Decision("flagged", "unmatched", safe_text(str(exc)))
            return _Decision("pending", None, safe_text(str(exc)), retry_in=self._delay(attempts))
        except Exception as exc:
            error = safe_text(f"{type(exc).__name__}: {exc}")
            if attempts + 1 >= self.max_attempts:
                log.error("callback_parked", inbox_id=row_id, kind=kind, error=error)
                return _Decision("parked", "failed", error)
            log.warning("callback_processing_failed", inbox_id=row_id, kind=kind, error=error)
            return _Decision("pending", None, error, retry_in=self._delay(attempts))

    @staticmethod
    def _decision_for(outcome: Outcome) -> _Decision:
        if isinstance(outcome, Handled):
            return _Decision(
                outcome.status,
                outcome.outcome,
                safe_text(outcome.reason) if outcome.reason else None,
                outcome.detail,
            )
        return _Decision("processed", outcome)

    def _delay(self, attempts: int) -> timedelta:
        factor: int = 2 ** min(attempts, 20)
        return min(self.retry_delay * factor, self.max_retry_delay)

    def _write(
        self, conn: psycopg.Connection[Any], row_id: int, kind: str, decision: _Decision
    ) -> None:
        """Write one row's decision in its own savepoint; if even that fails, park the row with a
        plain message, so it is neither lost nor taken again in the next round."""
        try:
            with conn.transaction():
                self._update(conn, row_id, decision)
        except Exception as exc:
            log.error(
                "callback_decision_not_written",
                inbox_id=row_id,
                kind=kind,
                error=safe_text(f"{type(exc).__name__}: {exc}"),
            )
            with conn.transaction():
                self._update(
                    conn,
                    row_id,
                    _Decision("parked", "failed", "the processing result could not be stored"),
                )

    @staticmethod
    def _update(conn: psycopg.Connection[Any], row_id: int, decision: _Decision) -> None:
        detail = Jsonb(decision.detail) if decision.detail is not None else None
        if decision.status == "pending":
            conn.execute(
                "UPDATE callback_inbox SET attempts = attempts + 1, error = %s, "
                "next_attempt_at = clock_timestamp() + %s WHERE id = %s",
                (decision.error, decision.retry_in or timedelta(0), row_id),
            )
            return
        conn.execute(
            "UPDATE callback_inbox SET status = %s, outcome = %s, error = %s, detail = %s, "
            "processed_at = clock_timestamp(), attempts = attempts + 1 WHERE id = %s",
            (decision.status, decision.outcome, decision.error, detail, row_id),
        )

    async def run(self, stop: asyncio.Event) -> None:
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        listener = asyncio.create_task(
            listen(conninfo_of(self.pool), self.channel, self._wake.set, stop, who="inbox")
        )
        try:
            await self._process_until(stop, self._wake)
        finally:
            listener.cancel()
            with contextlib.suppress(BaseException):
                await listener

    async def _process_until(self, stop: asyncio.Event, wake: asyncio.Event) -> None:
        failures = 0
        while not stop.is_set():
            wake.clear()
            wait = self.interval_seconds
            try:
                taken = await asyncio.to_thread(self.process_pending)
                failures = 0
            except Exception as exc:
                failures += 1
                log.warning(
                    "inbox_round_failed",
                    error=safe_text(f"{type(exc).__name__}: {exc}"),
                    failures=failures,
                )
                taken = 0
                wait = min(self.interval_seconds * 2**failures, 30.0)  # never a hot loop
            if taken >= self.batch_size:
                continue
            waiter = asyncio.ensure_future(wake.wait())
            stopper = asyncio.ensure_future(stop.wait())
            await asyncio.wait(
                {waiter, stopper} if not failures else {stopper},
                timeout=wait,
                return_when=asyncio.FIRST_COMPLETED,
            )
            for task in (waiter, stopper):
                task.cancel()


def list_rows(
    pool: ConnectionPool,
    *,
    statuses: list[str],
    kind: str | None,
    offset: int,
    limit: int | None,
) -> tuple[list[dict[str, Any]], int]:
    filters = Filters()
    filters.add("status = ANY(%s)", statuses)
    if kind:
        filters.add("kind = %s", kind)
    return counted_page(
        pool,
        columns="*",
        source="callback_inbox",
        filters=filters,
        order_by="id DESC",
        limit=limit,
        offset=offset,
    )


def get_row(pool: ConnectionPool, row_id: int) -> dict[str, Any]:
    with pool.connection() as conn:
        row = (
            conn.cursor(row_factory=dict_row)
            .execute("SELECT * FROM callback_inbox WHERE id = %s", (row_id,))
            .fetchone()
        )
    if row is None:
        raise InboxRowNotFoundError(f"no stored callback {row_id}")
    return row


def attention_counts(pool: ConnectionPool) -> dict[str, int]:
    with pool.connection() as conn:
        rows = conn.execute(
            "SELECT status, count(*) FROM callback_inbox WHERE status = ANY(%s) GROUP BY 1",
            (list(ATTENTION),),
        ).fetchall()
    found = {str(r[0]): int(r[1]) for r in rows}
    return {status: found.get(status, 0) for status in ATTENTION}


def resolve(
    pool: ConnectionPool,
    row_id: int,
    decision: str,
    record: Callable[[dict[str, Any]], object],
) -> dict[str, Any]:
    """Apply a staff decision to a row awaiting attention: ``record(row)`` stores the decision
    (an event) while the row is locked, then the row changes; both or, if recording fails, neither."""
    with pool.connection() as conn, conn.transaction():
        cur = conn.cursor(row_factory=dict_row)
        row = cur.execute(
            "SELECT * FROM callback_inbox WHERE id = %s FOR UPDATE", (row_id,)
        ).fetchone()
        if row is None:
            raise InboxRowNotFoundError(f"no stored callback {row_id}")
        if row["status"] not in ATTENTION:
            raise InboxRowStateError(
                f"stored callback {row_id} is {row['status']}; only flagged, parked or open"
                " callbacks can be retried or dismissed"
            )
        record(row)
        if decision == "retry":
            cur.execute(
                "UPDATE callback_inbox SET status = 'pending', attempts = 0, processed_at = NULL, "
                "next_attempt_at = clock_timestamp() WHERE id = %s",
                (row_id,),
            )
        else:
            cur.execute(
                "UPDATE callback_inbox SET status = 'dismissed', processed_at = clock_timestamp() "
                "WHERE id = %s",
                (row_id,),
            )
        updated = cur.execute("SELECT * FROM callback_inbox WHERE id = %s", (row_id,)).fetchone()
    if updated is None:
        raise InboxRowNotFoundError(f"no stored callback {row_id}")
    return updated


class StaffInbox:
    """The stored callbacks as staff see them and decide on them (``StoredCallbacks``)."""

    def __init__(self, pool: ConnectionPool, processor: InboxProcessor) -> None:
        self.pool = pool
        self.processor = processor

    def page(
        self, *, statuses: list[str], kind: str | None, offset: int, limit: int | None
    ) -> tuple[list[dict[str, Any]], int]:
        return list_rows(self.pool, statuses=statuses, kind=kind, offset=offset, limit=limit)

    def get(self, row_id: int) -> dict[str, Any]:
        return get_row(self.pool, row_id)

    def resolve(
        self, row_id: int, decision: str, record: Callable[[dict[str, Any]], object]
    ) -> dict[str, Any]:
        return resolve(self.pool, row_id, decision, record)

    def attention_counts(self) -> dict[str, int]:
        return attention_counts(self.pool)

    def wake(self) -> None:
        self.processor.wake()
