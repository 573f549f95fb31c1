"""Write the ledger's stored-events fixture for the release checked out: run once per release.

Not collected by ``make test`` (the name does not start with ``test_``); run it by path on a
committed tree, then commit the new file under ``tests/fixtures/stored_events/``:

    DATABASE_URL=postgresql://... .venv/bin/pytest services/ledger/tests/write_stored_events.py

It drives the ledger through its consumers and HTTP API as the other services and staff would:
a loan account approved (then amended), disbursed, repaid by cash and M-Pesa, a repayment
reversed, a receipt in conflict, arrears assessed, the loan repaid in full; a second loan
written off; another cancelled by origination before any money moved (from 2026-12-01); a third paid out the wrong amount, held, and accepted, a fourth held and marked for
recovery; savings deposited, a deposit reversed, an unallocated receipt assigned, withdrawals
approved and rejected. Then it dumps every stored event. ``test_stored_events.py`` proves that
later code still reads them. Never regenerate an existing file.
"""

from __future__ import annotations

import datetime as dt
import uuid
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from hazina_contracts.events.origination import LoanCancelled
from hazina_servicekit.stored_events import release_of, write_fixture

HERE = Path(__file__).parent
APPROVER = "approver_admin"


def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, f"{response.status_code}: {response.text}"
    return response.json()


def pay(client: TestClient, staff: Any, loan_id: uuid.UUID, amount: Any, receipt: str) -> Any:
    return client.post(
        "/api/repayments",
        json={
            "loanId": str(loan_id),
            "amount": amount,
            "paymentMethod": "cash",
            "transactionId": receipt,
        },
        headers=staff.headers("initiator_admin"),
    )


def test_write_stored_events(
    client: TestClient, container: Any, staff: Any, h: Any, clock: Any
) -> None:
    release = release_of(HERE.parent / "src")
    reason = {"reason": "confirmed with the borrower and the M-Pesa statement"}

    # One loan through its life: approved, amended, disbursed, repaid, reversed, in arrears, repaid.
    loan_id, client_id = uuid.uuid4(), uuid.uuid4()
    h.deliver(container, h.client_onboarded(client_id, national_id="23456789"))
    h.deliver(container, h.loan_approved(loan_id, client_id, 1_500_000))
    h.deliver(container, h.loan_approved(loan_id, client_id, 2_000_000))  # terms amended
    h.deliver(container, h.disbursement_completed(loan_id, 2_000_000))
    clock.set_date(dt.date(2025, 2, 1))
    ok(pay(client, staff, loan_id, 5000, "CASH1"), 201)
    h.deliver(container, h.payment_received("SKM1ABCDEF", 300_000, loan_id=loan_id))
    ok(pay(client, staff, loan_id, 5001, "CASH1"), 409)  # same receipt, another amount
    ok(
        client.post(
            "/api/repayments/SKM1ABCDEF/reverse", json=reason, headers=staff.headers(APPROVER)
        )
    )
    assess = "/api/ledger/arrears/assess"
    ok(client.post(assess, json={"asOf": "2025-03-05"}, headers=staff.headers(APPROVER)))
    clock.set_date(dt.date(2025, 3, 6))
    ok(pay(client, staff, loan_id, 27000, "CASH2"), 201)
    assert container.ledger.loan(loan_id).status == "repaid"

    # A loan written off.
    lost, _ = h.open_loan(container)
    ok(
        client.post(
            f"/api/ledger/loans/{lost}/write-off",
            json={"reason": "client absconded"},
            headers=staff.headers(APPROVER),
        )
    )

    # A loan origination cancelled before any money moved (from the 2026-12-01 release).
    withdrawn, withdrawn_client = uuid.uuid4(), uuid.uuid4()
    h.deliver(container, h.client_onboarded(withdrawn_client, national_id="45678901"))
    h.deliver(container, h.loan_approved(withdrawn, withdrawn_client, 1_000_000))
    h.deliver(
        container,
        LoanCancelled(
            occurred_at=dt.datetime(2025, 1, 5, 10, tzinfo=dt.UTC),
            actor_id=uuid.uuid4(),
            loan_id=withdrawn,
            reason="the borrower withdrew",
        ),
    )

    # Payouts of the wrong amount: one accepted as the principal, one to recover.
    mismatches = "/api/ledger/disbursement-mismatches"
    for decision in ("accept", "recover"):
        held, held_client = uuid.uuid4(), uuid.uuid4()
        h.deliver(
            container, h.client_onboarded(held_client, national_id=str(30_000_000 + len(decision)))
        )
        h.deliver(container, h.loan_approved(held, held_client, 2_000_000))
        payout = h.disbursement_completed(held, 2_500_000)
        h.deliver(container, payout)
        ok(
            client.post(
                f"{mismatches}/{payout.disbursement_id}/{decision}",
                json=reason,
                headers=staff.headers(APPROVER),
            )
        )

    # Savings: deposits, a reversal, an unallocated receipt assigned, withdrawals decided.
    saver = uuid.uuid4()
    h.deliver(container, h.client_onboarded(saver, national_id="34567890"))
    for receipt, amount in (("DEP1", 4000), ("DEP2", 1000)):
        ok(
            client.post(
                "/api/savings/deposits",
                json={
                    "clientId": str(saver),
                    "amount": amount,
                    "paymentMethod": "cash",
                    "transactionId": receipt,
                },
                headers=staff.headers("initiator_admin"),
            ),
            201,
        )
    ok(
        client.post(
            "/api/savings/deposits/DEP2/reverse",
            json={"reason": "wrong client"},
            headers=staff.headers(APPROVER),
        )
    )
    h.deliver(container, h.payment_received("SKU1GHIJKL", 50_000, target="unallocated"))
    ok(
        client.post(
            "/api/repayments/unallocated/SKU1GHIJKL/assign",
            json={"clientId": str(saver)},
            headers=staff.headers("initiator_admin"),
        )
    )
    maker = uuid.uuid4()
    for decision in ("approve", "reject"):
        withdrawal = ok(
            client.post(
                "/api/savings/withdrawals",
                json={"clientId": str(saver), "amount": 500, "paymentMethod": "cash"},
                headers=staff.headers(APPROVER, maker),
            ),
            201,
        )["withdrawal"]
        ok(
            client.post(
                f"/api/savings/withdrawals/{withdrawal['_id']}/{decision}",
                headers=staff.headers("super_admin"),
            )
        )

    names = {
        type(container.ledger.mapper.to_domain_event(n)).__qualname__
        for n in container.ledger.recorder.select_notifications(start=1, limit=10_000)
    }
    print(sorted(names))  # noqa: T201 - shown with -s, to see what the fixture covers
    write_fixture(
        container.ledger, HERE / "fixtures" / "stored_events", release=release, service="ledger"
    )
