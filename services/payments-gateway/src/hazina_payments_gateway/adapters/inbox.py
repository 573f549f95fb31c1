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
from datetime import datetime, timedelta
from typing import Any

import psycopg
import structlog
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool, ConnectionPool

from hazina_payments_gateway.application.gateway import NotYetMatchableError
from hazina_payments_gateway.application.records import Handled, MalformedCallbackError

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

STATUSES = ("pending", "processed", "flagged", "parked", "open", "dismissed")
# What staff are asked to look at; a retry or a dismissal is allowed from these.
ATTENTION = ("flagged", "parked", "open")

# Callback kinds (one per Daraja callback URL); bootstrap registers a handler for each.
KINDS = (
    "b2c_result",
    "b2c_timeout",
    "c2b_validation",
    "c2b_confirmation",
    "stk_callback",
    "status_result",
    "status_timeout",
    "reversal_result",
    "reversal_timeout",
    "balance_result",
    "balance_timeout",
)


class InboxUnavailableError(Exception):
    """The callback could not be stored; the caller must not be told it was accepted."""


@dataclass
class _Pending:
    kind: str
    body: bytes
    remote: str | None
    done: asyncio.Future[int]


class InboxWriter:
    """Stores callbacks; ``store`` returns only after the row is committed."""

    def __init__(
        self, conninfo: str, schema: str, *, max_pool: int = 8, max_group: int = 256
    ) -> None:
        self.conninfo = conninfo
        self.schema = schema
        self.max_pool = max_pool
        self.max_group = max_group
        self.pool: AsyncConnectionPool | None = None
        self._queue: asyncio.Queue[_Pending] | None = None
        self._committers: list[asyncio.Task[None]] = []
        self.on_stored: Callable[[], None] = lambda: None

    async def open(self) -> None:
        self.pool = AsyncConnectionPool(
            self.conninfo,
            min_size=2,
            max_size=self.max_pool,
            open=False,
            name=f"{self.schema}-inbox",
            kwargs={"options": f"-c search_path={self.schema},public", "autocommit": False},
        )
        await self.pool.open(wait=True, timeout=30)
        self._queue = asyncio.Queue()
        self._committers = [
            asyncio.create_task(self._commit_loop()) for _ in range(max(1, self.max_pool - 1))
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
        await self._queue.put(_Pending(kind, body, remote, done))
        return await done

    async def _commit_loop(self) -> None:
        """Group commit: take what is waiting (up to ``max_group``), insert it in one transaction."""
        queue, pool = self._queue, self.pool
        if queue is None or pool is None:
            raise InboxUnavailableError("the inbox is not open")
        while True:
            first = await queue.get()
            group = [first]
            while len(group) < self.max_group and not queue.empty():
                group.append(queue.get_nowait())
            try:
                async with pool.connection(timeout=5) as conn, conn.cursor() as cur:
                    # One round trip (pipeline) and one commit for the whole group.
                    await cur.executemany(
                        "INSERT INTO callback_inbox (kind, body, remote_addr) VALUES (%s, %s, %s) RETURNING id",
                        [(item.kind, item.body, item.remote) for item in group],
                        returning=True,
                    )
                    ids = []
                    while True:
                        row = await cur.fetchone()
                        if row is not None:
                            ids.append(int(row[0]))
                        if not cur.nextset():
                            break
                    await conn.commit()
                if len(ids) != len(group):
                    raise InboxUnavailableError(f"stored {len(ids)} of {len(group)} callbacks")
            except Exception as exc:
                log.error(
                    "callback_store_failed", error=f"{type(exc).__name__}: {exc}", count=len(group)
                )
                for item in group:
                    if not item.done.done():
                        item.done.set_exception(InboxUnavailableError(str(exc)))
                continue
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
            conn.execute(INBOX_DDL)  # type: ignore[arg-type]

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
        return min(self.retry_delay * (2 ** min(attempts, 20)), self.max_retry_delay)

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
        failures = 0
        while not stop.is_set():
            self._wake.clear()
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
            waiter = asyncio.ensure_future(self._wake.wait())
            stopper = asyncio.ensure_future(stop.wait())
            await asyncio.wait(
                {waiter, stopper} if not failures else {stopper},
                timeout=wait,
                return_when=asyncio.FIRST_COMPLETED,
            )
            for task in (waiter, stopper):
                task.cancel()


class InboxRowNotFoundError(Exception):
    pass


class InboxRowStateError(Exception):
    """The row is not in a state the requested decision applies to."""


def inbox_key(row: dict[str, Any]) -> str:
    """A row's lasting identity (ids alone restart if the table is ever recreated)."""
    received: datetime = row["received_at"]
    return f"callback_inbox:{row['id']}:{received.isoformat()}"


def list_rows(
    pool: ConnectionPool,
    *,
    statuses: list[str],
    kind: str | None,
    offset: int,
    limit: int | None,
) -> tuple[list[dict[str, Any]], int]:
    where, params = ["status = ANY(%s)"], [statuses]
    if kind:
        where.append("kind = %s")
        params.append(kind)  # type: ignore[arg-type]
    clause = " AND ".join(where)
    with pool.connection() as conn:
        cur = conn.cursor(row_factory=dict_row)
        total = cur.execute(
            f"SELECT count(*) AS n FROM callback_inbox WHERE {clause}",  # noqa: S608 - fixed clauses, bound values
            params,
        ).fetchone()
        rows = cur.execute(
            f"SELECT * FROM callback_inbox WHERE {clause} ORDER BY id DESC OFFSET %s LIMIT %s",  # noqa: S608
            [*params, offset, limit],
        ).fetchall()
    return list(rows), int(total["n"]) if total else 0  # type: ignore[index]


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
