"""A loan officer sees only their own clients, loans and money in the ledger, learned from
origination's events over real JetStream; what the ledger has not learned yet stays hidden."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi.testclient import TestClient

from hazina_contracts.subjects import Stream
from hazina_ledger.bootstrap import build
from hazina_ledger.settings import LedgerSettings
from hazina_servicekit.ownership import record_ownership
from hazina_servicekit.testing import eventually, publish


def _count(container: Any, sql: str, *params: Any) -> int:
    with container.pool.connection() as conn:
        row = conn.execute(sql, params).fetchone()
    return int(row[0]) if row else 0


def test_ownership_arrives_over_jetstream_once_however_often_it_is_delivered(
    database_url: str, nats_url: str, clock: Any, verifier: Any, staff: Any, h: Any
) -> None:
    settings = LedgerSettings(database_url=database_url, nats_url=nats_url, run_workers=True)
    container = build(settings, clock=clock, verifier=verifier)
    officer, other = uuid.uuid4(), uuid.uuid4()
    group_id, client_id, loan_id = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    ownership = [
        h.envelope(h.group_created(group_id, officer), producer="origination"),
        h.envelope(h.client_onboarded(client_id, group_id), producer="origination"),
        h.envelope(
            h.loan_approved(loan_id, client_id, officer_id=officer, group_id=group_id),
            producer="origination",
        ),
    ]
    late_client = (
        uuid.uuid4()
    )  # published after the redeliveries: once it is known, they were handled
    sentinel = h.envelope(h.client_onboarded(late_client, group_id), producer="origination")
    mine, theirs = staff.headers("loan_officer", officer), staff.headers("loan_officer", other)
    try:
        with TestClient(container.service.http_app(), raise_server_exceptions=False) as client:
            publish(
                nats_url,
                [*ownership, h.envelope(h.disbursement_completed(loan_id))],
                streams=[Stream.ORIGINATION, Stream.PAYMENTS],
            )
            publish(nats_url, ownership)  # deduplicated by Nats-Msg-Id
            publish(nats_url, ownership, again=True)  # a true redelivery
            publish(nats_url, [sentinel])

            def learned() -> bool:
                response = client.get(f"/api/clients/{late_client}/accounts", headers=mine)
                return response.status_code == 200

            eventually(learned, "the late client learned")
            eventually(
                lambda: (
                    client.get(f"/api/loans/{loan_id}/schedule", headers=mine).status_code == 200
                ),
                "the loan's schedule",
            )
            for path in (
                f"/api/loans/{loan_id}/schedule",
                f"/api/loans/{loan_id}/statement",
                f"/api/repayments/loan/{loan_id}",
                f"/api/clients/{client_id}/accounts",
                f"/api/ledger/accounts/1100:{loan_id}",
            ):
                assert client.get(path, headers=mine).status_code == 200, path
                refused = client.get(path, headers=theirs)
                assert refused.status_code == 404, path
        for table in ("owned_groups", "owned_clients", "owned_loans"):
            assert _count(container, f"SELECT count(*) FROM {table}") == (  # noqa: S608
                2 if table == "owned_clients" else 1
            )
        assert (
            _count(
                container,
                "SELECT count(*) FROM processed_messages WHERE consumer = 'ledger-ownership'",
            )
            == len(ownership) + 1
        )
    finally:
        container.close()


def test_the_same_ownership_event_applied_twice_changes_nothing(container: Any, h: Any) -> None:
    officer, group_id, client_id, loan_id = (uuid.uuid4() for _ in range(4))
    events = [
        h.envelope(h.group_created(group_id, officer)),
        h.envelope(h.client_onboarded(client_id, group_id)),
        h.envelope(h.loan_approved(loan_id, client_id, officer_id=officer, group_id=group_id)),
    ]

    def snapshot() -> list[Any]:
        with container.pool.connection() as conn:
            return [
                conn.execute(f"SELECT * FROM {table} ORDER BY 1").fetchall()  # noqa: S608
                for table in ("owned_groups", "owned_clients", "owned_loans")
            ]

    for env in events:
        with container.pool.connection() as conn, conn.transaction():
            record_ownership(env, conn)
    first = snapshot()
    for env in events:
        with container.pool.connection() as conn, conn.transaction():
            record_ownership(env, conn)
    assert snapshot() == first
    assert first == [
        [(group_id, officer)],
        [(client_id, group_id)],
        [(loan_id, client_id, officer)],
    ]
    assert container.ownership.owns_loan(officer, loan_id)
    assert container.ownership.owns_client(officer, client_id)


def test_what_the_ledger_has_not_learned_is_hidden_from_loan_officers(
    client: TestClient, container: Any, staff: Any, h: Any
) -> None:
    """Fail closed: a loan whose ownership has not arrived answers 404 to every loan officer."""
    officer = uuid.uuid4()
    loan_id, client_id = h.open_loan(container)  # the ledger has the loan, not its owner
    mine = staff.headers("loan_officer", officer)
    assert client.get(f"/api/loans/{loan_id}/schedule", headers=mine).status_code == 404
    assert client.get(f"/api/clients/{client_id}/accounts", headers=mine).status_code == 404
    admin = staff.headers("initiator_admin")
    assert client.get(f"/api/loans/{loan_id}/schedule", headers=admin).status_code == 200
    h.own(container, officer, client_id=client_id, loan_id=loan_id)
    assert client.get(f"/api/loans/{loan_id}/schedule", headers=mine).status_code == 200
    assert client.get(f"/api/clients/{client_id}/accounts", headers=mine).status_code == 200


def test_a_client_belongs_to_the_officer_of_their_group(
    client: TestClient, container: Any, staff: Any, h: Any
) -> None:
    """As origination decides it: the group's officer, whatever the client event says."""
    officer = uuid.uuid4()
    group_id, client_id, stray = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    for event in (
        h.group_created(group_id, officer),
        h.client_onboarded(client_id, group_id),
        h.client_onboarded(stray, None),  # no group: nobody's
    ):
        with container.pool.connection() as conn, conn.transaction():
            record_ownership(h.envelope(event), conn)
    mine = staff.headers("loan_officer", officer)
    assert client.get(f"/api/clients/{client_id}/accounts", headers=mine).status_code == 200
    assert client.get(f"/api/clients/{stray}/accounts", headers=mine).status_code == 404


def test_lists_filters_and_reports_hold_only_the_officers_own_money(
    client: TestClient, container: Any, staff: Any, h: Any
) -> None:
    a, b = uuid.uuid4(), uuid.uuid4()
    loans, clients = {}, {}
    for officer, principal in ((a, 1_000_000), (b, 3_000_000)):
        loan_id, client_id = h.open_loan(container, principal)
        h.own(container, officer, client_id=client_id, loan_id=loan_id)
        loans[officer], clients[officer] = loan_id, client_id
        h.deliver(
            container, h.payment_received(f"P{officer.hex[:8].upper()}", 10_000, loan_id=loan_id)
        )
        deposit = {
            "clientId": str(client_id),
            "amount": 500,
            "paymentMethod": "cash",
            "transactionId": f"D{officer.hex[:8].upper()}",
        }
        assert (
            client.post(
                "/api/savings/deposits", json=deposit, headers=staff.headers("super_admin")
            ).status_code
            == 201
        )
    as_a = staff.headers("loan_officer", a)
    other_client = clients[b]

    filtered = client.get(f"/api/savings?clientId={other_client}", headers=as_a)
    assert filtered.status_code == 200 and filtered.json() == []
    assert filtered.headers["X-Total-Count"] == "0"
    everything = client.get("/api/savings", headers=as_a)
    assert [row["clientId"] for row in everything.json()] == [str(clients[a])]
    assert everything.headers["X-Total-Count"] == "1"
    assert (
        client.get(f"/api/savings/withdrawals?clientId={other_client}", headers=as_a).json() == []
    )

    receipts = client.get("/api/repayments/unallocated?status=all", headers=as_a)
    assert sorted(r["receipt"] for r in receipts.json()) == [
        f"D{a.hex[:8].upper()}",
        f"P{a.hex[:8].upper()}",
    ]
    assert receipts.headers["X-Total-Count"] == "2"
    admin_receipts = client.get(
        "/api/repayments/unallocated?status=all", headers=staff.headers("super_admin")
    )
    assert admin_receipts.headers["X-Total-Count"] == "4"

    report = client.get("/api/reports/portfolio?asOf=2025-01-15", headers=as_a).json()
    assert report["outstandingPrincipalCents"] == 1_000_000
    assert report["loansOutstanding"] == 1
    everyone = client.get(
        "/api/reports/portfolio?asOf=2025-01-15", headers=staff.headers("approver_admin")
    ).json()
    assert everyone["outstandingPrincipalCents"] == 4_000_000
