"""A loan officer sees only the disbursements of their own loans, learned from origination's events
over real JetStream (however often they are delivered); an unknown owner hides the record."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from payments_factories import client_onboarded, disbursement_requested, loan_initiated
from payments_harness import Gateway, envelope, wait_until

from hazina_contracts.events import origination
from hazina_contracts.subjects import Stream
from hazina_payments_gateway.adapters import subscriptions
from hazina_servicekit.ownership import record_ownership
from hazina_servicekit.testing import publish


def _count(gateway: Gateway, sql: str, *params: Any) -> int:
    with gateway.container.pool.connection() as conn:
        row = conn.execute(sql, params).fetchone()
    return int(row[0]) if row else 0


def _as(gateway: Gateway, officer: uuid.UUID) -> dict[str, str]:
    return gateway.staff.headers("loan_officer", officer)


def test_ownership_arrives_over_jetstream_once_however_often_it_is_delivered(
    start_gateway: Callable[..., Gateway],
) -> None:
    gateway = start_gateway()
    officer, other = uuid.uuid4(), uuid.uuid4()
    group, client, loan = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    group_created = origination.GroupCreated(
        occurred_at=datetime.now(UTC),
        actor_id=officer,
        group_id=group,
        name="Umoja",
        status="active",
        loan_officer_id=officer,
    )
    ownership = [
        envelope(group_created),
        envelope(client_onboarded(client_id=client, group_id=group)),
        envelope(
            loan_initiated(loan_id=loan, client_id=client, group_id=group, loan_officer_id=officer)
        ),
    ]
    later_loan = (
        uuid.uuid4()
    )  # published after the redeliveries: once it is known, they were handled
    sentinel = envelope(
        loan_initiated(loan_id=later_loan, client_id=client, loan_officer_id=officer)
    )
    requested = disbursement_requested(loan_id=loan, client_id=client)
    publish(gateway.nats_url, ownership, streams=[Stream.ORIGINATION])
    publish(gateway.nats_url, ownership)  # deduplicated by Nats-Msg-Id
    publish(gateway.nats_url, ownership, again=True)  # a true redelivery
    publish(gateway.nats_url, [sentinel, envelope(requested)])

    wait_until(
        lambda: _count(gateway, "SELECT count(*) FROM owned_loans WHERE loan_id = %s", later_loan),
        timeout=30,
        what="the sentinel's ownership",
    )
    path = f"/api/payments/disbursements/{requested.disbursement_id}"
    wait_until(
        lambda: gateway.http.get(path, headers=_as(gateway, officer)).status_code == 200,
        timeout=30,
        what="the officer's disbursement",
    )
    assert gateway.http.get(path, headers=_as(gateway, other)).status_code == 404
    mine = gateway.http.get("/api/payments/disbursements", headers=_as(gateway, officer))
    assert [row["_id"] for row in mine.json()] == [str(requested.disbursement_id)]
    theirs = gateway.http.get(
        f"/api/payments/disbursements?loanId={loan}", headers=_as(gateway, other)
    )
    assert theirs.json() == [] and theirs.headers["X-Total-Count"] == "0"

    assert _count(gateway, "SELECT count(*) FROM owned_groups") == 1
    assert _count(gateway, "SELECT count(*) FROM owned_clients") == 1
    assert _count(gateway, "SELECT count(*) FROM owned_loans") == 2
    assert (
        _count(
            gateway,
            "SELECT count(*) FROM processed_messages WHERE consumer = 'payments-ownership'",
        )
        == len(ownership) + 1
    )


def test_a_disbursement_whose_owner_is_not_known_yet_is_hidden_from_loan_officers(
    start_gateway: Callable[..., Gateway],
) -> None:
    gateway = start_gateway(HAZINA_RUN_WORKERS=False)
    officer, loan, client = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    requested = disbursement_requested(loan_id=loan, client_id=client)
    with gateway.container.pool.connection() as conn, conn.transaction():
        subscriptions.disbursement_handler(gateway.container.app)(envelope(requested), conn)
    path = f"/api/payments/disbursements/{requested.disbursement_id}"
    assert gateway.http.get(path, headers=_as(gateway, officer)).status_code == 404
    assert (
        gateway.http.get("/api/payments/disbursements", headers=_as(gateway, officer)).json() == []
    )
    assert gateway.get(path, role="initiator_admin").status_code == 200

    initiated = envelope(loan_initiated(loan_id=loan, client_id=client, loan_officer_id=officer))
    for _ in range(2):  # the same event twice: one row, the same answer
        with gateway.container.pool.connection() as conn, conn.transaction():
            record_ownership(initiated, conn)
    assert _count(gateway, "SELECT count(*) FROM owned_loans") == 1
    assert gateway.http.get(path, headers=_as(gateway, officer)).status_code == 200
    listed = gateway.http.get("/api/payments/disbursements", headers=_as(gateway, officer))
    assert [row["_id"] for row in listed.json()] == [str(requested.disbursement_id)]
    assert listed.headers["X-Total-Count"] == "1"


def test_a_reassigned_group_and_a_client_who_joins_one_change_hands(
    start_gateway: Callable[..., Gateway],
) -> None:
    """``GroupDetailsChanged`` gives a group (and its members) a new officer and
    ``ClientDetailsChanged`` moves a client into a group; each delivered twice changes nothing more."""
    gateway = start_gateway(HAZINA_RUN_WORKERS=False)
    first, second = uuid.uuid4(), uuid.uuid4()
    group, client = uuid.uuid4(), uuid.uuid4()
    now = datetime.now(UTC)
    events = [
        origination.GroupCreated(
            occurred_at=now,
            actor_id=first,
            group_id=group,
            name="Umoja",
            status="active",
            loan_officer_id=first,
        ),
        client_onboarded(client_id=client, group_id=None),
        origination.ClientDetailsChanged(
            occurred_at=now,
            actor_id=first,
            client_id=client,
            group_id=group,
            name="Jane",
            national_id="34038490",
            phone="254712345678",
            loan_officer_id=first,
            changed_fields=["group_id"],
        ),
    ]
    book = gateway.container.ownership
    for event in events * 2:
        with gateway.container.pool.connection() as conn, conn.transaction():
            record_ownership(envelope(event), conn)
    assert book.owns_client(first, client) and not book.owns_client(second, client)
    moved = origination.GroupDetailsChanged(
        occurred_at=now,
        actor_id=uuid.uuid4(),
        group_id=group,
        name="Umoja",
        loan_officer_id=second,
        changed_fields=["loan_officer_id"],
    )
    for _ in range(2):
        with gateway.container.pool.connection() as conn, conn.transaction():
            record_ownership(envelope(moved), conn)
    assert book.owns_client(second, client) and not book.owns_client(first, client)
    assert _count(gateway, "SELECT count(*) FROM owned_groups") == 1
