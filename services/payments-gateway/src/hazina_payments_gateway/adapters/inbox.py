"""The callback inbox: every callback is stored raw and durably before it is acknowledged, and
processed afterwards from here, so a crash after the acknowledgement loses nothing.

Writes come from the async request path (a psycopg async pool; concurrent callbacks are committed
together in small groups, each caller answered only after its row's commit). Processing takes
rows with ``FOR UPDATE SKIP LOCKED``, so several processes may share the work.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import psycopg
import structlog
from psycopg_pool import AsyncConnectionPool, ConnectionPool

from hazina_payments_gateway.application.gateway import NotYetMatchableError
from hazina_payments_gateway.application.records import MalformedCallbackError

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
CREATE INDEX IF NOT EXISTS callback_inbox_pending ON callback_inbox (next_attempt_at, id) WHERE processed_at IS NULL;
CREATE INDEX IF NOT EXISTS callback_inbox_received ON callback_inbox (received_at);
"""

# Callback kinds; each processed kind has a handler registered by bootstrap.
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
    "ncba_notification",
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


Handler = Callable[[bytes], str]
# Many stored callbacks of one kind at once; one outcome (or the error) per body, in order.
BatchHandler = Callable[[list[bytes]], list["str | Exception"]]


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
        interval_seconds: float = 0.5,
    ) -> None:
        self.pool = pool
        self.handlers = handlers
        self.batch_handlers = batch_handlers or {}
        self.before_batch = before_batch
        self.batch_size = batch_size
        self.max_attempts = max_attempts
        self.retry_delay = retry_delay
        self.interval_seconds = interval_seconds
        self._wake: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        with pool.connection() as conn, conn.transaction():
            conn.execute(INBOX_DDL)  # type: ignore[arg-type]

    def wake(self) -> None:
        if self._loop is not None and self._wake is not None:
            with contextlib.suppress(RuntimeError):
                self._loop.call_soon_threadsafe(self._wake.set)

    def process_pending(self) -> int:
        """Process one batch of due rows; returns how many rows it took."""
        self.before_batch()
        with self.pool.connection() as conn, conn.transaction():
            rows = conn.execute(
                """
                SELECT id, kind, body, attempts FROM callback_inbox
                WHERE processed_at IS NULL AND next_attempt_at <= clock_timestamp()
                ORDER BY id LIMIT %s FOR UPDATE SKIP LOCKED
                """,
                (self.batch_size,),
            ).fetchall()
            batched: dict[str, list[tuple[int, bytes, int]]] = {}
            for row_id, kind, body, attempts in rows:
                if kind in self.batch_handlers:
                    batched.setdefault(kind, []).append((row_id, bytes(body), attempts))
                else:
                    self._process_one(conn, row_id, kind, bytes(body), attempts)
            for kind, items in batched.items():
                self._process_batch(conn, kind, items)
        return len(rows)

    def _process_batch(
        self, conn: psycopg.Connection[Any], kind: str, items: list[tuple[int, bytes, int]]
    ) -> None:
        try:
            outcomes = self.batch_handlers[kind]([body for _, body, _ in items])
        except Exception as exc:  # the batch's write failed as a whole: every row is tried again
            outcomes = [exc] * len(items)
        for (row_id, body, attempts), outcome in zip(items, outcomes, strict=True):
            if isinstance(outcome, Exception):
                self._process_one(conn, row_id, kind, body, attempts, failure=outcome)
            else:
                self._finish(conn, row_id, outcome, None)

    def _process_one(
        self,
        conn: psycopg.Connection[Any],
        row_id: int,
        kind: str,
        body: bytes,
        attempts: int,
        *,
        failure: Exception | None = None,
    ) -> None:
        handler = self.handlers.get(kind)
        try:
            if failure is not None:
                raise failure
            outcome = handler(body) if handler else "stored"
        except MalformedCallbackError as exc:
            log.warning("callback_malformed", inbox_id=row_id, kind=kind, error=str(exc))
            self._finish(conn, row_id, "malformed", str(exc))
            return
        except NotYetMatchableError as exc:
            if attempts + 1 >= self.max_attempts:
                self._finish(conn, row_id, "unmatched", str(exc))
            else:
                self._later(conn, row_id, attempts, str(exc))
            return
        except Exception as exc:
            log.warning(
                "callback_processing_failed",
                inbox_id=row_id,
                kind=kind,
                error=f"{type(exc).__name__}: {exc}",
            )
            if attempts + 1 >= self.max_attempts:
                self._finish(conn, row_id, "failed", f"{type(exc).__name__}: {exc}")
            else:
                self._later(conn, row_id, attempts, f"{type(exc).__name__}: {exc}")
            return
        self._finish(conn, row_id, outcome, None)

    def _finish(
        self, conn: psycopg.Connection[Any], row_id: int, outcome: str, error: str | None
    ) -> None:
        conn.execute(
            "UPDATE callback_inbox SET processed_at = clock_timestamp(), outcome = %s, error = %s, "
            "attempts = attempts + 1 WHERE id = %s",
            (outcome, error, row_id),
        )

    def _later(self, conn: psycopg.Connection[Any], row_id: int, attempts: int, error: str) -> None:
        delay = self.retry_delay * (2 ** min(attempts, 6))
        conn.execute(
            "UPDATE callback_inbox SET attempts = attempts + 1, error = %s, "
            "next_attempt_at = clock_timestamp() + %s WHERE id = %s",
            (error, delay, row_id),
        )

    async def run(self, stop: asyncio.Event) -> None:
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        while not stop.is_set():
            self._wake.clear()
            try:
                taken = await asyncio.to_thread(self.process_pending)
            except Exception as exc:
                log.warning("inbox_round_failed", error=f"{type(exc).__name__}: {exc}")
                taken = 0
            if taken >= self.batch_size:
                continue
            waiter = asyncio.ensure_future(self._wake.wait())
            stopper = asyncio.ensure_future(stop.wait())
            await asyncio.wait(
                {waiter, stopper},
                timeout=self.interval_seconds,
                return_when=asyncio.FIRST_COMPLETED,
            )
            for task in (waiter, stopper):
                task.cancel()

    def counts(self) -> dict[str, int]:
        with self.pool.connection() as conn:
            rows = conn.execute(
                "SELECT coalesce(outcome, 'pending'), count(*) FROM callback_inbox GROUP BY 1"
            ).fetchall()
        return {str(r[0]): int(r[1]) for r in rows}
