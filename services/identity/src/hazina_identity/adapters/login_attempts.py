"""Failed sign-ins and lockouts per username and per client address."""

from __future__ import annotations

from datetime import datetime, timedelta

from psycopg_pool import ConnectionPool

DDL = """
CREATE TABLE IF NOT EXISTS login_failures (
    key text NOT NULL,
    failed_at timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS login_failures_key ON login_failures (key, failed_at);
CREATE TABLE IF NOT EXISTS login_lockouts (
    key text PRIMARY KEY,
    locked_until timestamptz NOT NULL
);
"""


class PostgresLoginAttempts:
    def __init__(self, pool: ConnectionPool, *, window: timedelta) -> None:
        self._pool = pool
        self._window = window
        with pool.connection() as conn:
            conn.execute(DDL)  # type: ignore[arg-type]

    def locked_until(self, keys: list[str], now: datetime) -> datetime | None:
        with self._pool.connection() as conn:
            row = conn.execute(
                "SELECT max(locked_until) FROM login_lockouts WHERE key = ANY(%s) AND locked_until > %s",
                (keys, now),
            ).fetchone()
        return row[0] if row else None

    def record_failure(self, keys: list[str], now: datetime) -> dict[str, list[datetime]]:
        with self._pool.connection() as conn, conn.transaction():
            conn.execute(
                "DELETE FROM login_failures WHERE failed_at < %s", (now - self._window * 4,)
            )
            for key in keys:
                conn.execute(
                    "INSERT INTO login_failures (key, failed_at) VALUES (%s, %s)", (key, now)
                )
            rows = conn.execute(
                "SELECT key, failed_at FROM login_failures WHERE key = ANY(%s) AND failed_at > %s",
                (keys, now - self._window),
            ).fetchall()
        out: dict[str, list[datetime]] = {key: [] for key in keys}
        for key, at in rows:
            out[key].append(at)
        return out

    def lock(self, key: str, until: datetime) -> None:
        with self._pool.connection() as conn, conn.transaction():
            conn.execute(
                "INSERT INTO login_lockouts (key, locked_until) VALUES (%s, %s) "
                "ON CONFLICT (key) DO UPDATE SET locked_until = GREATEST(login_lockouts.locked_until, "
                "EXCLUDED.locked_until)",
                (key, until),
            )
            # The lock now stands for these failures; after it expires the count starts again.
            conn.execute("DELETE FROM login_failures WHERE key = %s", (key,))

    def clear(self, key: str) -> None:
        with self._pool.connection() as conn:
            conn.execute("DELETE FROM login_failures WHERE key = %s", (key,))
