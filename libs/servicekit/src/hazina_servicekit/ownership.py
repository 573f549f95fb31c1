"""Who owns what: the loan officer each group, client and loan is assigned to, learned from
origination's events, so services that show money can scope a loan officer to their own records.

The rule is origination's (its ``api/deps.py`` ``scope_of`` and read-model joins), mirrored:

- a loan officer sees only their own records; every other staff role sees everything;
- a group belongs to ``GroupCreated.loan_officer_id``;
- a client belongs to the officer of **their group** (origination joins the client's group; a
  client with no group, or whose group is not known, belongs to nobody);
- a loan belongs to ``LoanInitiated`` / ``LoanApproved``'s ``loan_officer_id``.

Reassignment: ``GroupDetailsChanged`` gives a group (and so its members) a new officer, and
``ClientDetailsChanged`` moves a client into a group; a loan keeps the officer it was
initiated under.

A record whose ownership a service has not learned yet belongs to nobody: a loan officer gets
404 for it and it is left out of their lists (fail closed) until the event arrives.

The tables live in the consuming service's own schema and are filled by one durable consumer
(``<service>-ownership``), each upsert keyed by the record's id, so a redelivered event changes
nothing. A new durable consumer starts at the beginning of the ORIGINATION stream, so a service
learns the ownership of every record made before it started consuming.
"""

from __future__ import annotations

import uuid
from typing import Any

import psycopg
import structlog
from psycopg_pool import ConnectionPool

from hazina_contracts.envelope import EventEnvelope
from hazina_contracts.events.origination import (
    ClientDetailsChanged,
    ClientOnboarded,
    GroupCreated,
    GroupDetailsChanged,
    LoanApproved,
    LoanInitiated,
)
from hazina_servicekit.auth import Principal

log = structlog.get_logger(__name__)

LOAN_OFFICER = "loan_officer"

OWNERSHIP_SUBJECTS = (
    GroupCreated.subject(),
    GroupDetailsChanged.subject(),
    ClientOnboarded.subject(),
    ClientDetailsChanged.subject(),
    LoanInitiated.subject(),
    LoanApproved.subject(),
)

OWNERSHIP_DDL = """
CREATE TABLE IF NOT EXISTS owned_groups (
    group_id uuid PRIMARY KEY,
    loan_officer_id uuid
);
CREATE INDEX IF NOT EXISTS owned_groups_officer ON owned_groups (loan_officer_id);
CREATE TABLE IF NOT EXISTS owned_clients (
    client_id uuid PRIMARY KEY,
    group_id uuid
);
CREATE INDEX IF NOT EXISTS owned_clients_group ON owned_clients (group_id);
CREATE TABLE IF NOT EXISTS owned_loans (
    loan_id uuid PRIMARY KEY,
    client_id uuid NOT NULL,
    loan_officer_id uuid
);
CREATE INDEX IF NOT EXISTS owned_loans_officer ON owned_loans (loan_officer_id);
"""

# SQL subqueries for filtering lists; each takes the officer's id as its one parameter.
CLIENTS_OF_OFFICER = (
    "SELECT c.client_id FROM owned_clients c JOIN owned_groups g ON g.group_id = c.group_id "
    "WHERE g.loan_officer_id = %s"
)
LOANS_OF_OFFICER = "SELECT loan_id FROM owned_loans WHERE loan_officer_id = %s"
GROUPS_OF_OFFICER = "SELECT group_id FROM owned_groups WHERE loan_officer_id = %s"


def officer_scope(principal: Principal) -> uuid.UUID | None:
    """The officer whose records ``principal`` may see, or None for every record (other roles)."""
    return principal.user_id if principal.role == LOAN_OFFICER else None


def record_ownership(envelope: EventEnvelope, conn: psycopg.Connection[Any]) -> None:
    """The durable consumer's handler: remember who owns the record an origination event names."""
    try:
        event = envelope.event()
    except LookupError:
        log.info("ownership_event_ignored", type=envelope.type, version=envelope.version)
        return
    if isinstance(event, GroupCreated | GroupDetailsChanged):
        conn.execute(
            "INSERT INTO owned_groups (group_id, loan_officer_id) VALUES (%s, %s) "
            "ON CONFLICT (group_id) DO UPDATE SET loan_officer_id = EXCLUDED.loan_officer_id",
            (event.group_id, event.loan_officer_id),
        )
    elif isinstance(event, ClientOnboarded | ClientDetailsChanged):
        conn.execute(
            "INSERT INTO owned_clients (client_id, group_id) VALUES (%s, %s) "
            "ON CONFLICT (client_id) DO UPDATE SET group_id = EXCLUDED.group_id",
            (event.client_id, event.group_id),
        )
    elif isinstance(event, LoanInitiated | LoanApproved):
        conn.execute(
            "INSERT INTO owned_loans (loan_id, client_id, loan_officer_id) VALUES (%s, %s, %s) "
            "ON CONFLICT (loan_id) DO UPDATE SET client_id = EXCLUDED.client_id, "
            "loan_officer_id = EXCLUDED.loan_officer_id",
            (event.loan_id, event.client_id, event.loan_officer_id),
        )


class OwnershipBook:
    """Answers "may this officer see that record?" from the ownership tables."""

    def __init__(self, pool: ConnectionPool) -> None:
        self.pool = pool
        with pool.connection() as conn, conn.transaction():
            conn.execute(OWNERSHIP_DDL)

    def _exists(self, sql: str, params: tuple[Any, ...]) -> bool:
        with self.pool.connection() as conn:
            return conn.execute(sql, params).fetchone() is not None

    def owns_client(self, officer_id: uuid.UUID, client_id: uuid.UUID) -> bool:
        return self._exists(
            "SELECT 1 FROM owned_clients c JOIN owned_groups g ON g.group_id = c.group_id "
            "WHERE c.client_id = %s AND g.loan_officer_id = %s",
            (client_id, officer_id),
        )

    def owns_loan(self, officer_id: uuid.UUID, loan_id: uuid.UUID) -> bool:
        return self._exists(
            "SELECT 1 FROM owned_loans WHERE loan_id = %s AND loan_officer_id = %s",
            (loan_id, officer_id),
        )

    def may_see_client(self, principal: Principal, client_id: uuid.UUID) -> bool:
        scope = officer_scope(principal)
        return scope is None or self.owns_client(scope, client_id)

    def may_see_loan(self, principal: Principal, loan_id: uuid.UUID) -> bool:
        scope = officer_scope(principal)
        return scope is None or self.owns_loan(scope, loan_id)
