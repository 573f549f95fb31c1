"""USSD sessions, rate-limit windows and once-a-day job claims, in PostgreSQL: shared by every
instance of the service, so any instance answers the next hop of a session."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from datetime import date, datetime, timedelta
from typing import Any

import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb
from psycopg_pool import ConnectionPool

from hazina_ussd.application.ports import RateCheck, StoredSession

DDL = """
CREATE TABLE IF NOT EXISTS ussd_sessions (
    session_id text PRIMARY KEY,
    phone text NOT NULL,
    state jsonb,
    last_text text NOT NULL DEFAULT '',
    last_reply text NOT NULL DEFAULT '',
    hops integer NOT NULL DEFAULT 0,
    started_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS ussd_sessions_expiry ON ussd_sessions (expires_at);
CREATE UNLOGGED TABLE IF NOT EXISTS rate_windows (
    key text NOT NULL,
    window_start timestamptz NOT NULL,
    hits integer NOT NULL,
    PRIMARY KEY (key, window_start)
);
CREATE TABLE IF NOT EXISTS job_runs (
    job text NOT NULL,
    day date NOT NULL,
    claimed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (job, day)
);
"""


class _Handle:
    def __init__(self, conn: psycopg.Connection[Any], session_id: str, phone: str, now: datetime):
        self.conn = conn
        self.session_id = session_id
        with conn.cursor(row_factory=dict_row) as cur:
            row = cur.execute(
                "SELECT state, last_text, last_reply, expires_at FROM ussd_sessions "
                "WHERE session_id = %s FOR UPDATE",
                (session_id,),
            ).fetchone()
        self.stored = (
            StoredSession(row["state"], row["last_text"], row["last_reply"], row["expires_at"])
            if row
            else StoredSession(None, "", "", None)
        )
        if row is None:
            # Take the row now so a concurrent first hop of the same session waits for this one.
            conn.execute(
                """INSERT INTO ussd_sessions (session_id, phone, started_at, expires_at)
                   VALUES (%s, %s, %s, %s) ON CONFLICT DO NOTHING""",
                (session_id, phone, now, now + timedelta(minutes=3)),
            )
            locked = conn.execute(
                "SELECT state, last_text, last_reply, expires_at FROM ussd_sessions "
                "WHERE session_id = %s FOR UPDATE",
                (session_id,),
            ).fetchone()
            if locked is not None and locked[0] is not None:
                self.stored = StoredSession(locked[0], locked[1], locked[2], locked[3])

    def save(self, state: dict[str, Any], text: str, reply: str, expires_at: datetime) -> None:
        self.conn.execute(
            """UPDATE ussd_sessions SET state = %s, last_text = %s, last_reply = %s,
                 hops = hops + 1, expires_at = %s WHERE session_id = %s""",
            (Jsonb(state), text, reply, expires_at, self.session_id),
        )


class PostgresSessionStore:
    def __init__(self, pool: ConnectionPool) -> None:
        self.pool = pool

    @contextlib.contextmanager
    def open(self, session_id: str, phone: str, now: datetime) -> Iterator[_Handle]:
        with self.pool.connection() as conn, conn.transaction():
            yield _Handle(conn, session_id, phone, now)

    def forget_expired(self, now: datetime, keep: timedelta = timedelta(minutes=10)) -> int:
        """Delete sessions expired for a while (a late hop still finds "expired" meanwhile)."""
        with self.pool.connection() as conn:
            gone = conn.execute(
                "DELETE FROM ussd_sessions WHERE expires_at < %s", (now - keep,)
            ).rowcount
            conn.execute("DELETE FROM rate_windows WHERE window_start < %s", (now - keep * 6,))
        return gone


class PostgresRateLimiter:
    """Fixed windows counted in one upsert for every key of a hop: the same count whichever
    instance a hop reaches, in one round trip (an autocommit pool)."""

    def __init__(self, pool: ConnectionPool) -> None:
        self.pool = pool

    def allow(self, checks: Sequence[RateCheck], now: datetime) -> bool:
        epoch = int(now.timestamp())
        rows = [
            (c.key, datetime.fromtimestamp(epoch - epoch % c.window_seconds, tz=now.tzinfo))
            for c in checks
        ]
        values = ", ".join(["(%s, %s, 1)"] * len(rows))
        with self.pool.connection() as conn:
            counted = conn.execute(
                f"""INSERT INTO rate_windows (key, window_start, hits) VALUES {values}
                    ON CONFLICT (key, window_start) DO UPDATE SET hits = rate_windows.hits + 1
                    RETURNING key, hits""",  # noqa: S608 (placeholders only)
                [v for row in rows for v in row],
            ).fetchall()
        limits = {c.key: c.limit for c in checks}
        return all(int(hits) <= limits[key] for key, hits in counted)


class PostgresJobRuns:
    def __init__(self, pool: ConnectionPool) -> None:
        self.pool = pool

    def claim(self, job: str, day: date) -> bool:
        with self.pool.connection() as conn:
            row = conn.execute(
                "INSERT INTO job_runs (job, day) VALUES (%s, %s) ON CONFLICT DO NOTHING RETURNING 1",
                (job, day),
            ).fetchone()
        return row is not None
