"""Events the ledger cannot apply are parked: it starts, reads answer, and staff retry or skip them.

Two kinds: a stored event the read models cannot take (the projection parks it, and later events
of the same loan wait behind it), and an incoming event that needs a person (a second, different
disbursement for a loan), which the inbox parks for staff review.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from hazina_ledger.application.commands import ReverseReceipt
from hazina_ledger.bootstrap import Container, build
from hazina_servicekit.faults import read_model_bug
from hazina_servicekit.parking import ParkedEvent

PARKED = "/api/ledger/parked"


def history(app: Any, row_id: str) -> list[str]:
    return [type(e).__name__ for e in app.repository.event_store.get(uuid.UUID(row_id))]


@pytest.fixture
def restarted(
    container: Container, settings: Any, clock: Any, verifier: Any
) -> Iterator[tuple[Container, TestClient]]:
    again = build(settings, clock=clock, verifier=verifier)
    try:
        with TestClient(
            again.service.http_app(run_workers=False), raise_server_exceptions=False
        ) as c:
            yield again, c
    finally:
        again.close()


def test_the_ledger_starts_and_answers_with_an_unappliable_reversal_in_its_store(
    container: Container, staff: Any, h: Any, request: pytest.FixtureRequest
) -> None:
    loan_id, _ = h.open_loan(container)
    h.deliver(container, h.payment_received("NUL1", 500_000, loan_id=loan_id))
    container.ledger.reverse_receipt(  # bypasses the API's validation, as old data could
        ReverseReceipt(receipt="NUL1", reason="Wrong\x00 loan", reversed_by=uuid.uuid4())
    )
    restarted, client = request.getfixturevalue("restarted")  # used to fail here, forever

    reader = admin = staff.headers("initiator_admin")
    approver = staff.headers("approver_admin")
    assert client.get(f"/api/repayments/{loan_id}", headers=reader).status_code == 200
    assert client.get(PARKED, headers=staff.headers("loan_officer")).status_code == 403
    (row,) = client.get(PARKED, headers=admin).json()
    assert row["source"] == "ledger_read_models" and row["status"] == "parked"
    assert row["topic"] == "hazina.ledger.LoanAccount.RepaymentReversed"
    assert row["errorType"] == "DataError" and row["originatorId"] == str(loan_id)

    # Another loan carries on; a later event of this loan waits behind the parked one.
    other, _ = h.open_loan(restarted)
    h.deliver(restarted, h.payment_received("OTHER1", 300_000, loan_id=other))
    h.deliver(restarted, h.payment_received("LATER1", 100_000, loan_id=loan_id))
    paid = client.get(f"/api/repayments/{other}", headers=reader).json()
    assert paid["total_paid_cents"] == 300_000
    trial = client.get("/api/ledger/trial-balance", headers=reader).json()
    assert trial["balanced"] is True
    waiting = client.get(f"{PARKED}?status=parked", headers=admin).json()
    assert [(r["behind"], r["topic"].rsplit(".", 1)[1]) for r in waiting] == [
        (None, "RepaymentReversed"),
        (row["_id"], "RepaymentPosted"),
    ]

    skip = f"{PARKED}/{row['_id']}/skip"
    assert client.post(skip, json={"reason": "x"}, headers=admin).status_code == 403
    still = client.post(f"{PARKED}/{row['_id']}/retry", headers=approver)
    assert still.status_code == 409 and still.json()["code"] == "still_failing"
    done = client.post(skip, json={"reason": "reversal re-entered by hand"}, headers=approver)
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "skipped"
    assert [r["status"] for r in done.json()["released"]] == ["retried"]
    again = client.post(skip, json={"reason": "again"}, headers=approver)
    assert again.status_code == 409 and again.json()["code"] == "already_skipped"
    receipts = [
        r["_id"]
        for r in client.get(f"/api/repayments/{loan_id}", headers=reader).json()["repayments"]
    ]
    assert receipts == ["NUL1", "LATER1"]
    assert history(restarted.ledger, row["_id"]) == ["Parked", "Retried", "Skipped"]
    record = restarted.ledger.repository.get(uuid.UUID(row["_id"]))
    assert isinstance(record, ParkedEvent) and record.status == "skipped"


def test_a_retry_after_the_fix_applies_the_repayment_and_the_one_behind_it(
    client: TestClient, container: Container, staff: Any, h: Any
) -> None:
    # A bug in the read model, fixed below (the deploy of a fix).
    fix = read_model_bug(container.pool, table="repayments", column="receipt", value="BUG1")
    loan_id, _ = h.open_loan(container)
    h.deliver(container, h.payment_received("BUG1", 200_000, loan_id=loan_id))
    h.deliver(container, h.payment_received("BUG2", 100_000, loan_id=loan_id))
    reader, approver = staff.headers("initiator_admin"), staff.headers("approver_admin")
    assert client.get(f"/api/repayments/{loan_id}", headers=reader).json()["repayments"] == []
    head, behind = client.get(f"{PARKED}?status=parked", headers=approver).json()
    assert head["errorType"] == "RaiseException" and behind["behind"] == head["_id"]

    refused = client.post(f"{PARKED}/{behind['_id']}/retry", headers=approver)
    assert refused.status_code == 409 and "behind" in refused.json()["message"]
    fix()
    done = client.post(f"{PARKED}/{head['_id']}/retry", headers=approver)
    assert done.status_code == 200, done.text
    assert [r["status"] for r in done.json()["released"]] == ["retried"]
    paid = client.get(f"/api/repayments/{loan_id}", headers=reader).json()
    assert [r["_id"] for r in paid["repayments"]] == ["BUG1", "BUG2"]  # in their order
    assert paid["total_paid_cents"] == 300_000
    twice = client.post(f"{PARKED}/{head['_id']}/retry", headers=approver)
    assert twice.status_code == 409 and twice.json()["code"] == "already_retried"
    assert history(container.ledger, head["_id"]) == ["Parked", "Retried"]


def test_an_event_held_for_staff_review_is_resolved_through_the_api(
    client: TestClient, container: Container, staff: Any, h: Any
) -> None:
    loan_id, _ = h.open_loan(container)
    h.deliver(container, h.disbursement_completed(loan_id, disbursement_id=uuid.uuid4()))
    approver = staff.headers("approver_admin")
    (row,) = client.get(f"{PARKED}?status=parked", headers=approver).json()
    assert (row["source"], row["waitingFor"], row["topic"]) == (
        "ledger-inbox",
        "staff-review",
        "DisbursementCompleted v1",
    )
    still = client.post(f"{PARKED}/{row['_id']}/retry", headers=approver)
    assert still.status_code == 409 and still.json()["code"] == "still_failing"
    after = client.get(f"{PARKED}/{row['_id']}", headers=approver).json()
    assert (after["status"], after["waitingFor"], after["attempts"]) == (
        "parked",
        "staff-review",
        2,
    )
    assert container.inbox.retry_parked() == 0  # the timer leaves staff-review alone

    done = client.post(
        f"{PARKED}/{row['_id']}/skip",
        json={"reason": "duplicate B2C callback; the first disbursement stands"},
        headers=approver,
    )
    assert done.status_code == 200 and done.json()["status"] == "skipped"
    assert container.inbox.parked() == []
    assert history(container.ledger, row["_id"]) == ["Parked", "Retried", "Skipped"]
    loan = client.get(f"/api/loans/{loan_id}/schedule", headers=staff.headers("initiator_admin"))
    assert loan.status_code == 200


def test_replay_parks_what_it_cannot_apply_and_leaves_out_what_staff_skipped(
    container: Container, h: Any
) -> None:
    from hazina_ledger.cli import replay

    loan_id, _ = h.open_loan(container)
    h.deliver(container, h.payment_received("NUL2", 500_000, loan_id=loan_id))
    container.ledger.reverse_receipt(  # bypasses the API's validation, as old data could
        ReverseReceipt(receipt="NUL2", reason="Wrong\x00 loan", reversed_by=uuid.uuid4())
    )
    h.deliver(container, h.payment_received("LATER2", 100_000, loan_id=loan_id))
    container.projection.catch_up()

    report = replay(container, quiet=True)  # used to stop at the reversal
    assert report.checks["rebuilt_equals_live"] == 0, report.details
    parked = [d for d in report.details if d.startswith("parked by the rebuild")]
    assert len(parked) == 2
    assert "RepaymentReversed): DataError" in parked[0]
    assert "RepaymentPosted): ParkedBehind" in parked[1]

    head = container.parking.find(status="parked", source=container.projection.name)[0][0]
    container.parking.skip(head.id, by=uuid.uuid4(), reason="reversal re-entered by hand")
    report = replay(container, quiet=True)
    assert report.checks["rebuilt_equals_live"] == 0, report.details  # LATER2 in both
    assert not [d for d in report.details if d.startswith("parked by the rebuild")]
