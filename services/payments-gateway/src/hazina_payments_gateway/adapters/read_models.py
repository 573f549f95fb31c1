"""Read models kept from the gateway's own events (disbursements, prompts, payments received) and
from other services' events (account references from origination, postings from the ledger).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from eventsourcing.domain import Aggregate, DomainEventProtocol
from psycopg_pool import ConnectionPool

from hazina_contracts.receipts import ReceiptNumber
from hazina_payments_gateway.application.gateway import PaymentsGateway
from hazina_payments_gateway.application.ports import ReferenceMatch
from hazina_payments_gateway.domain.disbursement import Disbursement, DisbursementPolicy
from hazina_payments_gateway.domain.payment import Payment
from hazina_payments_gateway.domain.rules import loan_id_reference, normalise_reference
from hazina_payments_gateway.domain.stk_prompt import StkPrompt
from hazina_servicekit.consumer import PROCESSED_DDL
from hazina_servicekit.filtered import Filters, counted_page
from hazina_servicekit.ownership import LOANS_OF_OFFICER
from hazina_servicekit.projection import Apply, Batch, BatchFactory

GATEWAY_DDL = """
CREATE TABLE IF NOT EXISTS disbursements (
    disbursement_id uuid PRIMARY KEY,
    loan_id uuid NOT NULL,
    client_id uuid NOT NULL,
    account_number text NOT NULL,
    phone text NOT NULL,
    amount_cents bigint NOT NULL,
    status text NOT NULL,
    status_since timestamptz NOT NULL,
    retry_at timestamptz,
    attempt int NOT NULL,
    ocid text NOT NULL,
    conversation_id text,
    sends int NOT NULL,
    status_queries int NOT NULL,
    receipt text,
    charge_cents bigint,
    recipient_name text,
    completed_at timestamptz,
    result_code text,
    result_description text,
    retryable boolean,
    last_reason text,
    requested_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS disbursements_open ON disbursements (status_since)
    WHERE status IN ('requested', 'sending', 'awaiting_result', 'unknown', 'checking');
CREATE INDEX IF NOT EXISTS disbursements_loan ON disbursements (loan_id);
CREATE INDEX IF NOT EXISTS disbursements_updated ON disbursements (updated_at);
CREATE TABLE IF NOT EXISTS disbursement_ocids (
    ocid text PRIMARY KEY,
    disbursement_id uuid NOT NULL
);
CREATE TABLE IF NOT EXISTS disbursement_status_queries (
    conversation_id text PRIMARY KEY,
    disbursement_id uuid NOT NULL
);
CREATE TABLE IF NOT EXISTS stk_prompts (
    prompt_id uuid PRIMARY KEY,
    status text NOT NULL,
    status_since timestamptz NOT NULL,
    retry_at timestamptz,
    checkout_request_id text UNIQUE,
    account_reference text NOT NULL,
    amount_cents bigint NOT NULL,
    loan_id uuid,
    receipt text,
    result_code text,
    result_description text,
    updated_at timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS stk_prompts_open ON stk_prompts (status_since)
    WHERE status IN ('requested', 'sent');
CREATE TABLE IF NOT EXISTS payments_received (
    receipt text PRIMARY KEY,
    amount_cents bigint NOT NULL,
    msisdn text,
    account_reference text NOT NULL,
    target text NOT NULL,
    loan_id uuid,
    client_id uuid,
    paid_at timestamptz NOT NULL,
    payer_name text,
    channel text NOT NULL,
    recorded_at timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS payments_received_paid_at ON payments_received (paid_at);
CREATE TABLE IF NOT EXISTS payment_conflicts (
    receipt text NOT NULL,
    version int NOT NULL,
    amount_cents bigint NOT NULL,
    msisdn text,
    account_reference text NOT NULL,
    target text NOT NULL,
    loan_id uuid,
    client_id uuid,
    paid_at timestamptz NOT NULL,
    channel text NOT NULL,
    disagreements text[] NOT NULL,
    recorded_at timestamptz NOT NULL,
    PRIMARY KEY (receipt, version)
);
CREATE INDEX IF NOT EXISTS payment_conflicts_recorded ON payment_conflicts (recorded_at);
"""

REFERENCES_DDL = """
CREATE TABLE IF NOT EXISTS payment_references (
    reference text PRIMARY KEY,
    kind text NOT NULL CHECK (kind IN ('loan', 'savings')),
    loan_id uuid,
    client_id uuid,
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS ledger_postings (
    key text PRIMARY KEY,
    kind text NOT NULL,
    receipt text,
    loan_id uuid,
    client_id uuid,
    amount_cents bigint,
    occurred_at timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS ledger_postings_receipt ON ledger_postings (receipt);
CREATE INDEX IF NOT EXISTS ledger_postings_loan ON ledger_postings (loan_id);
"""


def ensure_tables(pool: ConnectionPool) -> None:
    """Tables the consumers write; created once here, not raced by several consumers starting at once."""
    with pool.connection() as conn, conn.transaction():
        conn.execute(REFERENCES_DDL)
        conn.execute(PROCESSED_DDL)


def gateway_projector(app: PaymentsGateway) -> Apply:
    """The apply function of the gateway's projection: each event upserts its aggregate's row as of that event."""

    def apply(event: DomainEventProtocol[uuid.UUID], conn: psycopg.Connection[Any]) -> None:
        if not isinstance(event, Aggregate.Event):
            return  # every gateway event is an aggregate's
        at: datetime = event.timestamp
        if isinstance(event, Payment.Received):
            conn.execute(
                """
                INSERT INTO payments_received (receipt, amount_cents, msisdn, account_reference, target, loan_id,
                    client_id, paid_at, payer_name, channel, recorded_at)
                VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT (receipt) DO NOTHING
                """,
                (
                    event.receipt,
                    event.amount_cents,
                    event.msisdn,
                    event.account_reference,
                    event.target,
                    event.loan_id,
                    event.client_id,
                    event.paid_at,
                    event.payer_name,
                    event.channel,
                    at,
                ),
            )
            return
        if isinstance(event, Payment.ConflictingRepeat):
            conn.execute(
                """
                INSERT INTO payment_conflicts (receipt, version, amount_cents, msisdn, account_reference,
                    target, loan_id, client_id, paid_at, channel, disagreements, recorded_at)
                VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING
                """,
                (
                    event.receipt,
                    event.originator_version,
                    event.amount_cents,
                    event.msisdn,
                    event.account_reference,
                    event.target,
                    event.loan_id,
                    event.client_id,
                    event.paid_at,
                    event.channel,
                    list(event.disagreements),
                    at,
                ),
            )
            return
        topic = type(event).__qualname__.split(".")[0]
        if topic == Disbursement.__name__:
            d: Disbursement = app.repository.get(
                event.originator_id, version=event.originator_version
            )
            _upsert_disbursement(conn, d, at)
        elif topic == StkPrompt.__name__:
            p: StkPrompt = app.repository.get(event.originator_id, version=event.originator_version)
            conn.execute(
                """
                INSERT INTO stk_prompts (prompt_id, status, status_since, retry_at, checkout_request_id,
                    account_reference, amount_cents, loan_id, receipt, result_code, result_description, updated_at)
                VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
                ON CONFLICT (prompt_id) DO UPDATE SET status = EXCLUDED.status, status_since = EXCLUDED.status_since,
                    retry_at = EXCLUDED.retry_at, checkout_request_id = EXCLUDED.checkout_request_id,
                    receipt = EXCLUDED.receipt, result_code = EXCLUDED.result_code,
                    result_description = EXCLUDED.result_description, updated_at = EXCLUDED.updated_at
                """,
                (
                    p.id,
                    p.status.value,
                    p.status_since,
                    p.retry_at,
                    p.checkout_request_id,
                    p.account_reference,
                    p.amount_cents,
                    p.loan_id,
                    p.receipt,
                    p.result_code,
                    p.result_description,
                    at,
                ),
            )

    return apply


RECEIVED_MANY = """
INSERT INTO payments_received (receipt, amount_cents, msisdn, account_reference, target, loan_id,
    client_id, paid_at, payer_name, channel, recorded_at)
SELECT * FROM unnest(%b::text[], %b::bigint[], %b::text[], %b::text[], %b::text[], %b::uuid[],
    %b::uuid[], %b::timestamptz[], %b::text[], %b::text[], %b::timestamptz[])
ON CONFLICT (receipt) DO NOTHING
"""


class _GatewayBatch:
    """The gateway projection's batch: payments received (the busy event) are held back and
    written in one statement at ``flush``; any other event first flushes them, then is applied as
    it comes, so rows change in the order of the events."""

    def __init__(self, apply: Apply, conn: psycopg.Connection[Any]) -> None:
        self._apply = apply
        self._conn = conn
        self._received: list[Payment.Received] = []

    def apply(self, event: DomainEventProtocol[uuid.UUID], _position: int, /) -> None:
        if isinstance(event, Payment.Received):
            self._received.append(event)
            return
        self.flush()
        self._apply(event, self._conn)

    def flush(self) -> None:
        if not self._received:
            return
        held, self._received = self._received, []
        self._conn.execute(
            RECEIVED_MANY,
            (
                [e.receipt for e in held],
                [e.amount_cents for e in held],
                [e.msisdn for e in held],
                [e.account_reference for e in held],
                [e.target for e in held],
                [e.loan_id for e in held],
                [e.client_id for e in held],
                [e.paid_at for e in held],
                [e.payer_name for e in held],
                [e.channel for e in held],
                [e.timestamp for e in held],
            ),
        )


def gateway_batches(app: PaymentsGateway) -> BatchFactory:
    """The gateway projection's batches (``Projection(batches=...)``): payments in bulk."""
    apply = gateway_projector(app)

    def batch(conn: psycopg.Connection[Any]) -> Batch:
        return _GatewayBatch(apply, conn)

    return batch


def _upsert_disbursement(conn: psycopg.Connection[Any], d: Disbursement, at: datetime) -> None:
    conn.execute(
        """
        INSERT INTO disbursements (disbursement_id, loan_id, client_id, account_number, phone, amount_cents,
            status, status_since, retry_at, attempt, ocid, conversation_id, sends, status_queries, receipt,
            charge_cents, recipient_name, completed_at, result_code, result_description, retryable,
            last_reason, requested_at, updated_at)
        VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
        ON CONFLICT (disbursement_id) DO UPDATE SET
            status = EXCLUDED.status, status_since = EXCLUDED.status_since, retry_at = EXCLUDED.retry_at,
            attempt = EXCLUDED.attempt, ocid = EXCLUDED.ocid, conversation_id = EXCLUDED.conversation_id,
            sends = EXCLUDED.sends, status_queries = EXCLUDED.status_queries, receipt = EXCLUDED.receipt,
            charge_cents = EXCLUDED.charge_cents, recipient_name = EXCLUDED.recipient_name,
            completed_at = EXCLUDED.completed_at, result_code = EXCLUDED.result_code,
            result_description = EXCLUDED.result_description, retryable = EXCLUDED.retryable,
            last_reason = EXCLUDED.last_reason, updated_at = EXCLUDED.updated_at
        """,
        (
            d.id,
            d.loan_id,
            d.client_id,
            d.account_number,
            d.phone,
            d.amount_cents,
            d.status.value,
            d.status_since,
            d.retry_at,
            d.attempt,
            d.ocid,
            d.conversation_id,
            d.sends,
            d.status_queries,
            d.receipt,
            d.charge_cents,
            d.recipient_name,
            d.completed_at,
            d.result_code,
            d.result_description,
            d.retryable,
            d.last_reason,
            d.created_on,
            at,
        ),
    )
    for ocid in d.ocids:
        conn.execute(
            "INSERT INTO disbursement_ocids (ocid, disbursement_id) VALUES (%s, %s) ON CONFLICT DO NOTHING",
            (ocid, d.id),
        )
    if d.status_query_conversation_id:
        conn.execute(
            "INSERT INTO disbursement_status_queries (conversation_id, disbursement_id) VALUES (%s, %s) "
            "ON CONFLICT DO NOTHING",
            (d.status_query_conversation_id, d.id),
        )


def truncate_gateway_models(conn: psycopg.Connection[Any]) -> None:
    conn.execute(
        "TRUNCATE disbursements, disbursement_ocids, disbursement_status_queries, stk_prompts, "
        "payments_received, payment_conflicts"
    )


class GatewayIndex:
    """Lookups over the read models; implements the application's DisbursementIndex."""

    def __init__(self, pool: ConnectionPool, policy: DisbursementPolicy) -> None:
        self.pool = pool
        self.policy = policy

    def _one(self, sql: str, params: tuple[Any, ...]) -> uuid.UUID | None:
        with self.pool.connection() as conn:
            row = conn.execute(sql, params).fetchone()
        return row[0] if row else None

    def by_ocid(self, ocid: str) -> uuid.UUID | None:
        return self._one("SELECT disbursement_id FROM disbursement_ocids WHERE ocid = %s", (ocid,))

    def by_status_query(self, conversation_id: str) -> uuid.UUID | None:
        return self._one(
            "SELECT disbursement_id FROM disbursement_status_queries WHERE conversation_id = %s",
            (conversation_id,),
        )

    def by_checkout_request(self, checkout_request_id: str) -> uuid.UUID | None:
        return self._one(
            "SELECT prompt_id FROM stk_prompts WHERE checkout_request_id = %s",
            (checkout_request_id,),
        )

    def due(self, now: datetime, limit: int) -> list[uuid.UUID]:
        p = self.policy
        with self.pool.connection() as conn:
            rows = conn.execute(
                """
                SELECT disbursement_id FROM disbursements
                WHERE status IN ('requested', 'sending', 'awaiting_result', 'unknown', 'checking') AND (
                    (status IN ('requested', 'unknown') AND coalesce(retry_at, status_since) <= %(now)s)
                    OR (status = 'sending' AND status_since <= %(now)s - %(lease)s)
                    OR (status = 'awaiting_result' AND status_since <= %(now)s - %(result)s)
                    OR (status = 'checking' AND status_since <= %(now)s - %(status)s))
                ORDER BY status_since LIMIT %(limit)s
                """,
                {
                    "now": now,
                    "lease": p.send_lease,
                    "result": p.result_timeout,
                    "status": p.status_result_timeout,
                    "limit": limit,
                },
            ).fetchall()
        return [r[0] for r in rows]

    def due_prompts(self, now: datetime, limit: int) -> list[uuid.UUID]:
        with self.pool.connection() as conn:
            rows = conn.execute(
                "SELECT prompt_id FROM stk_prompts WHERE status = 'requested' "
                "AND coalesce(retry_at, status_since) <= %s ORDER BY status_since LIMIT %s",
                (now, limit),
            ).fetchall()
        return [r[0] for r in rows]

    def prompts_to_query(self, now: datetime, sent_before: datetime, limit: int) -> list[uuid.UUID]:
        """Prompts sent before ``sent_before`` with no result yet, whose next query is due."""
        with self.pool.connection() as conn:
            rows = conn.execute(
                "SELECT prompt_id FROM stk_prompts WHERE status = 'sent' AND status_since <= %s "
                "AND coalesce(retry_at, status_since) <= %s ORDER BY status_since LIMIT %s",
                (sent_before, now, limit),
            ).fetchall()
        return [r[0] for r in rows]

    def receipts_of_other_prompts(self, prompt_id: uuid.UUID, receipts: list[str]) -> set[str]:
        """Which of ``receipts`` already paid another prompt."""
        if not receipts:
            return set()
        with self.pool.connection() as conn:
            rows = conn.execute(
                "SELECT receipt FROM stk_prompts WHERE receipt = ANY(%s) AND prompt_id <> %s",
                (receipts, prompt_id),
            ).fetchall()
        return {r[0] for r in rows}

    def known_receipts(self, receipts: list[str]) -> set[str]:
        if not receipts:
            return set()
        with self.pool.connection() as conn:
            rows = conn.execute(
                "SELECT receipt FROM payments_received WHERE receipt = ANY(%s)", (receipts,)
            ).fetchall()
        return {r[0] for r in rows}

    def list_disbursements(
        self,
        *,
        status: str | None,
        loan_id: uuid.UUID | None,
        offset: int,
        limit: int | None,
        officer_id: uuid.UUID | None = None,
    ) -> tuple[list[dict[str, Any]], int]:
        """Disbursements, newest first; only those of the officer's own loans given ``officer_id``."""
        filters = Filters()
        if status:
            filters.add("status = %s", status)
        if loan_id:
            filters.add("loan_id = %s", loan_id)
        if officer_id is not None:
            filters.add(f"loan_id IN ({LOANS_OF_OFFICER})", officer_id)
        return counted_page(
            self.pool,
            columns="*",
            source="disbursements",
            filters=filters,
            order_by="requested_at DESC",
            limit=limit,
            offset=offset,
        )


class PostgresReferenceBook:
    """Account references a borrower may type, from origination's events (never by calling origination)."""

    def __init__(self, pool: ConnectionPool) -> None:
        self.pool = pool

    def match(self, bill_ref: str | None) -> ReferenceMatch:
        key = normalise_reference(bill_ref)
        if not key:
            return ReferenceMatch(target="unallocated")
        with self.pool.connection() as conn:
            row = conn.execute(
                "SELECT kind, loan_id, client_id FROM payment_references WHERE reference = %s",
                (key,),
            ).fetchone()
        if row is None:
            return ReferenceMatch(target="unallocated")
        return ReferenceMatch(target=row[0], loan_id=row[1], client_id=row[2])

    def match_many(self, bill_refs: list[str]) -> dict[str, ReferenceMatch]:
        """Each reference as typed -> its match, in one query."""
        keys = {ref: normalise_reference(ref) for ref in bill_refs}
        wanted = sorted({k for k in keys.values() if k})
        found: dict[str, ReferenceMatch] = {}
        if wanted:
            with self.pool.connection() as conn:
                rows = conn.execute(
                    "SELECT reference, kind, loan_id, client_id FROM payment_references WHERE reference = ANY(%s)",
                    (wanted,),
                ).fetchall()
            found = {r[0]: ReferenceMatch(target=r[1], loan_id=r[2], client_id=r[3]) for r in rows}
        unallocated = ReferenceMatch(target="unallocated")
        return {ref: found.get(key, unallocated) for ref, key in keys.items()}


def remember_loan(
    conn: psycopg.Connection[Any], *, loan_id: uuid.UUID, client_id: uuid.UUID, account_number: str
) -> None:
    """A loan's account number and its id both lead to the loan (loans win over a national id)."""
    for reference in {normalise_reference(account_number), loan_id_reference(loan_id)}:
        if not reference:
            continue
        conn.execute(
            """
            INSERT INTO payment_references (reference, kind, loan_id, client_id) VALUES (%s, 'loan', %s, %s)
            ON CONFLICT (reference) DO UPDATE SET kind = 'loan', loan_id = EXCLUDED.loan_id,
                client_id = EXCLUDED.client_id, updated_at = now()
            """,
            (reference, loan_id, client_id),
        )


def remember_client(
    conn: psycopg.Connection[Any], *, client_id: uuid.UUID, national_id: str
) -> None:
    reference = normalise_reference(national_id)
    if not reference:
        return
    conn.execute(
        """
        INSERT INTO payment_references (reference, kind, client_id) VALUES (%s, 'savings', %s)
        ON CONFLICT (reference) DO UPDATE SET client_id = EXCLUDED.client_id, updated_at = now()
        WHERE payment_references.kind = 'savings'
        """,
        (reference, client_id),
    )


@dataclass(frozen=True)
class LedgerPosting:
    """What the ledger posted, as reconciliation compares it with the rails (``ledger_postings``)."""

    key: str
    kind: str
    receipt: ReceiptNumber | None
    loan_id: uuid.UUID | None
    client_id: uuid.UUID | None
    amount_cents: int | None
    occurred_at: datetime


def remember_postings(conn: psycopg.Connection[Any], postings: Sequence[LedgerPosting]) -> None:
    """Store ``postings`` in one statement; a key already stored (or twice in them) stays as it was."""
    if not postings:
        return
    conn.execute(
        """
        INSERT INTO ledger_postings (key, kind, receipt, loan_id, client_id, amount_cents, occurred_at)
        SELECT * FROM unnest(
            %b::text[], %b::text[], %b::text[], %b::uuid[], %b::uuid[], %b::bigint[],
            %b::timestamptz[]
        )
        ON CONFLICT (key) DO NOTHING
        """,
        (
            [p.key for p in postings],
            [p.kind for p in postings],
            [p.receipt for p in postings],
            [p.loan_id for p in postings],
            [p.client_id for p in postings],
            [p.amount_cents for p in postings],
            [p.occurred_at for p in postings],
        ),
    )


async def match_reference_async(pool: Any, bill_ref: str | None) -> ReferenceMatch:
    """The same lookup as ``PostgresReferenceBook.match``, on the request path's async pool."""
    key = normalise_reference(bill_ref)
    if not key:
        return ReferenceMatch(target="unallocated")
    async with pool.connection() as conn:
        cursor = await conn.execute(
            "SELECT kind, loan_id, client_id FROM payment_references WHERE reference = %s", (key,)
        )
        row = await cursor.fetchone()
        await conn.rollback()
    if row is None:
        return ReferenceMatch(target="unallocated")
    return ReferenceMatch(target=row[0], loan_id=row[1], client_id=row[2])
