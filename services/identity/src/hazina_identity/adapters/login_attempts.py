"""Failed sign-ins and locks per (username, address) pair and per address, in PostgreSQL."""

from __future__ import annotations

from datetime import datetime, timedelta

from psycopg_pool import ConnectionPool

from hazina_identity.application.ports import RecentFailures

# The first design kept one counter per username and one per address (``login_failures``,
# ``login_lockouts``); its rows are only throttle state, so they are dropped, not migrated.
DDL = """
DROP TABLE IF EXISTS login_failures;
DROP TABLE IF EXISTS login_lockouts;
CREATE TABLE IF NOT EXISTS sign_in_failures (
    username text NOT NULL,
    client_address text NOT NULL,
    failed_at timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS sign_in_failures_user ON sign_in_failures (username, failed_at);
CREATE INDEX IF NOT EXISTS sign_in_failures_address ON sign_in_failures (client_address, failed_at);
CREATE TABLE IF NOT EXISTS sign_in_locks (
    scope text NOT NULL CHECK (scope IN ('pair', 'address')),
    username text NOT NULL,
    client_address text NOT NULL,
    locked_until timestamptz NOT NULL,
    PRIMARY KEY (scope, username, client_address)
);
"""

# A lock turns on only where none is in force, so of concurrent failures exactly one sees it happen.
_LOCK = """
INSERT INTO sign_in_locks (scope, username, client_address, locked_until) VALUES (%s, %s, %s, %s)
ON CONFLICT (scope, username, client_address) DO UPDATE SET locked_until = EXCLUDED.locked_until
WHERE sign_in_locks.locked_until <= %s
RETURNING 1
"""


class PostgresLoginAttempts:
    def __init__(self, pool: ConnectionPool, *, keep_for: timedelta) -> None:
        self._pool = pool
        self._keep_for = keep_for
        with pool.connection() as conn:
            conn.execute(DDL)  # type: ignore[arg-type]

    def locked_until(self, username: str, client_address: str, now: datetime) -> datetime | None:
        with self._pool.connection() as conn:
            row = conn.execute(
                "SELECT max(locked_until) FROM sign_in_locks WHERE locked_until > %s AND "
                "((scope = 'pair' AND username = %s AND client_address = %s) OR "
                "(scope = 'address' AND client_address = %s))",
                (now, username, client_address, client_address),
            ).fetchone()
        return row[0] if row else None

    def unfamiliar_failures(
        self, username: str, familiar: list[str], since: datetime
    ) -> list[datetime]:
        with self._pool.connection() as conn:
            rows = conn.execute(
                "SELECT failed_at FROM sign_in_failures WHERE username = %s AND failed_at > %s "
                "AND client_address <> ALL(%s)",
                (username, since, familiar),
            ).fetchall()
        return [row[0] for row in rows]

    def record_failure(
        self, username: str, client_address: str, now: datetime, since: datetime
    ) -> RecentFailures:
        with self._pool.connection() as conn, conn.transaction():
            forget_before = now - self._keep_for
            conn.execute("DELETE FROM sign_in_failures WHERE failed_at < %s", (forget_before,))
            conn.execute("DELETE FROM sign_in_locks WHERE locked_until < %s", (forget_before,))
            conn.execute(
                "INSERT INTO sign_in_failures (username, client_address, failed_at) "
                "VALUES (%s, %s, %s)",
                (username, client_address, now),
            )
            rows = conn.execute(
                "SELECT username, failed_at FROM sign_in_failures "
                "WHERE client_address = %s AND failed_at > %s",
                (client_address, since),
            ).fetchall()
        return RecentFailures(
            pair=[at for name, at in rows if name == username],
            address=[at for _, at in rows],
        )

    def _lock(
        self, scope: str, username: str, client_address: str, until: datetime, now: datetime
    ) -> bool:
        with self._pool.connection() as conn:
            row = conn.execute(_LOCK, (scope, username, client_address, until, now)).fetchone()
        return row is not None

    def lock_pair(self, username: str, client_address: str, until: datetime, now: datetime) -> bool:
        return self._lock("pair", username, client_address, until, now)

    def lock_address(self, client_address: str, until: datetime, now: datetime) -> bool:
        return self._lock("address", "", client_address, until, now)

    def succeeded(self, username: str, client_address: str) -> None:
        with self._pool.connection() as conn:
            conn.execute(
                "DELETE FROM sign_in_failures WHERE username = %s AND client_address = %s",
                (username, client_address),
            )

    def lift(self, username: str, now: datetime) -> int:
        with self._pool.connection() as conn, conn.transaction():
            conn.execute("DELETE FROM sign_in_failures WHERE username = %s", (username,))
            rows = conn.execute(
                "DELETE FROM sign_in_locks WHERE scope = 'pair' AND username = %s "
                "RETURNING locked_until",
                (username,),
            ).fetchall()
        return sum(1 for (until,) in rows if until > now)
