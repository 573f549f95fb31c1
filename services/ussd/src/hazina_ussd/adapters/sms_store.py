"""The SMS outbox and what Africa's Talking reported about each message, in PostgreSQL.

A message's id derives from its key (the fact that triggered it), so enqueueing the same fact
twice is one row. Delivery reports are kept once per (message, status) and only move a message's
status forward: a report repeated, or an intermediate one arriving after the final one, changes
nothing.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import psycopg
from psycopg_pool import ConnectionPool

from hazina_servicekit.filtered import Filters, counted_page
from hazina_ussd.application.ports import DeliveryReport, Notice, Outgoing

DDL = """
CREATE TABLE IF NOT EXISTS sms_messages (
    message_id uuid PRIMARY KEY,
    key text NOT NULL UNIQUE,
    client_id uuid,
    phone text NOT NULL,
    kind text NOT NULL,
    language text NOT NULL,
    text text NOT NULL,
    status text NOT NULL DEFAULT 'queued',
    delivery_status text,
    failure_reason text,
    provider_message_id text UNIQUE,
    attempts integer NOT NULL DEFAULT 0,
    last_error text,
    next_attempt_at timestamptz NOT NULL DEFAULT '-infinity',  -- a new message is due at once
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS sms_messages_due ON sms_messages (next_attempt_at) WHERE status = 'queued';
CREATE INDEX IF NOT EXISTS sms_messages_client ON sms_messages (client_id, created_at);
CREATE TABLE IF NOT EXISTS sms_delivery_reports (
    provider_message_id text NOT NULL,
    status text NOT NULL,
    failure_reason text,
    received_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (provider_message_id, status)
);
"""

MESSAGE_NAMESPACE = uuid.UUID("a4e7c1d2-5b3f-4e8a-9d6c-0f1e2d3c4b5a")
# Africa's Talking's delivery statuses: intermediate ones, then final ones.
INTERMEDIATE = {"Sent", "Submitted", "Buffered"}
FINAL = {"Success", "Rejected", "Failed", "AbsentSubscriber", "Expired"}
_RANK = {"queued": 0, "sent": 1, "delivered": 2, "undelivered": 2, "failed": 2}


def message_id(key: str) -> uuid.UUID:
    return uuid.uuid5(MESSAGE_NAMESPACE, key)


def enqueue(conn: psycopg.Connection[Any], notice: Notice) -> bool:
    row = conn.execute(
        """INSERT INTO sms_messages (message_id, key, client_id, phone, kind, language, text)
           VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING RETURNING 1""",
        (
            message_id(notice.key),
            notice.key,
            notice.client_id,
            notice.phone,
            notice.kind,
            notice.language,
            notice.text,
        ),
    ).fetchone()
    return row is not None


class PostgresSms:
    def __init__(self, pool: ConnectionPool) -> None:
        self.pool = pool

    # The outbox

    def enqueue(self, notice: Notice) -> bool:
        with self.pool.connection() as conn:
            return enqueue(conn, notice)

    @contextlib.contextmanager
    def claim_due(self, now: datetime) -> Iterator[Outgoing | None]:
        with self.pool.connection() as conn, conn.transaction():
            row = conn.execute(
                """SELECT message_id, phone, text, attempts FROM sms_messages
                   WHERE status = 'queued' AND next_attempt_at <= %s
                   ORDER BY next_attempt_at LIMIT 1 FOR UPDATE SKIP LOCKED""",
                (now,),
            ).fetchone()
            self._conn = conn
            yield Outgoing(row[0], row[1], row[2], row[3]) if row else None

    def mark_sent(self, message_id: uuid.UUID, provider_id: str, now: datetime) -> None:
        self._conn.execute(
            """UPDATE sms_messages SET status = 'sent', provider_message_id = %s,
                 attempts = attempts + 1, last_error = NULL, updated_at = %s
               WHERE message_id = %s""",
            (provider_id, now, message_id),
        )

    def mark_retry(
        self, message_id: uuid.UUID, error: str, next_attempt_at: datetime, now: datetime
    ) -> None:
        self._conn.execute(
            """UPDATE sms_messages SET attempts = attempts + 1, last_error = %s,
                 next_attempt_at = %s, updated_at = %s WHERE message_id = %s""",
            (error[:500], next_attempt_at, now, message_id),
        )

    def mark_failed(self, message_id: uuid.UUID, error: str, now: datetime) -> None:
        self._conn.execute(
            """UPDATE sms_messages SET status = 'failed', attempts = attempts + 1,
                 last_error = %s, updated_at = %s WHERE message_id = %s""",
            (error[:500], now, message_id),
        )

    # Delivery reports

    def record_report(self, report: DeliveryReport, now: datetime) -> bool:
        """Keep a report once; True when it was new. The message's status only moves forward."""
        with self.pool.connection() as conn, conn.transaction():
            row = conn.execute(
                """INSERT INTO sms_delivery_reports (provider_message_id, status, failure_reason, received_at)
                   VALUES (%s, %s, %s, %s) ON CONFLICT DO NOTHING RETURNING 1""",
                (report.provider_message_id, report.status, report.failure_reason, now),
            ).fetchone()
            if row is None:
                return False
            current = conn.execute(
                "SELECT status FROM sms_messages WHERE provider_message_id = %s FOR UPDATE",
                (report.provider_message_id,),
            ).fetchone()
            if current is None:
                return True
            status = (
                "delivered"
                if report.status == "Success"
                else "undelivered"
                if report.status in FINAL
                else "sent"
            )
            if _RANK[status] > _RANK.get(current[0], 0):
                conn.execute(
                    """UPDATE sms_messages SET status = %s, delivery_status = %s,
                         failure_reason = %s, updated_at = %s WHERE provider_message_id = %s""",
                    (status, report.status, report.failure_reason, now, report.provider_message_id),
                )
            return True

    # Staff

    def notifications(
        self,
        *,
        status: str | None,
        client_id: uuid.UUID | None,
        since: datetime | None,
        until: datetime | None,
        offset: int,
        limit: int | None,
    ) -> tuple[list[dict[str, Any]], int]:
        filters = Filters()
        for clause, value in (
            ("status = %s", status),
            ("client_id = %s", client_id),
            ("created_at >= %s", since),
            ("created_at < %s", until),
        ):
            if value is not None:
                filters.add(clause, value)
        return counted_page(
            self.pool,
            columns="""message_id, client_id, phone, kind, language, text, status,
                delivery_status, failure_reason, provider_message_id, attempts, last_error,
                created_at, updated_at""",
            source="sms_messages",
            filters=filters,
            order_by="created_at DESC, message_id",
            limit=limit,
            offset=offset,
        )
