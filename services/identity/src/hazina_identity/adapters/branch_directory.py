"""Branches as staff pages read them, and the staff lists that name each person's branch.

The ``branches`` table is kept by the staff directory's projection (one projection, so a staff
row and the branch it names are always as of the same event); ``apply_directory_event`` applies
user and branch events alike.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from eventsourcing.domain import DomainEventProtocol
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool

from hazina_identity.adapters.user_directory import DDL as USER_DDL
from hazina_identity.adapters.user_directory import apply_user_event
from hazina_identity.domain.branch import Branch

BRANCH_DDL = """
CREATE TABLE IF NOT EXISTS branches (
    branch_id uuid PRIMARY KEY,
    name text NOT NULL,
    code text NOT NULL,
    location text,
    address text,
    phone text,
    email text,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS branches_code ON branches (code);
"""
DDL = USER_DDL + BRANCH_DDL

# Serialises "is this code free?" with the save that takes it (pg_advisory_lock key).
_CODE_LOCK = 0x4252414E  # "BRAN"


def apply_directory_event(
    event: DomainEventProtocol[uuid.UUID], conn: psycopg.Connection[Any]
) -> None:
    """Project one stored event into the staff directory or the branches."""
    if isinstance(event, Branch.Opened | Branch.DetailsChanged):
        conn.execute(
            """
            INSERT INTO branches (branch_id, name, code, location, address, phone, email,
                created_at, updated_at)
            VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)
            ON CONFLICT (branch_id) DO UPDATE SET name = EXCLUDED.name, code = EXCLUDED.code,
                location = EXCLUDED.location, address = EXCLUDED.address,
                phone = EXCLUDED.phone, email = EXCLUDED.email, updated_at = EXCLUDED.updated_at
            """,
            (
                event.originator_id,
                event.name,
                event.code,
                event.location,
                event.address,
                event.phone,
                event.email,
                event.timestamp,
                event.timestamp,
            ),
        )
        return
    apply_user_event(event, conn)


_STAFF = (
    "SELECT s.*, b.name AS branch_name FROM staff_directory s "
    "LEFT JOIN branches b ON b.branch_id::text = s.branch_id "
)


class BranchDirectory:
    """Reads of the branches and of the staff who work in them."""

    def __init__(self, pool: ConnectionPool) -> None:
        self._pool = pool

    def branches(self) -> list[dict[str, Any]]:
        with self._pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            return cur.execute("SELECT * FROM branches ORDER BY name, code").fetchall()

    def branch(self, branch_id: uuid.UUID) -> dict[str, Any] | None:
        with self._pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            return cur.execute(
                "SELECT * FROM branches WHERE branch_id = %s", (branch_id,)
            ).fetchone()

    def holder_of_code(self, code: str) -> uuid.UUID | None:
        """The branch that has ``code`` now, if any."""
        with self._pool.connection() as conn:
            row = conn.execute(
                "SELECT branch_id FROM branches WHERE code = %s LIMIT 1", (code,)
            ).fetchone()
        return row[0] if row else None

    @contextmanager
    def codes_locked(self) -> Iterator[None]:
        """One branch change at a time across every identity process, so two requests cannot
        both find a code free and both take it."""
        with self._pool.connection() as conn:
            conn.execute("SELECT pg_advisory_lock(%s)", (_CODE_LOCK,))
            try:
                yield
            finally:
                conn.execute("SELECT pg_advisory_unlock(%s)", (_CODE_LOCK,))

    def staff(self, roles: tuple[str, ...], active: bool | None = None) -> list[dict[str, Any]]:
        where = "s.role = ANY(%s)"
        params: list[object] = [list(roles)]
        if active is not None:
            where += " AND s.active = %s"
            params.append(active)
        with self._pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            return cur.execute(
                _STAFF + f"WHERE {where} ORDER BY s.created_at, s.username",
                params,
            ).fetchall()

    def staff_member(self, user_id: uuid.UUID) -> dict[str, Any] | None:
        with self._pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            return cur.execute(_STAFF + "WHERE s.user_id = %s", (user_id,)).fetchone()
