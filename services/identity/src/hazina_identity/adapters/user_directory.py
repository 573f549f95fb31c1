"""The staff directory read model: searchable, paginated, rebuilt from the user events."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import psycopg
from eventsourcing.domain import DomainEventProtocol
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool

from hazina_identity.application.ports import DirectoryQuery
from hazina_identity.domain.staff_user import StaffUser
from hazina_servicekit.filtered import Filters, counted_page
from hazina_servicekit.text import like_contains

DDL = """
CREATE TABLE IF NOT EXISTS staff_directory (
    user_id uuid PRIMARY KEY,
    username text NOT NULL UNIQUE,
    name text,
    role text NOT NULL,
    regions text[] NOT NULL DEFAULT '{}',
    branch_id text,
    national_id text,
    phone text,
    active boolean NOT NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    last_login_at timestamptz
);
ALTER TABLE staff_directory ADD COLUMN IF NOT EXISTS email text;
"""


def apply_user_event(event: DomainEventProtocol[uuid.UUID], conn: psycopg.Connection[Any]) -> None:
    """Project one stored user event into ``staff_directory``."""
    if not isinstance(event, StaffUser.Event):
        return  # sign-in address events have no place in the directory
    at: datetime = event.timestamp
    uid = event.originator_id
    if isinstance(event, StaffUser.Created):
        conn.execute(
            """
            INSERT INTO staff_directory (user_id, username, name, role, regions, branch_id,
                national_id, phone, active, created_at, updated_at)
            VALUES (%s, %s, %s, %s, %s, %s, %s, %s, true, %s, %s)
            ON CONFLICT (user_id) DO NOTHING
            """,
            (
                uid,
                event.username.strip().lower(),
                event.name,
                event.role,
                list(event.regions),
                event.branch_id,
                event.national_id,
                event.phone,
                at,
                at,
            ),
        )
    elif isinstance(event, StaffUser.AccessChanged):
        conn.execute(
            "UPDATE staff_directory SET role = %s, regions = %s, branch_id = %s, updated_at = %s "
            "WHERE user_id = %s",
            (event.role, list(event.regions), event.branch_id, at, uid),
        )
    elif isinstance(event, StaffUser.DetailsChanged):
        conn.execute(
            "UPDATE staff_directory SET name = %s, email = %s, phone = %s, national_id = %s, "
            "updated_at = %s WHERE user_id = %s",
            (event.name, event.email, event.phone, event.national_id, at, uid),
        )
    elif isinstance(event, StaffUser.Deactivated | StaffUser.Reactivated):
        conn.execute(
            "UPDATE staff_directory SET active = %s, updated_at = %s WHERE user_id = %s",
            (isinstance(event, StaffUser.Reactivated), at, uid),
        )
    elif isinstance(event, StaffUser.LoginSucceeded):
        conn.execute("UPDATE staff_directory SET last_login_at = %s WHERE user_id = %s", (at, uid))


def truncate_directory(conn: psycopg.Connection[Any]) -> None:
    conn.execute("TRUNCATE staff_directory")


class UserDirectory:
    def __init__(self, pool: ConnectionPool) -> None:
        self._pool = pool

    def search(self, query: DirectoryQuery) -> tuple[list[dict[str, Any]], int]:
        filters = Filters()
        if query.search:
            like = like_contains(query.search.strip())
            filters.add(
                "(username ILIKE %s ESCAPE '\\' OR name ILIKE %s ESCAPE '\\'"
                " OR national_id = %s OR phone LIKE %s ESCAPE '\\')",
                like,
                like,
                query.search.strip(),
                like,
            )
        if query.role:
            filters.add("role = %s", query.role)
        if query.active is not None:
            filters.add("active = %s", query.active)
        return counted_page(
            self._pool,
            columns="*",
            source="staff_directory",
            filters=filters,
            order_by="created_at, username",
            limit=query.limit,
            offset=query.offset,
        )

    def get(self, user_id: uuid.UUID) -> dict[str, Any] | None:
        with self._pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            return cur.execute(
                "SELECT * FROM staff_directory WHERE user_id = %s", (user_id,)
            ).fetchone()
