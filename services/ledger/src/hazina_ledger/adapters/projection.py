"""The ledger's projection runner: servicekit's, passing each event's notification id along.

Positions order statements and let balances be asked "as of event N"; the rows and the position
advance in one transaction, exactly once. An event it cannot apply is parked by servicekit's
rule (see ``hazina_servicekit.parking``): the ledger's later events of that loan, receipt or
savings account wait behind it until staff retry or skip it.
"""

from __future__ import annotations

import uuid
from typing import Any

import psycopg
from eventsourcing.application import Application
from eventsourcing.persistence import Notification
from psycopg_pool import ConnectionPool

from hazina_ledger.adapters.read_models import DDL, apply_event
from hazina_servicekit.parking import ParkingLot
from hazina_servicekit.projection import Projection

NAME = "ledger_read_models"


class LedgerProjection(Projection):
    def __init__(
        self,
        app: Application[uuid.UUID],
        pool: ConnectionPool,
        name: str = NAME,
        *,
        parking: ParkingLot | None = None,
    ) -> None:
        super().__init__(
            app, pool, name, lambda event, conn: apply_event(event, conn), DDL, parking=parking
        )

    def apply_notification(self, notification: Notification, conn: psycopg.Connection[Any]) -> None:
        apply_event(self.app.mapper.to_domain_event(notification), conn, notification.id)


def drop_schema(conn: psycopg.Connection[Any], schema: str) -> None:
    conn.execute(
        psycopg.sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(psycopg.sql.Identifier(schema))
    )
