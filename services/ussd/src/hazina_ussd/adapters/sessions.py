"""USSD sessions, rate-limit windows and once-a-day job claims, in PostgreSQL: shared by every
instance of the service, so any instance answers the next hop of a session."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta

from psycopg.rows import dict_row
from psycopg.types.json import Jsonb
from psycopg_pool import ConnectionPool

from hazina_ussd.adapters.read_models import borrower_of, borrower_queries, client_of
from hazina_ussd.application.ports import (
    HopView,
    RateCheck,
    SavedHop,
    SessionEnded,
    StoredSession,
)

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
ALTER TABLE ussd_sessions ADD COLUMN IF NOT EXISTS ended_at timestamptz,
    ADD COLUMN IF NOT EXISTS end_status text, ADD COLUMN IF NOT EXISTS end_error text,
    ADD COLUMN IF NOT EXISTS duration_ms bigint, ADD COLUMN IF NOT EXISTS cost text;
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


_CLIENT_BY_PHONE = (
    "SELECT * FROM borrower_clients WHERE phone = %s ORDER BY status = 'active' DESC LIMIT 1"
)
_WHOSE = (
    "client_id = (SELECT client_id FROM borrower_clients WHERE phone = %s"
    " ORDER BY status = 'active' DESC LIMIT 1)"
)


class PostgresHopStore:
    """A hop's reads in one round trip and its write in another, on an autocommit pool.

    The reads (the rate windows counted, the session, the borrower and their projections) go
    out together in a pipeline. No row lock is held while the menu runs: the session is saved
    only if no other hop saved it meanwhile (its hop count is unchanged), otherwise the hop runs
    again on what that one saved. Fixed rate windows are counted in one upsert, the same count
    whichever instance a hop reaches.
    """

    def __init__(self, pool: ConnectionPool) -> None:
        self.pool = pool

    def begin(
        self, session_id: str, phone: str, checks: Sequence[RateCheck], now: datetime
    ) -> HopView:
        epoch = int(now.timestamp())
        windows = [
            (c.key, datetime.fromtimestamp(epoch - epoch % c.window_seconds, tz=now.tzinfo))
            for c in checks
        ]
        values = ", ".join(["(%s, %s, 1)"] * len(windows))
        with self.pool.connection() as conn, conn.pipeline():
            counted = conn.cursor()
            counted.execute(
                f"""INSERT INTO rate_windows (key, window_start, hits) VALUES {values}
                    ON CONFLICT (key, window_start) DO UPDATE SET hits = rate_windows.hits + 1
                    RETURNING key, hits""",  # noqa: S608 (placeholders only)
                [v for row in windows for v in row],
            )
            stored = conn.cursor(row_factory=dict_row)
            stored.execute(
                "SELECT state, last_text, last_reply, expires_at, hops FROM ussd_sessions "
                "WHERE session_id = %s",
                (session_id,),
            )
            client = conn.cursor(row_factory=dict_row)
            client.execute(_CLIENT_BY_PHONE, (phone,))
            borrower = borrower_queries(conn, _WHOSE, (phone,))
            hits = counted.fetchall()
            row = stored.fetchone()
            client_row = client.fetchone()
            rows = [c.fetchall() for c in borrower]
        limits = {c.key: c.limit for c in checks}
        found = client_of(client_row) if client_row else None
        return HopView(
            allowed=all(int(n) <= limits[key] for key, n in hits),
            session=StoredSession(
                row["state"], row["last_text"], row["last_reply"], row["expires_at"]
            )
            if row
            else StoredSession(None, "", "", None),
            version=row["hops"] if row else 0,
            client=found,
            borrower=borrower_of(found, *rows) if found else None,
        )

    def save(
        self, session_id: str, phone: str, version: int, saved: SavedHop, now: datetime
    ) -> bool:
        with self.pool.connection() as conn:
            row = conn.execute(
                """INSERT INTO ussd_sessions AS s
                       (session_id, phone, state, last_text, last_reply, hops, started_at,
                        expires_at)
                   VALUES (%s, %s, %s, %s, %s, 1, %s, %s)
                   ON CONFLICT (session_id) DO UPDATE SET state = EXCLUDED.state,
                       last_text = EXCLUDED.last_text, last_reply = EXCLUDED.last_reply,
                       hops = s.hops + 1, expires_at = EXCLUDED.expires_at
                   WHERE s.hops = %s
                   RETURNING 1""",
                (
                    session_id,
                    phone,
                    Jsonb(saved.state),
                    saved.text,
                    saved.reply,
                    now,
                    saved.expires_at,
                    version,
                ),
            ).fetchone()
        return row is not None

    def end(self, ended: SessionEnded, now: datetime) -> bool:
        # The first notification only: a repeated one changes nothing.
        with self.pool.connection() as conn:
            row = conn.execute(
                """UPDATE ussd_sessions SET ended_at = %s, end_status = %s, end_error = %s,
                       duration_ms = %s, cost = %s, expires_at = LEAST(expires_at, %s)
                   WHERE session_id = %s AND phone = %s AND ended_at IS NULL RETURNING 1""",
                (
                    now,
                    ended.status,
                    ended.error,
                    ended.duration_ms,
                    ended.cost,
                    now,
                    ended.session_id,
                    ended.phone,
                ),
            ).fetchone()
        return row is not None

    def forget_expired(self, now: datetime, keep: timedelta = timedelta(minutes=10)) -> int:
        """Delete sessions expired for a while (a late hop still finds "expired" meanwhile)."""
        with self.pool.connection() as conn:
            gone = conn.execute(
                "DELETE FROM ussd_sessions WHERE expires_at < %s", (now - keep,)
            ).rowcount
            conn.execute("DELETE FROM rate_windows WHERE window_start < %s", (now - keep * 6,))
        return gone


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
