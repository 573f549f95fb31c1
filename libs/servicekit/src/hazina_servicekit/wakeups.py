"""A commit wakes the worker that has work from it, in whichever process the worker runs.

A statement trigger sends a PostgreSQL ``NOTIFY`` when a transaction that inserted rows into a
table commits (one per statement, however many rows), and a worker ``LISTEN``s on that channel.
It replaces polling on the hot path: the relay hears of stored events, the read-side follower
of stored events, the gateway's inbox processor of stored callbacks, as soon as they commit,
even when the API that stored them is another process. Every listener keeps a timer as a safety
net (a listening connection can be lost; it reconnects).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

import psycopg
import structlog
from psycopg import sql
from psycopg_pool import ConnectionPool

log = structlog.get_logger(__name__)

_TRIGGER_DDL = """
CREATE OR REPLACE FUNCTION {schema}.hazina_rows_inserted() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify(TG_ARGV[0], '');
    RETURN NULL;
END
$$;
CREATE OR REPLACE TRIGGER {trigger} AFTER INSERT ON {schema}.{table}
    FOR EACH STATEMENT EXECUTE FUNCTION {schema}.hazina_rows_inserted({channel});
"""


def channel_name(schema: str, table: str) -> str:
    """The channel of inserts into ``schema.table`` (channels are per database: the schema
    tells apart the services sharing one)."""
    return f"hazina_{schema}_{table}"[:63]


def announce_inserts(pool: ConnectionPool, schema: str, table: str, *, trigger: str) -> str:
    """Make every committed insert into ``schema.table`` send ``NOTIFY`` on the returned channel.

    Several processes may run this together (one at a time alters the table)."""
    channel = channel_name(schema, table)
    ddl = sql.SQL(_TRIGGER_DDL).format(
        schema=sql.Identifier(schema),
        table=sql.Identifier(table),
        trigger=sql.Identifier(trigger),
        channel=sql.Literal(channel),
    )
    with pool.connection() as conn, conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(hashtext('hazina_rows_inserted ddl'))")
        conn.execute(ddl)
    return channel


def conninfo_of(pool: ConnectionPool) -> str:
    conninfo = pool.conninfo
    return conninfo() if callable(conninfo) else conninfo


async def listen(
    conninfo: str,
    channel: str,
    wake: Callable[[], None],
    stop: asyncio.Event,
    *,
    listening: Callable[[bool], None] = lambda _: None,
    who: str = "",
    announce_as: int | None = None,
) -> None:
    """``LISTEN`` on ``channel`` and call ``wake`` on each notification until ``stop``.

    ``listening(True)`` once the LISTEN is in place (``wake`` is then called once, for what
    was committed while nobody listened), ``listening(False)`` when the connection is lost;
    it reconnects a second later. ``announce_as``: an advisory lock the listening connection
    holds while it listens (if no other listener holds it), so others can tell that someone
    is woken by every commit (``Projection.catch_up(unless_followed=True)``).
    """
    while not stop.is_set():
        try:
            async with await psycopg.AsyncConnection.connect(conninfo, autocommit=True) as conn:
                await conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(channel)))
                if announce_as is not None:
                    await conn.execute("SELECT pg_try_advisory_lock(%s)", (announce_as,))
                listening(True)
                wake()
                async for _ in conn.notifies():
                    wake()
        except Exception as exc:
            log.warning("listen_failed", channel=channel, who=who, error=str(exc))
        finally:
            listening(False)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=1.0)


async def first_of(stop: asyncio.Event, event: asyncio.Event, *, timeout: float) -> None:
    """Wait until ``event`` or ``stop`` is set, ``timeout`` seconds at most."""
    waiters = {asyncio.ensure_future(stop.wait()), asyncio.ensure_future(event.wait())}
    try:
        await asyncio.wait(waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()
