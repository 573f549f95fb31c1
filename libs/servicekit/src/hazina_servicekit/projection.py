"""Read models kept from a service's own notification log, exactly once, readable right after a write.

A projection's rows and its position advance in one transaction, so a crash never applies an
event twice or skips one. ``catch_up`` is called after each write (read-your-writes) and by a
background loop (for writes made by other processes); the position row's lock serialises them.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any
from uuid import UUID

import psycopg
from eventsourcing.application import Application
from eventsourcing.domain import DomainEventProtocol
from psycopg_pool import ConnectionPool

# One stored event into the read tables, in the projection's transaction.
Apply = Callable[[DomainEventProtocol[UUID], psycopg.Connection[Any]], None]

POSITIONS_DDL = """
CREATE TABLE IF NOT EXISTS projection_positions (
    projection text PRIMARY KEY,
    notification_id bigint NOT NULL DEFAULT 0
)
"""


class Projection:
    def __init__(
        self, app: Application[UUID], pool: ConnectionPool, name: str, apply: Apply, ddl: str = ""
    ) -> None:
        self.app = app
        self.pool = pool
        self.name = name
        self.apply = apply
        with pool.connection() as conn, conn.transaction():
            conn.execute(POSITIONS_DDL)
            if ddl:
                conn.execute(ddl)
            conn.execute(
                "INSERT INTO projection_positions (projection) VALUES (%s) ON CONFLICT DO NOTHING",
                (name,),
            )

    def position(self) -> int:
        with self.pool.connection() as conn:
            row = conn.execute(
                "SELECT notification_id FROM projection_positions WHERE projection = %s",
                (self.name,),
            ).fetchone()
        return int(row[0]) if row else 0

    def catch_up(self, batch_size: int = 500) -> int:
        """Apply every event not yet applied; returns how many notifications were read."""
        total = 0
        while True:
            with self.pool.connection() as conn, conn.transaction():
                row = conn.execute(
                    "SELECT notification_id FROM projection_positions WHERE projection = %s FOR UPDATE",
                    (self.name,),
                ).fetchone()
                position = int(row[0]) if row else 0
                notifications = self.app.recorder.select_notifications(
                    start=position, limit=batch_size, inclusive_of_start=False
                )
                if not notifications:
                    return total
                for notification in notifications:
                    self.apply(self.app.mapper.to_domain_event(notification), conn)
                conn.execute(
                    "UPDATE projection_positions SET notification_id = %s WHERE projection = %s",
                    (notifications[-1].id, self.name),
                )
            total += len(notifications)
            if len(notifications) < batch_size:
                return total

    def rebuild(self, truncate: Callable[[psycopg.Connection[Any]], None]) -> int:
        """Drop the read model's rows and replay the whole log into it."""
        with self.pool.connection() as conn, conn.transaction():
            truncate(conn)
            conn.execute(
                "UPDATE projection_positions SET notification_id = 0 WHERE projection = %s",
                (self.name,),
            )
        return self.catch_up()

    async def follow(self, stop: asyncio.Event, interval_seconds: float = 0.5) -> None:
        while not stop.is_set():
            # A failed round is retried by the next; the write path also catches up.
            with contextlib.suppress(Exception):
                await asyncio.to_thread(self.catch_up)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=interval_seconds)
