"""The loan lifecycle through HTTP, as the seed's quick test walks it, and its guard rails."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from hazina_contracts.events.ledger import LoanRepaid, LoanStatusChanged
from hazina_origination.domain.account_number import is_valid_account_number


def test_the_whole_lifecycle_through_http(world: Any, officer: Any) -> None:
    product = world.product()
    group, people = world.ready_group(officer)
    borrower, guarantor = people[0], people[1]
    world.savings(borrower["_id"], 400_000)

    created = world.ok(world.initiate(officer, borrower, product, amount="20000.00", term=6), 201)
    loan = created["loan"]
    assert created["message"] == "Loan initiated"
    assert loan["status"] == "initiated"
    assert (
        loan["principal_cents"] == 2_000_000
        and loan["amount"] == 20000
        and loan["amountKES"] == 20000
    )
    assert created["application_fee_cents"] == 30_000  # 1.5% of 20,000
    assert is_valid_account_number(loan["accountNumber"]) and len(loan["accountNumber"]) <= 12
    assert loan["terms"]["term"] == 6 and loan["terms"]["interest_rate_percent"] == "10"
    assert loan["groupId"]["_id"] == group["_id"] and loan["clientId"]["name"] == borrower["name"]
    assert loan["canDisburse"] is False

    added = world.ok(
        world.http.post(
            "/api/guarantors",
            json={
                "loanId": loan["_id"],
                "clientId": guarantor["_id"],
                "relationship": "Brother",
                "idCopyUrl": world.document_url(),
                "photoUrl": world.document_url(),
            },
            headers=officer.headers,
        ),
        201,
    )
    assert added["status"] == "pending" and added["clientId"]["name"] == guarantor["name"]
    assert "sig=" in added["idCopyUrl"] and "sig=" in added["photoUrl"]
    accepted = world.ok(
        world.http.put(f"/api/guarantors/{added['_id']}/accept", headers=officer.headers)
    )
    assert accepted["status"] == "accepted"

    assessed = world.ok(
        world.http.post(
            "/api/credit-assessments",
            json={
                "loanId": loan["_id"],
                "character": 4,
                "capacity": 4,
                "capital": 4,
                "collateral": 3,
                "conditions": 4,
                "officerNotes": "Stable business",
            },
            headers=officer.headers,
        ),
        201,
    )
    assert assessed["totalScore"] == 19 and assessed["passed"] is True

    approved = world.ok(
        world.http.put(f"/api/loans/{loan['_id']}/approve", headers=world.approver.headers)
    )
    assert approved["loan"]["status"] == "approved" and approved["loan"]["canDisburse"] is True

    response = world.http.post(
        f"/api/loans/{loan['_id']}/disburse", headers=world.disburser.headers
    )
    body = world.ok(response, 202)
    assert body["message"] == "Disbursement initiated" and body["loanId"] == loan["_id"]
    uuid.UUID(body["transactionId"])

    detail = world.loan(loan["_id"])
    assert detail["status"] == "disbursement_pending"
    assert detail["loan"]["_id"] == loan["_id"] and [g["status"] for g in detail["guarantors"]] == [
        "accepted"
    ]
    assert detail["creditAssessment"]["totalScore"] == 19
    assert [h["status"] for h in detail["history"]] == [
        "initiated",
        "approved",
        "disbursement_pending",
    ]
    assert detail["history"][1]["by"] == str(world.approver.user_id)


def test_disbursing_twice_requests_money_once(world: Any, officer: Any) -> None:
    loan = world.approved_loan(officer)
    first = world.ok(
        world.http.post(f"/api/loans/{loan['_id']}/disburse", headers=world.disburser.headers), 202
    )
    again = world.ok(
        world.http.put(f"/api/loans/{loan['_id']}/disburse", headers=world.disburser.headers), 202
    )
    assert again["transactionId"] == first["transactionId"]
    assert again["message"] == "Disbursement already initiated"
    app = world.container.app
    events = list(app.events.get(uuid.UUID(loan["_id"])))
    assert sum(type(e).__name__ == "DisbursementRequested" for e in events) == 1


def test_the_super_admin_neither_approves_nor_disburses_and_an_approver_not_their_own_approval(
    world: Any, officer: Any
) -> None:
    """Segregation of duties (docs/roles.md): the super admin runs the system, not the money;
    whoever approved a loan may not disburse it, whatever their role."""
    loan = world.approvable_loan(officer)
    refused = world.http.put(f"/api/loans/{loan['_id']}/approve", headers=world.super_admin.headers)
    assert refused.status_code == 403
    world.ok(world.http.put(f"/api/loans/{loan['_id']}/approve", headers=world.approver.headers))
    for who in (world.super_admin, world.approver):
        response = world.http.post(f"/api/loans/{loan['_id']}/disburse", headers=who.headers)
        assert response.status_code == 403, response.text
    mine = world.ok(world.http.get(f"/api/loans/{loan['_id']}", headers=world.approver.headers))
    assert "disburse" not in [a["key"] for a in mine["actions"]]
    other = world.ok(world.http.get(f"/api/loans/{loan['_id']}", headers=world.disburser.headers))
    assert "disburse" in [a["key"] for a in other["actions"]]
    world.ok(
        world.http.put(f"/api/loans/{loan['_id']}/disburse", headers=world.disburser.headers), 202
    )


def test_an_approver_who_is_not_the_initiator_approves_without_override(
    world: Any, officer: Any
) -> None:
    loan = world.approvable_loan(officer)
    response = world.http.put(
        f"/api/loans/{loan['_id']}/approve", headers=world.staff("approver_admin").headers
    )
    assert response.status_code == 200 and response.json()["loan"]["makerCheckerOverride"] is False


def test_maker_checker_the_initiator_cannot_approve_even_after_becoming_an_approver(
    world: Any,
) -> None:
    """The same person (user id) initiated as initiator_admin, then holds approver_admin: refused."""
    officer = world.staff("loan_officer")
    person = uuid.uuid4()
    as_initiator = {"Authorization": f"Bearer {world.mint.token(person, 'initiator_admin')}"}
    as_approver = {"Authorization": f"Bearer {world.mint.token(person, 'approver_admin')}"}
    product = world.product()
    _, people = world.ready_group(officer)
    world.savings(people[0]["_id"], 400_000)
    loan = world.ok(
        world.http.post(
            "/api/loans/initiate",
            json={
                "clientNationalId": people[0]["nationalId"],
                "productId": product["_id"],
                "amount": 20000,
                "term": 6,
            },
            headers=as_initiator,
        ),
        201,
    )["loan"]
    g = world.ok(
        world.http.post(
            "/api/guarantors",
            json={"loanId": loan["_id"], "clientId": people[1]["_id"], "relationship": "Friend"},
            headers=officer.headers,
        ),
        201,
    )
    world.ok(world.http.put(f"/api/guarantors/{g['_id']}/accept", headers=officer.headers))
    world.ok(
        world.http.post(
            "/api/credit-assessments",
            json={
                "loanId": loan["_id"],
                "character": 4,
                "capacity": 4,
                "capital": 4,
                "collateral": 4,
                "conditions": 4,
            },
            headers=as_initiator,
        ),
        201,
    )
    response = world.http.put(f"/api/loans/{loan['_id']}/approve", headers=as_approver)
    assert response.status_code == 403 and "maker-checker" in response.json()["message"]
    assert world.loan(loan["_id"])["status"] == "initiated"
    world.ok(world.http.put(f"/api/loans/{loan['_id']}/approve", headers=world.approver.headers))


def test_approval_needs_a_passing_assessment_and_an_accepted_guarantor(
    world: Any, officer: Any
) -> None:
    product = world.product()
    _, people = world.ready_group(officer)
    borrower, guarantor = people[0], people[1]
    world.savings(borrower["_id"], 400_000)
    loan = world.ok(world.initiate(officer, borrower, product), 201)["loan"]
    approve = f"/api/loans/{loan['_id']}/approve"

    response = world.http.put(approve, headers=world.approver.headers)
    assert (
        response.status_code == 409 and "without a credit assessment" in response.json()["message"]
    )

    low = world.ok(
        world.http.post(
            "/api/credit-assessments",
            json={
                "loanId": loan["_id"],
                "character": 3,
                "capacity": 3,
                "capital": 3,
                "collateral": 4,
                "conditions": 4,
            },
            headers=officer.headers,
        ),
        201,
    )
    assert low["totalScore"] == 17 and low["passed"] is False and "below 18" in low["message"]
    response = world.http.put(approve, headers=world.approver.headers)
    assert response.status_code == 409 and "17/25" in response.json()["message"]
    again = world.http.post(
        "/api/credit-assessments",
        json={
            "loanId": loan["_id"],
            "character": 5,
            "capacity": 5,
            "capital": 5,
            "collateral": 5,
            "conditions": 5,
        },
        headers=officer.headers,
    )
    assert again.status_code == 409 and "cannot be redone" in again.json()["message"]
    g = world.ok(
        world.http.post(
            "/api/guarantors",
            json={"loanId": loan["_id"], "clientId": guarantor["_id"], "relationship": "Friend"},
            headers=officer.headers,
        ),
        201,
    )
    world.ok(world.http.put(f"/api/guarantors/{g['_id']}/accept", headers=officer.headers))
    response = world.http.put(approve, headers=world.approver.headers)
    assert (
        response.status_code == 409 and "17/25" in response.json()["message"]
    )  # a guarantor does not help


def test_a_loan_without_an_accepted_guarantor_cannot_be_approved(world: Any, officer: Any) -> None:
    product = world.product()
    _, people = world.ready_group(officer)
    borrower, guarantor = people[0], people[1]
    world.savings(borrower["_id"], 400_000)
    loan = world.ok(world.initiate(officer, borrower, product), 201)["loan"]
    world.ok(
        world.http.post(
            "/api/credit-assessments",
            json={
                "loanId": loan["_id"],
                "character": 4,
                "capacity": 4,
                "capital": 4,
                "collateral": 4,
                "conditions": 4,
            },
            headers=officer.headers,
        ),
        201,
    )
    g = world.ok(
        world.http.post(
            "/api/guarantors",
            json={"loanId": loan["_id"], "clientId": guarantor["_id"], "relationship": "Friend"},
            headers=officer.headers,
        ),
        201,
    )
    world.ok(world.http.put(f"/api/guarantors/{g['_id']}/decline", headers=world.initiator.headers))
    response = world.http.put(f"/api/loans/{loan['_id']}/approve", headers=world.approver.headers)
    assert response.status_code == 409 and "accepted guarantor" in response.json()["message"]
    again = world.http.put(f"/api/guarantors/{g['_id']}/accept", headers=officer.headers)
    assert again.status_code == 409 and "declined" in again.json()["message"]


def test_guarantor_rules(world: Any, officer: Any) -> None:
    product = world.product()
    _, people = world.ready_group(officer, members=4)
    borrower = people[0]
    world.savings(borrower["_id"], 400_000)
    loan = world.ok(world.initiate(officer, borrower, product), 201)["loan"]

    def add(client_id: str) -> Any:
        return world.http.post(
            "/api/guarantors",
            json={"loanId": loan["_id"], "clientId": client_id, "relationship": "Cousin"},
            headers=officer.headers,
        )

    assert add(borrower["_id"]).status_code == 400  # not the borrower
    pending = world.onboard(officer, people[0]["groupId"]["_id"], approve=False)
    response = add(pending["_id"])
    assert response.status_code == 400 and "active client" in response.json()["message"]
    world.ok(add(people[1]["_id"]), 201)
    assert add(people[1]["_id"]).status_code == 409  # already guaranteeing this loan

    # The test settings allow two open guarantees per client.
    guarantor = people[3]
    for _ in range(2):
        _, others = world.ready_group(officer)
        world.savings(others[0]["_id"], 400_000)
        other_loan = world.ok(world.initiate(officer, others[0], product), 201)["loan"]
        world.ok(
            world.http.post(
                "/api/guarantors",
                json={
                    "loanId": other_loan["_id"],
                    "clientId": guarantor["_id"],
                    "relationship": "Friend",
                },
                headers=officer.headers,
            ),
            201,
        )
    response = add(guarantor["_id"])
    assert (
        response.status_code == 400
        and "already guarantees 2 open loans" in response.json()["message"]
    )


def test_reject_with_reason_closes_the_loan_and_frees_the_client(world: Any, officer: Any) -> None:
    product = world.product()
    _, people = world.ready_group(officer)
    borrower = people[0]
    world.savings(borrower["_id"], 400_000)
    loan = world.ok(world.initiate(officer, borrower, product), 201)["loan"]
    assert world.initiate(officer, borrower, product).status_code == 400  # one open loan at a time
    rejected = world.ok(
        world.http.put(
            f"/api/loans/{loan['_id']}/reject",
            json={"reason": "Incomplete documents"},
            headers=world.approver.headers,
        )
    )
    assert (
        rejected["loan"]["status"] == "rejected"
        and rejected["loan"]["rejectionReason"] == "Incomplete documents"
    )
    response = world.http.put(f"/api/loans/{loan['_id']}/approve", headers=world.approver.headers)
    assert response.status_code == 409 and "rejected" in response.json()["message"]
    response = world.http.post(
        f"/api/loans/{loan['_id']}/disburse", headers=world.disburser.headers
    )
    assert response.status_code == 409 and "its status is rejected" in response.json()["message"]
    world.ok(world.initiate(officer, borrower, product), 201)  # the slot is free again


def test_disbursing_a_loan_that_is_not_approved_is_409_with_its_status(
    world: Any, officer: Any
) -> None:
    loan = world.approvable_loan(officer)
    response = world.http.post(
        f"/api/loans/{loan['_id']}/disburse", headers=world.disburser.headers
    )
    assert response.status_code == 409
    assert response.json()["message"] == "Loan cannot be disbursed: its status is initiated"


def test_product_changes_reach_only_loans_initiated_afterwards(world: Any, officer: Any) -> None:
    product = world.product(interestRate="10")
    _, people = world.ready_group(officer)
    for person in people[:2]:
        world.savings(person["_id"], 1_000_000)
    before = world.ok(world.initiate(officer, people[0], product), 201)["loan"]
    revised = world.ok(
        world.http.patch(
            f"/api/loan-products/{product['_id']}",
            json={"interestRate": 8.5, "maxTerm": 24},
            headers=world.super_admin.headers,
        )
    )
    assert revised["interestRate"] == "8.5" and revised["revision"] == 2
    after = world.ok(world.initiate(officer, people[1], product, term=18), 201)["loan"]
    assert world.loan(before["_id"])["terms"]["interest_rate_percent"] == "10"
    assert after["terms"]["interest_rate_percent"] == "8.5"


def test_loans_initiate_by_type_when_one_product_has_it(world: Any, officer: Any) -> None:
    kind = f"emergency{uuid.uuid4().hex[:4]}"
    world.product(type=kind)
    _, people = world.ready_group(officer)
    world.savings(people[0]["_id"], 400_000)
    response = world.http.post(
        "/api/loans/initiate",
        json={"clientNationalId": people[0]["nationalId"], "type": kind, "amount": 5000, "term": 3},
        headers=officer.headers,
    )
    assert world.ok(response, 201)["loan"]["product"] == kind
    world.product(type=kind)
    response = world.http.post(
        "/api/loans/initiate",
        json={"clientNationalId": people[1]["nationalId"], "type": kind, "amount": 5000, "term": 3},
        headers=officer.headers,
    )
    assert response.status_code == 400 and "productId" in response.json()["message"]


def test_later_statuses_come_from_the_ledger(world: Any, officer: Any) -> None:
    loan = world.approved_loan(officer)
    world.ok(
        world.http.post(f"/api/loans/{loan['_id']}/disburse", headers=world.disburser.headers), 202
    )
    loan_id, client_id = uuid.UUID(loan["_id"]), uuid.UUID(loan["clientId"]["_id"])
    now = datetime.now(UTC)
    world.deliver_ledger(
        LoanStatusChanged(
            occurred_at=now,
            loan_id=loan_id,
            client_id=client_id,
            status="in_arrears",
            days_past_due=5,
            outstanding_cents=1_500_000,
        )
    )
    assert world.loan(loan["_id"])["status"] == "in_arrears"
    world.deliver_ledger(
        LoanRepaid(
            occurred_at=now + timedelta(days=30),
            loan_id=loan_id,
            client_id=client_id,
            total_paid_cents=2_400_000,
        )
    )
    detail = world.loan(loan["_id"])
    assert detail["status"] == "repaid" and detail["total_paid_cents"] == 2_400_000
