"""What Dhamira's loan pages need from origination (../shared/docs/dhamira-frontend.md §3, §6):
group loans, guarantors named at initiation, cancelling and the application fee (each an event,
a repeat changing nothing), the detail page's schedule, repayments and actions, and the reports."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from hazina_contracts.events import ledger
from hazina_origination.adapters.consumers import loan_balances_handler
from hazina_origination.adapters.contract_mapping import to_contract

from .conftest import envelope


def _events(world: Any, loan_id: str) -> list[str]:
    return [type(e).__name__ for e in world.container.app.events.get(uuid.UUID(loan_id))]


def _balances(world: Any, event: Any) -> None:
    """Deliver a LEDGER event to the loan-figures handler, as its consumer does."""
    with world.container.pool.connection() as conn, conn.transaction():
        loan_balances_handler()(envelope(event), conn)


def _initiated(world: Any, officer: Any) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    _, people = world.ready_group(officer)
    world.savings(people[0]["_id"], 400_000)
    return world.ok(world.initiate(officer, people[0], world.product()), 201)["loan"], people


def test_cancel_and_the_application_fee_are_events_once_however_often_pressed(
    world: Any, officer: Any
) -> None:
    loan, people = _initiated(world, officer)
    admin = world.staff("admin")
    for _ in range(2):
        marked = world.ok(
            world.http.put(
                f"/api/loans/{loan['_id']}/mark-application-fee-paid", headers=admin.headers
            )
        )
        assert marked["loan"]["applicationFeePaid"] is True
    for _ in range(2):
        cancelled = world.ok(
            world.http.put(f"/api/loans/{loan['_id']}/cancel", headers=admin.headers)
        )
        assert cancelled["loan"]["status"] == "cancelled"
    names = _events(world, loan["_id"])
    assert names.count("ApplicationFeePaid") == 1 and names.count("Cancelled") == 1
    # Both go out on the ORIGINATION stream (the audit log reads them there), with the actor.
    stored = world.container.app.events.get(uuid.UUID(loan["_id"]))
    published = [c for c in map(to_contract, stored) if c is not None]
    fee, cancelled = (
        [c for c in published if kind == c.TYPE]
        for kind in ("LoanApplicationFeePaid", "LoanCancelled")
    )
    assert len(fee) == len(cancelled) == 1 and fee[0].fees_cents == loan["application_fee_cents"]
    assert cancelled[0].actor_id == admin.user_id
    # A cancelled loan no longer holds the borrower's open-loan slot.
    world.ok(world.initiate(officer, people[0], world.product()), 201)


def test_rejecting_twice_records_one_rejection_and_a_disbursed_loan_cannot_be_cancelled(
    world: Any, officer: Any
) -> None:
    loan, _ = _initiated(world, officer)
    for _ in range(2):
        world.ok(world.http.put(f"/api/loans/{loan['_id']}/reject", headers=world.approver.headers))
    assert _events(world, loan["_id"]).count("Rejected") == 1
    approved = world.approved_loan(officer)
    world.ok(
        world.http.put(f"/api/loans/{approved['_id']}/disburse", headers=world.disburser.headers),
        202,
    )
    refused = world.http.put(
        f"/api/loans/{approved['_id']}/cancel", headers=world.initiator.headers
    )
    assert refused.status_code == 409 and "disbursement_pending" in refused.json()["message"]


def test_bulk_fee_marking_reports_each_loan_it_could_not_mark(world: Any, officer: Any) -> None:
    first, _ = _initiated(world, officer)
    second, _ = _initiated(world, officer)
    unknown = str(uuid.uuid4())
    body = world.ok(
        world.http.post(
            "/api/loans/mark-application-fee-paid-bulk",
            json={"loanIds": [first["_id"], second["_id"], unknown, first["_id"]]},
            headers=world.initiator.headers,
        )
    )
    assert sorted(body["updated"]) == sorted([first["_id"], second["_id"]])
    assert body["failed"] == [{"loanId": unknown, "message": "Loan not found"}]
    assert world.loan(second["_id"])["applicationFeePaid"] is True
    assert _events(world, first["_id"]).count("ApplicationFeePaid") == 1


def test_a_group_loan_is_signed_by_the_chairperson_and_named_guarantors_are_recorded(
    world: Any, officer: Any
) -> None:
    group, people = world.ready_group(officer, members=4)
    for person in people:
        world.savings(person["_id"], 400_000)
    product = world.product()
    answer = world.ok(
        world.http.post(
            "/api/loans/initiate",
            json={
                "groupId": group["_id"],
                "productId": product["_id"],
                "amountKES": 20000,
                "term": 6,
                "interestRatePercent": 10,
                "purpose": "Stock",
                "guarantors": [
                    {
                        "name": people[1]["name"],
                        "clientNationalId": people[1]["nationalId"],
                        "phone": people[1]["phone"],
                        "isMember": True,
                        "relationship": "Member",
                        "clientId": None,
                    },
                    {"name": "P3", "relationship": "Friend", "clientId": people[3]["_id"]},
                    {
                        "name": "Outsider",
                        "clientNationalId": "99999999",
                        "phone": "0711000111",
                        "isMember": False,
                        "relationship": "Supplier",
                    },
                    {"name": "Nameless", "isMember": False},
                ],
            },
            headers=officer.headers,
        ),
        201,
    )
    loan = answer["loan"]
    assert loan["loanType"] == loan["type"] == "group"
    assert loan["groupId"]["_id"] == group["_id"]
    assert loan["clientId"]["_id"] == people[0]["_id"]  # the chairperson stands for the group
    assert answer["application_fee_cents"] == 30_000
    assert [e["guarantor"] for e in answer["guarantorErrors"]] == ["Nameless"]
    detail = world.loan(loan["_id"])
    members = [g for g in detail["guarantors"] if g["isMember"]]
    assert sorted(g["clientId"]["_id"] for g in members) == sorted(
        [people[1]["_id"], people[3]["_id"]]
    )
    # Someone who is not a client is kept on the loan by name, ID and phone, and can accept.
    [outsider] = [g for g in detail["guarantors"] if not g["isMember"]]
    assert outsider["clientId"] == {
        "_id": None,
        "name": "Outsider",
        "nationalId": "99999999",
        "phone": "254711000111",
    }
    assert outsider["relationship"] == "Supplier" and outsider["status"] == "pending"
    for _ in range(2):
        world.http.put(f"/api/guarantors/{outsider['_id']}/accept", headers=officer.headers)
    assert world.loan(loan["_id"])["acceptedGuarantors"] == 1
    assert _events(world, loan["_id"]).count("GuarantorAccepted") == 1
    wrong_rate = world.http.post(
        "/api/loans/initiate",
        json={
            "groupId": group["_id"],
            "productId": product["_id"],
            "amountKES": 20000,
            "term": 6,
            "interestRatePercent": 12,
        },
        headers=officer.headers,
    )
    assert wrong_rate.status_code == 400 and "interest rate" in wrong_rate.json()["message"]
    listed = world.ok(
        world.http.get(f"/api/loans?loanType=group&groupId={group['_id']}", headers=officer.headers)
    )
    assert [x["_id"] for x in listed] == [loan["_id"]]


def test_the_detail_page_shows_the_schedule_repayments_and_what_is_next_in_kes(
    world: Any, officer: Any
) -> None:
    loan = world.approved_loan(officer)
    loan_id, client_id = uuid.UUID(loan["_id"]), uuid.UUID(loan["clientId"]["_id"])
    start = datetime.now(UTC).date() - timedelta(days=45)
    rows = [
        ledger.ScheduledInstalment(
            number=n,
            due_on=start + timedelta(days=30 * n),
            principal_cents=1_000_000,
            interest_cents=200_000,
            fee_cents=0,
        )
        for n in (1, 2)
    ]
    opened = ledger.LoanAccountOpenedV2(
        occurred_at=datetime.now(UTC),
        loan_id=loan_id,
        client_id=client_id,
        principal_cents=2_000_000,
        total_interest_cents=400_000,
        total_fees_cents=0,
        instalments=2,
        disbursed_on=start,
        maturity_on=rows[-1].due_on,
        schedule=rows,
    )
    paid = ledger.RepaymentPosted(
        occurred_at=datetime.now(UTC) + timedelta(seconds=1),
        loan_id=loan_id,
        client_id=client_id,
        receipt="SCH1AAA",
        amount_cents=1_500_000,
        interest_cents=400_000,
        principal_cents=1_100_000,
        suspense_cents=0,
        outstanding_cents=900_000,
        payment_method="cash",
    )
    for event in (opened, opened, paid, paid):  # each delivered twice: counted once
        _balances(world, event)
    detail = world.loan(loan["_id"], world.approver)
    assert [
        (s["status"], s["amount"], s["principal"], s["interest"]) for s in detail["schedules"]
    ] == [
        ("paid", 12_000, 10_000, 2_000),
        ("partial", 12_000, 10_000, 2_000),
    ]
    assert detail["nextDue"] == {
        "amount": 9_000,
        "amount_cents": 900_000,
        "dueDate": rows[1].due_on.isoformat(),
    }
    assert detail["totals"]["totalDue"] == 24_000 and detail["totals"]["totalPaid"] == 15_000
    assert detail["totals"]["outstanding"] == 9_000 and detail["progress"] == 62
    [receipt] = detail["repayments"]
    assert (receipt["amount"], receipt["method"], receipt["reference"]) == (
        15_000,
        "cash",
        "SCH1AAA",
    )
    # The assess page builds /api/clients/<loan.clientId>: an id; the person is in ``client``.
    assert detail["loan"]["clientId"] == loan["clientId"]["_id"]
    assert detail["loan"]["client"]["name"] == loan["clientId"]["name"]


def test_actions_are_what_this_caller_may_press(world: Any, officer: Any) -> None:
    loan = world.approvable_loan(officer)

    def keys(who: Any) -> list[str]:
        return [a["key"] for a in world.loan(loan["_id"], who)["actions"]]

    assert keys(officer) == []
    assert keys(world.staff("accountant")) == []
    assert keys(world.super_admin) == ["mark-application-fee-paid", "cancel"]
    assert keys(world.approver) == ["approve", "reject", "mark-application-fee-paid", "cancel"]
    fresh, _ = _initiated(world, officer)
    assert [a["key"] for a in world.loan(fresh["_id"], officer)["actions"]] == ["credit-assessment"]
    _, people = world.ready_group(officer)
    world.savings(people[0]["_id"], 400_000)
    initiated_by_me = world.ok(
        world.http.post(
            "/api/loans/initiate",
            json={
                "clientNationalId": people[0]["nationalId"],
                "productId": world.product()["_id"],
                "amount": 5000,
                "term": 3,
            },
            headers=world.approver.headers,
        ),
        201,
    )["loan"]
    assert "approve" not in [
        a["key"] for a in world.loan(initiated_by_me["_id"], world.approver)["actions"]
    ]


def test_history_my_loans_and_performance_answer_the_report_shapes(
    world: Any, officer: Any
) -> None:
    loan, _ = _initiated(world, officer)
    history = world.ok(
        world.http.get("/api/loans/history?page=1&limit=50", headers=world.approver.headers)
    )
    assert history["total"] >= 1 and history["totalPages"] >= 1
    assert history["statistics"]["overall"]["totalLoans"] == history["total"]
    assert {"_id", "count", "totalPrincipal", "totalOutstanding"} <= set(
        history["statistics"]["byStatus"][0]
    )
    mine = world.ok(world.http.get("/api/loans/my-loans?page=1&limit=20", headers=officer.headers))
    assert [x["_id"] for x in mine["data"]] == [loan["_id"]]
    assert mine["statistics"]["totalLoans"] == 1
    assert mine["statistics"]["totalPrincipal"] == 2_000_000
    assert len(mine["myGroups"]) == 1 and mine["myGroups"][0]["id"]
    performance = world.ok(
        world.http.get("/api/loan-officers/performance", headers=officer.headers)
    )
    assert performance["loansInitiated"] == {"count": 1, "amountCents": 2_000_000}
    assert performance["loansInArrears"]["clients"] == []
    assert performance["myGroups"][0]["memberCount"] == 3


def test_guarantors_read_rejected_and_assessments_404_with_not_found(
    world: Any, officer: Any
) -> None:
    loan, people = _initiated(world, officer)
    missing = world.http.get(f"/api/credit-assessments/{loan['_id']}", headers=officer.headers)
    assert missing.status_code == 404 and "not found" in missing.json()["message"]
    added = world.ok(
        world.http.post(
            "/api/guarantors",
            json={
                "loanId": loan["_id"],
                "guarantorClientNationalId": people[1]["nationalId"],
                "relationship": "Aunt",
            },
            headers=world.initiator.headers,
        ),
        201,
    )
    rejected = world.ok(
        world.http.put(f"/api/guarantors/{added['_id']}/reject", headers=officer.headers)
    )
    assert rejected["status"] == "rejected"
    listed = world.ok(world.http.get("/api/guarantors?status=rejected", headers=officer.headers))
    assert [g["_id"] for g in listed] == [added["_id"]]
    assessed = world.ok(
        world.http.post(
            "/api/credit-assessments",
            json={
                "loanId": loan["_id"],
                "officerId": str(officer.user_id),
                **dict.fromkeys(
                    ("character", "capacity", "capital", "collateral", "conditions"), 4
                ),
                "officerNotes": "Seen the shop",
            },
            headers=world.staff("admin").headers,
        ),
        201,
    )
    got = world.ok(
        world.http.get(f"/api/credit-assessments/{loan['_id']}", headers=officer.headers)
    )
    assert got["_id"] == assessed["_id"] and got["totalScore"] == 20
    assert got["officerNotes"] == "Seen the shop" and got["createdAt"]
