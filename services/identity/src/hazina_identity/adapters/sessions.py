"""Refresh tokens: opaque, stored only as hashes, rotated on use; reuse revokes the whole family.

Also identity's own judgement of access tokens (``StoredRevocations``): a session whose family is
revoked, or a token minted from a user revision below ``access_revocations.below_revision``,
no longer works here, at once. Other services learn the same facts from identity's events.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from datetime import datetime, timedelta

from psycopg_pool import ConnectionPool

from hazina_identity.application.ports import RefreshOutcome
from hazina_servicekit.auth import Principal
from hazina_servicekit.errors import Unauthorized

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
CREATE TABLE IF NOT EXISTS access_revocations (
    user_id uuid PRIMARY KEY,
    below_revision integer NOT NULL,
    reason text NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);
"""


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


class PostgresSessionStore:
    def __init__(self, pool: ConnectionPool, *, ttl: timedelta) -> None:
        self._pool = pool
        self._ttl = ttl
        with pool.connection() as conn:
            conn.execute(DDL)  # type: ignore[arg-type]

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
                "SELECT family_id, used_at, user_id FROM refresh_tokens WHERE token_hash = %s",
                (digest,),
            ).fetchone()
            if known is not None and known[1] is not None:
                cursor = conn.execute(
                    "UPDATE refresh_tokens SET revoked_at = %s WHERE family_id = %s AND revoked_at IS NULL",
                    (now, known[0]),
                )
                if cursor.rowcount == 0:  # the session had already ended: nothing new to tell
                    return RefreshOutcome(user_id=None, family_id=None, reused=True)
                return RefreshOutcome(user_id=known[2], family_id=known[0], reused=True)
        return RefreshOutcome(user_id=None, family_id=None)

    def revoke_family_of(self, token: str, user_id: uuid.UUID, now: datetime) -> uuid.UUID | None:
        """Revoke the family of the user's refresh ``token``; its id, None for a stranger's token."""
        with self._pool.connection() as conn:
            row = conn.execute(
                "SELECT family_id FROM refresh_tokens WHERE token_hash = %s AND user_id = %s",
                (_digest(token), user_id),
            ).fetchone()
        if row is None:
            return None
        self.revoke_family(row[0], user_id, now)
        return uuid.UUID(str(row[0]))

    def revoke_family(self, family_id: uuid.UUID, user_id: uuid.UUID, now: datetime) -> bool:
        with self._pool.connection() as conn:
            cursor = conn.execute(
                "UPDATE refresh_tokens SET revoked_at = %s "
                "WHERE family_id = %s AND user_id = %s AND revoked_at IS NULL",
                (now, family_id, user_id),
            )
            return cursor.rowcount > 0

    def revoke_user(self, user_id: uuid.UUID, now: datetime) -> int:
        with self._pool.connection() as conn:
            cursor = conn.execute(
                "UPDATE refresh_tokens SET revoked_at = %s WHERE user_id = %s AND revoked_at IS NULL",
                (now, user_id),
            )
            return cursor.rowcount

    def revoke_access(self, user_id: uuid.UUID, *, below_revision: int, reason: str) -> None:
        with self._pool.connection() as conn:
            conn.execute(
                """
                INSERT INTO access_revocations (user_id, below_revision, reason) VALUES (%s, %s, %s)
                ON CONFLICT (user_id) DO UPDATE SET below_revision = EXCLUDED.below_revision,
                    reason = EXCLUDED.reason, updated_at = now()
                WHERE access_revocations.below_revision < EXCLUDED.below_revision
                """,
                (user_id, below_revision, reason),
            )


LEGACY_TOKEN_REVISION = -1  # a token minted before tokens carried ``rev``


class StoredRevocations:
    """Identity judges tokens from its own tables (one query), not from its events' echo:
    it writes them before the events are saved, so it refuses a revoked token at once."""

    def __init__(self, pool: ConnectionPool) -> None:
        self._pool = pool

    def check(self, principal: Principal) -> None:
        session = _uuid_or_none(principal.session_id)
        with self._pool.connection() as conn:
            row = conn.execute(
                """
                SELECT r.below_revision, r.reason,
                       EXISTS (SELECT 1 FROM refresh_tokens
                               WHERE family_id = %(session)s AND revoked_at IS NOT NULL)
                FROM (SELECT 1) AS one
                LEFT JOIN access_revocations r ON r.user_id = %(user)s
                """,
                {"user": principal.user_id, "session": session},
            ).fetchone()
        if row is None:
            return
        below_revision, reason, session_ended = row
        minted_from = (
            principal.revision if principal.revision is not None else LEGACY_TOKEN_REVISION
        )
        if below_revision is not None and minted_from < below_revision:
            raise Unauthorized(
                f"Token has been revoked ({reason}); sign in again", code="token_revoked"
            )
        if session_ended:
            raise Unauthorized(
                "Token has been revoked (the session was signed out); sign in again",
                code="token_revoked",
            )


def _uuid_or_none(value: str | None) -> uuid.UUID | None:
    try:
        return uuid.UUID(value) if value else None
    except ValueError:
        return None
