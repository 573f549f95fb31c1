"""Refresh tokens: opaque, stored only as hashes, rotated on use; reuse revokes the whole family."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from datetime import datetime, timedelta

from psycopg_pool import ConnectionPool

from hazina_identity.application.ports import RefreshOutcome

DDL = """
CREATE TABLE IF NOT EXISTS refresh_tokens (
    token_hash bytea PRIMARY KEY,
    family_id uuid NOT NULL,
    user_id uuid NOT NULL,
    issued_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    used_at timestamptz,
    revoked_at timestamptz
);
CREATE INDEX IF NOT EXISTS refresh_tokens_family ON refresh_tokens (family_id);
CREATE INDEX IF NOT EXISTS refresh_tokens_user ON refresh_tokens (user_id);
"""


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


class PostgresSessionStore:
    def __init__(self, pool: ConnectionPool, *, ttl: timedelta) -> None:
        self._pool = pool
        self._ttl = ttl
        with pool.connection() as conn:
            conn.execute(DDL)

    def issue(self, user_id: uuid.UUID, now: datetime, family_id: uuid.UUID | None = None) -> str:
        token = secrets.token_urlsafe(32)
        with self._pool.connection() as conn:
            conn.execute(
                "INSERT INTO refresh_tokens (token_hash, family_id, user_id, issued_at, expires_at) "
                "VALUES (%s, %s, %s, %s, %s)",
                (_digest(token), family_id or uuid.uuid4(), user_id, now, now + self._ttl),
            )
        return token

    def redeem(self, token: str, now: datetime) -> RefreshOutcome:
        digest = _digest(token)
        with self._pool.connection() as conn, conn.transaction():
            # Marking it used is atomic: of two concurrent presentations, exactly one wins.
            row = conn.execute(
                "UPDATE refresh_tokens SET used_at = %s WHERE token_hash = %s AND used_at IS NULL "
                "AND revoked_at IS NULL AND expires_at > %s RETURNING user_id, family_id",
                (now, digest, now),
            ).fetchone()
            if row is not None:
                return RefreshOutcome(user_id=row[0], family_id=row[1])
            known = conn.execute(
                "SELECT family_id, used_at FROM refresh_tokens WHERE token_hash = %s", (digest,)
            ).fetchone()
            if known is not None and known[1] is not None:
                conn.execute(
                    "UPDATE refresh_tokens SET revoked_at = %s WHERE family_id = %s AND revoked_at IS NULL",
                    (now, known[0]),
                )
                return RefreshOutcome(user_id=None, family_id=None, reused=True)
        return RefreshOutcome(user_id=None, family_id=None)

    def revoke_family_of(self, token: str, user_id: uuid.UUID, now: datetime) -> bool:
        with self._pool.connection() as conn:
            cursor = conn.execute(
                "UPDATE refresh_tokens SET revoked_at = %s WHERE revoked_at IS NULL AND family_id = "
                "(SELECT family_id FROM refresh_tokens WHERE token_hash = %s AND user_id = %s)",
                (now, _digest(token), user_id),
            )
            return cursor.rowcount > 0

    def revoke_user(self, user_id: uuid.UUID, now: datetime) -> int:
        with self._pool.connection() as conn:
            cursor = conn.execute(
                "UPDATE refresh_tokens SET revoked_at = %s WHERE user_id = %s AND revoked_at IS NULL",
                (now, user_id),
            )
            return cursor.rowcount
