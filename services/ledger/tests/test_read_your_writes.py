"""Reads with the read side left to its follower (the workers process, woken by every commit):
a GET shows the views as last committed and never does the follower's work; a write through the
API answers only once the views include it, so every read after it shows it."""

from __future__ import annotations

import datetime as dt
from typing import Any

import psycopg
from fastapi.testclient import TestClient

from hazina_servicekit.database import conninfo_for


def _paid(client: TestClient, staff: Any, loan_id: Any) -> int:
    history = client.get(f"/api/repayments/loan/{loan_id}", headers=staff.headers("accountant"))
    assert history.status_code == 200, history.text
    return int(history.json()["total_paid_cents"])


def test_a_write_through_the_api_is_in_every_read_after_it(
    client: TestClient, container: Any, staff: Any, h: Any, clock: Any
) -> None:
    loan_id, _ = h.open_loan(container)
    assert _paid(client, staff, loan_id) == 0  # the loan is in the views before the follower
    clock.set_date(dt.date(2025, 2, 1))
    with psycopg.connect(conninfo_for(container.settings.database_url), autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (container.projection.follower_key,))
        answer = client.post(
            "/api/repayments",
            json={
                "loanId": str(loan_id),
                "amount": 5000,
                "paymentMethod": "cash",
                "transactionId": "RYW0000001",
            },
            headers=staff.headers("initiator_admin"),
        )
        assert answer.status_code == 201, answer.text
        assert _paid(client, staff, loan_id) == 500_000


def test_a_read_leaves_what_arrived_by_message_to_the_follower(
    client: TestClient, container: Any, staff: Any, h: Any
) -> None:
    loan_id, _ = h.open_loan(container)
    assert _paid(client, staff, loan_id) == 0
    with psycopg.connect(conninfo_for(container.settings.database_url), autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (container.projection.follower_key,))
        h.deliver(container, h.payment_received("RYW0000002", 300_000, loan_id=loan_id))
        assert _paid(client, staff, loan_id) == 0  # as last committed: the follower's to apply
    # No follower any more: the read brings the views up to date itself.
    assert _paid(client, staff, loan_id) == 300_000
