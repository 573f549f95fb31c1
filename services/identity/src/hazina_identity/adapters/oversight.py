"""The audit log and staff notifications: read models of the contract events on the IDENTITY,
ORIGINATION, LEDGER and PAYMENTS streams, kept by one durable consumer per stream.

Each message is handled inside servicekit's DurableConsumer transaction (its processed-message
record and these rows commit together), and every row is keyed by the event's id (a notification
by the event's id and its recipient), so a message delivered twice changes nothing. A message that
cannot be applied is parked like any other consumer's.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb
from psycopg_pool import ConnectionPool

from hazina_contracts.envelope import EventEnvelope
from hazina_contracts.subjects import Stream
from hazina_identity.application.oversight import AuditQuery
from hazina_identity.domain.oversight import Known, Notice, about, audit_entry, learned, notices
from hazina_servicekit.filtered import Filters, counted_page
from hazina_servicekit.logging import mask_personal_data
from hazina_servicekit.service import Consumer

# The streams whose every event is audited: each command of each service is one of them.
AUDITED_STREAMS = (Stream.IDENTITY, Stream.ORIGINATION, Stream.LEDGER, Stream.PAYMENTS)
# Who may approve a loan (ROLES.md), and so is told a loan awaits approval.
APPROVER_ROLES = ["initiator_admin", "approver_admin"]
_NOTIFICATION_IDS = uuid.UUID("5b0c1f8e-2f7a-4f4e-9c55-6a1f0e2d7c31")

DDL = """
CREATE TABLE IF NOT EXISTS audit_log (
    id uuid PRIMARY KEY,
    action text NOT NULL,
    entity_type text NOT NULL,
    entity_id text,
    actor_id uuid,
    status text NOT NULL,
    details text NOT NULL,
    data jsonb NOT NULL,
    producer text NOT NULL,
    subject text NOT NULL,
    occurred_at timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_log_newest ON audit_log (occurred_at DESC, id DESC);
CREATE INDEX IF NOT EXISTS audit_log_entity ON audit_log (entity_type, entity_id);
CREATE INDEX IF NOT EXISTS audit_log_actor ON audit_log (actor_id);
CREATE TABLE IF NOT EXISTS staff_notifications (
    id uuid NOT NULL,
    recipient_id uuid NOT NULL,
    event_id uuid NOT NULL,
    kind text NOT NULL,
    title text NOT NULL,
    body text NOT NULL,
    created_at timestamptz NOT NULL,
    read_at timestamptz,
    deleted_at timestamptz,
    PRIMARY KEY (id, recipient_id)
);
CREATE INDEX IF NOT EXISTS staff_notifications_inbox
    ON staff_notifications (recipient_id, created_at DESC) WHERE deleted_at IS NULL;
CREATE TABLE IF NOT EXISTS oversight_known (
    kind text NOT NULL,
    id text NOT NULL,
    label text,
    loan_officer_id uuid,
    initiator_id uuid,
    disburser_id uuid,
    PRIMARY KEY (kind, id)
)
"""


def prepare(pool: ConnectionPool) -> None:
    """The audit log's and notifications' tables."""
    with pool.connection() as conn:
        conn.execute(DDL)


def consumers() -> list[Consumer]:
    """One durable consumer per audited stream (``identity-oversight-<stream>``), all events."""
    return [
        Consumer(stream, _name(stream), [stream.wildcard], record_event)
        for stream in AUDITED_STREAMS
    ]


def _name(stream: Stream) -> str:
    return f"oversight-{stream.value.lower()}"


def record_event(envelope: EventEnvelope, conn: psycopg.Connection[Any]) -> None:
    """The audit entry and the notices of one published event (the consumers' handler)."""
    data = envelope.data
    fact = learned(envelope.type, data)
    if fact is not None:
        _remember(conn, *fact)
    entry = audit_entry(envelope.type, envelope.subject, data)
    conn.execute(
        """
        INSERT INTO audit_log (id, action, entity_type, entity_id, actor_id, status, details,
            data, producer, subject, occurred_at)
        VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
        ON CONFLICT (id) DO NOTHING
        """,
        (
            envelope.event_id,
            entry.action,
            entry.entity_type,
            entry.entity_id,
            entry.actor_id,
            entry.status,
            entry.details,
            Jsonb(mask_personal_data(None, "", dict(data))),
            envelope.producer,
            envelope.subject,
            envelope.occurred_at,
        ),
    )
    topic = about(envelope.type, data)
    known = _known(conn, *topic) if topic else Known()
    for number, notice in enumerate(notices(envelope.type, data, known)):
        notice_id = uuid.uuid5(_NOTIFICATION_IDS, f"{envelope.event_id}:{number}")
        for recipient in _recipients(conn, notice, data, known) - {entry.actor_id}:
            _notify(conn, envelope, notice_id, notice, recipient)


def _remember(conn: psycopg.Connection[Any], kind: str, key: str, known: Known) -> None:
    """Keep what an event says; a later event only fills in, never blanks out (any order)."""
    conn.execute(
        """
        INSERT INTO oversight_known AS k
            (kind, id, label, loan_officer_id, initiator_id, disburser_id)
        VALUES (%s, %s, %s, %s, %s, %s)
        ON CONFLICT (kind, id) DO UPDATE SET
            label = COALESCE(EXCLUDED.label, k.label),
            loan_officer_id = COALESCE(EXCLUDED.loan_officer_id, k.loan_officer_id),
            initiator_id = COALESCE(k.initiator_id, EXCLUDED.initiator_id),
            disburser_id = COALESCE(EXCLUDED.disburser_id, k.disburser_id)
        """,
        (kind, key, known.label, known.loan_officer_id, known.initiator_id, known.disburser_id),
    )


def _known(conn: psycopg.Connection[Any], kind: str, key: str) -> Known:
    row = conn.execute(
        "SELECT label, loan_officer_id, initiator_id, disburser_id FROM oversight_known "
        "WHERE kind = %s AND id = %s",
        (kind, key),
    ).fetchone()
    return Known(*row) if row else Known()


def _recipients(
    conn: psycopg.Connection[Any], notice: Notice, data: dict[str, Any], known: Known
) -> set[uuid.UUID]:
    """The staff members a notice is for (those identity cannot tell are left out)."""
    found: set[uuid.UUID | None] = set()
    for rule in notice.to:
        if rule == "loan_officer":
            found.add(known.loan_officer_id)
        elif rule == "initiator":
            found.add(known.initiator_id)
        elif rule == "disburser":
            found.add(known.disburser_id)
        elif rule == "user":
            found.add(uuid.UUID(str(data["user_id"])))
        elif rule == "approvers":
            rows = conn.execute(
                "SELECT user_id FROM staff_directory WHERE active AND role = ANY(%s)",
                (APPROVER_ROLES,),
            ).fetchall()
            found.update(row[0] for row in rows)
    return {recipient for recipient in found if recipient is not None}


def _notify(
    conn: psycopg.Connection[Any],
    envelope: EventEnvelope,
    notice_id: uuid.UUID,
    notice: Notice,
    recipient: uuid.UUID,
) -> None:
    """One notice to each of its recipients, under one id; each keeps their own read state."""
    conn.execute(
        """
        INSERT INTO staff_notifications (id, recipient_id, event_id, kind, title, body, created_at)
        VALUES (%s, %s, %s, %s, %s, %s, %s)
        ON CONFLICT (id, recipient_id) DO NOTHING
        """,
        (
            notice_id,
            recipient,
            envelope.event_id,
            notice.kind,
            notice.title,
            notice.body,
            envelope.occurred_at,
        ),
    )


class PostgresAuditTrail:
    def __init__(self, pool: ConnectionPool) -> None:
        self._pool = pool

    def search(self, query: AuditQuery) -> tuple[list[dict[str, Any]], int]:
        filters = Filters()
        if query.entity_type:
            filters.add("a.entity_type = %s", query.entity_type.strip().lower())
        if query.entity_id:
            filters.add("a.entity_id = %s", query.entity_id.strip())
        if query.action:
            filters.add("a.action = %s", query.action.strip())
        if query.status:
            filters.add("a.status = %s", query.status)
        if query.user:
            who = query.user.strip()
            if who.lower() == "system":
                filters.add("a.actor_id IS NULL")
            else:
                filters.add("(s.username = %s OR a.actor_id::text = %s)", who.lower(), who.lower())
        if query.since:
            filters.add("a.occurred_at >= %s", query.since)
        if query.before:
            filters.add("a.occurred_at < %s", query.before)
        return counted_page(
            self._pool,
            columns="a.*, s.username",
            source="audit_log a LEFT JOIN staff_directory s ON s.user_id = a.actor_id",
            filters=filters,
            order_by="a.occurred_at DESC, a.id DESC",
            limit=query.limit,
            offset=query.offset,
        )


class PostgresNotifications:
    def __init__(self, pool: ConnectionPool) -> None:
        self._pool = pool

    def list(
        self, recipient: uuid.UUID, *, unread_only: bool, limit: int
    ) -> tuple[list[dict[str, Any]], int]:
        clause = "recipient_id = %s AND deleted_at IS NULL"
        if unread_only:
            clause += " AND read_at IS NULL"
        with self._pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            total = cur.execute(
                f"SELECT count(*) AS n FROM staff_notifications WHERE {clause}",  # noqa: S608
                (recipient,),
            ).fetchone()
            rows = cur.execute(
                f"SELECT * FROM staff_notifications WHERE {clause} "  # noqa: S608
                "ORDER BY created_at DESC, id DESC LIMIT %s",
                (recipient, limit),
            ).fetchall()
        return rows, int(total["n"]) if total else 0

    def mark_read(self, recipient: uuid.UUID, notification_id: uuid.UUID) -> dict[str, Any] | None:
        with self._pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            return cur.execute(
                """
                UPDATE staff_notifications SET read_at = COALESCE(read_at, %s)
                WHERE id = %s AND recipient_id = %s AND deleted_at IS NULL
                RETURNING *
                """,
                (dt.datetime.now(dt.UTC), notification_id, recipient),
            ).fetchone()

    def delete(self, recipient: uuid.UUID, notification_id: uuid.UUID) -> bool:
        with self._pool.connection() as conn:
            row = conn.execute(
                """
                UPDATE staff_notifications SET deleted_at = %s
                WHERE id = %s AND recipient_id = %s AND deleted_at IS NULL
                RETURNING 1
                """,
                (dt.datetime.now(dt.UTC), notification_id, recipient),
            ).fetchone()
        return row is not None
