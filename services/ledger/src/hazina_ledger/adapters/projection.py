"""The ledger's projection runner: servicekit's, passing each event's notification id along.

Positions order statements and let balances be asked "as of event N"; the rows and the position
advance in one transaction, exactly once.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import psycopg
from eventsourcing.application import Application
from psycopg_pool import ConnectionPool

from hazina_ledger.adapters.read_models import DDL, apply_event
from hazina_servicekit.projection import Projection

ProgressCallback = Callable[[int, int], None]  # (notification id reached, events applied)

NAME = "ledger_read_models"


class LedgerProjection(Projection):
    def __init__(self, app: Application, pool: ConnectionPool, name: str = NAME) -> None:
        super().__init__(app, pool, name, lambda event, conn: apply_event(event, conn), DDL)

    def catch_up(self, batch_size: int = 500, progress: ProgressCallback | None = None) -> int:
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
                    apply_event(
                        self.app.mapper.to_domain_event(notification), conn, notification.id
                    )
                conn.execute(
                    "UPDATE projection_positions SET notification_id = %s WHERE projection = %s",
                    (notifications[-1].id, self.name),
                )
            total += len(notifications)
            if progress is not None:
                progress(notifications[-1].id, total)
            if len(notifications) < batch_size:
                return total


def drop_schema(conn: psycopg.Connection[Any], schema: str) -> None:
    conn.execute(
        psycopg.sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(psycopg.sql.Identifier(schema))
    )
