"""Write origination's stored-events fixture for the release checked out: run once per release.

Not collected by ``make test`` (the name does not start with ``test_``); run it by path on a
committed tree, then commit the new file under ``tests/fixtures/stored_events/``:

    DATABASE_URL=postgresql://... .venv/bin/pytest services/origination/tests/write_stored_events.py

It drives origination through its HTTP API and its consumers as staff and the other services
would: a product defined and revised; a group and its clients onboarded and approved; a loan
initiated, guaranteed, assessed, approved, disbursed, fallen into arrears and repaid; a loan whose
disbursement failed; a rejected loan with a declined guarantor; a group loan with an outside guarantor, its fee
marked paid, cancelled; a legacy file imported. Then it
dumps every stored event. ``test_stored_events.py`` proves that later code still reads them.
Never regenerate an existing file.
"""

from __future__ import annotations

import io
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from hazina_contracts.events.ledger import LoanRepaid, LoanStatusChanged
from hazina_contracts.events.payments import DisbursementCompleted, DisbursementFailed
from hazina_origination.adapters.consumers import payments_handler
from hazina_servicekit.stored_events import release_of, write_fixture

HERE = Path(__file__).parent
LEGACY_HEADER = (
    "group_name,meeting_day,loan_officer_id,client_name,national_id,phone,residence,signatory_role,"
    "loan_amount,loan_outcome,loan_disbursed_on,loan_closed_on,loan_reference"
)


def disburse(world: Any, loan: dict[str, Any]) -> uuid.UUID:
    response = world.http.post(
        f"/api/loans/{loan['_id']}/disburse", headers=world.disburser.headers
    )
    return uuid.UUID(world.ok(response, 202)["transactionId"])


def deliver_payments(world: Any, event: Any) -> None:
    with world.container.pool.connection() as conn, conn.transaction():
        payments_handler(world.container.app)(world.envelope(event), conn)


def test_write_stored_events(world: Any) -> None:
    release = release_of(HERE.parent / "src")
    officer = world.staff("loan_officer")
    world.announce(officer, username="achieng", name="Achieng Otieno")
    now = datetime.now(UTC)

    # A loan from initiation to repaid, and the product revised along the way.
    product = world.product()
    loan = world.approved_loan(officer)
    world.ok(
        world.http.patch(
            f"/api/loan-products/{product['_id']}",
            json={"interestRate": 8.5, "maxTerm": 24},
            headers=world.super_admin.headers,
        )
    )
    loan_id, client_id = uuid.UUID(loan["_id"]), uuid.UUID(loan["clientId"]["_id"])
    disbursement_id = disburse(world, loan)
    deliver_payments(
        world,
        DisbursementCompleted(
            occurred_at=now,
            disbursement_id=disbursement_id,
            loan_id=loan_id,
            amount_cents=loan["principal_cents"],
            charge_cents=1_300,
            mpesa_receipt="SKL7QWERTY",
            recipient_name="WANJIKU KAMAU",
            completed_at=now,
        ),
    )
    world.deliver_ledger(
        LoanStatusChanged(
            occurred_at=now + timedelta(days=35),
            loan_id=loan_id,
            client_id=client_id,
            status="in_arrears",
            days_past_due=5,
            outstanding_cents=1_500_000,
        )
    )
    world.deliver_ledger(
        LoanRepaid(
            occurred_at=now + timedelta(days=180),
            loan_id=loan_id,
            client_id=client_id,
            total_paid_cents=2_400_000,
        )
    )
    assert world.loan(loan["_id"])["status"] == "repaid"

    # A loan whose payout failed at M-Pesa.
    failing = world.approved_loan(officer)
    deliver_payments(
        world,
        DisbursementFailed(
            occurred_at=now,
            disbursement_id=disburse(world, failing),
            loan_id=uuid.UUID(failing["_id"]),
            amount_cents=failing["principal_cents"],
            result_code="2001",
            result_description="The initiator information is invalid.",
            retryable=False,
        ),
    )

    # A loan rejected after its guarantor declined.
    _, people = world.ready_group(officer)
    world.savings(people[0]["_id"], 400_000)
    rejected = world.ok(world.initiate(officer, people[0], product), 201)["loan"]
    added = world.ok(
        world.http.post(
            "/api/guarantors",
            json={
                "loanId": rejected["_id"],
                "clientId": people[1]["_id"],
                "relationship": "Sister",
                "idCopyUrl": world.document_url(),
                "photoUrl": world.document_url(),
            },
            headers=officer.headers,
        ),
        201,
    )
    world.ok(world.http.put(f"/api/guarantors/{added['_id']}/decline", headers=officer.headers))
    world.ok(
        world.http.put(
            f"/api/loans/{rejected['_id']}/reject",
            json={"reason": "Incomplete documents"},
            headers=world.approver.headers,
        )
    )

    # A group loan with a guarantor who is not a client, its fee marked paid, then cancelled.
    group_record, members = world.ready_group(officer)
    for member in members:
        world.savings(member["_id"], 400_000)
    group_loan = world.ok(
        world.http.post(
            "/api/loans/initiate",
            json={
                "groupId": group_record["_id"],
                "productId": product["_id"],
                "amountKES": 10000,
                "term": 3,
                "guarantors": [
                    {"name": "Outsider", "clientNationalId": world.national_id(), "phone": None}
                ],
            },
            headers=officer.headers,
        ),
        201,
    )["loan"]
    for action in ("mark-application-fee-paid", "cancel"):
        world.ok(
            world.http.put(
                f"/api/loans/{group_loan['_id']}/{action}", headers=world.initiator.headers
            )
        )

    # Records from before Hazina, imported from a file.
    group = f"Legacy Umoja {uuid.uuid4().hex[:6]}"
    ids = [world.national_id() for _ in range(3)]
    rows = [
        f"{group},Tuesday,{officer.user_id},Mary Akinyi,{ids[0]},0712000001,owned,chairperson,"
        "15000,repaid,2024-01-10,2024-07-10,OLD-1",
        f"{group},,,John Otieno,{ids[1]},0712000002,rented,secretary,5000,written off,"
        "2023-03-01,,OLD-2",
        f"{group},,,Grace Wanjiru,{ids[2]},0712000003,,treasurer,,,,,",
    ]
    data = ("\n".join([LEGACY_HEADER, *rows]) + "\n").encode()
    imported = world.http.post(
        "/api/origination/import",
        files={"file": ("legacy.csv", io.BytesIO(data), "application/octet-stream")},
        headers=world.super_admin.headers,
    )
    assert world.ok(imported)["imported"] is True

    app = world.container.app
    names = {
        type(app.mapper.to_domain_event(n)).__qualname__
        for n in app.recorder.select_notifications(start=1, limit=10_000)
    }
    print(sorted(names))  # noqa: T201 - shown with -s, to see what the fixture covers
    write_fixture(app, HERE / "fixtures" / "stored_events", release=release, service="origination")
