"""Each eligibility rule failing alone answers 400 naming that rule, and only that rule."""

from __future__ import annotations

from typing import Any

import pytest


def eligible(
    world: Any, officer: Any, savings: int = 2_000_000
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    group, people = world.ready_group(officer)
    for person in people:
        world.savings(person["_id"], savings)
    return group, people


def refused(response: Any) -> list[str]:
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["message"] == "; ".join(e["message"] for e in body["errors"])
    return [e["rule"] for e in body["errors"]]


def test_a_client_who_is_not_active(world: Any, officer: Any) -> None:
    group, _ = eligible(world, officer)
    newcomer = world.onboard(officer, group["_id"], approve=False)
    world.savings(newcomer["_id"], 2_000_000)
    response = world.initiate(officer, newcomer, world.product())
    assert refused(response) == ["client_active"]
    assert "Client is not active (status: pending)" in response.json()["message"]


def test_a_group_that_is_not_active(world: Any, officer: Any) -> None:
    group = world.group(officer, approve=False)
    people = [world.onboard(officer, group["_id"]) for _ in range(3)]
    world.ok(
        world.http.put(
            f"/api/groups/{group['_id']}/signatories",
            json={
                "signatoryAssignments": [
                    {"role": r, "memberNationalId": p["nationalId"]}
                    for r, p in zip(("chairperson", "secretary", "treasurer"), people, strict=True)
                ]
            },
            headers=officer.headers,
        )
    )
    world.savings(people[0]["_id"], 2_000_000)
    response = world.initiate(officer, people[0], world.product())
    assert refused(response) == ["group_active"]
    assert response.json()["message"].startswith("Group not active:")


def test_a_group_without_signatories(world: Any, officer: Any) -> None:
    group = world.group(officer)
    borrower = world.onboard(officer, group["_id"])
    world.savings(borrower["_id"], 2_000_000)
    assert refused(world.initiate(officer, borrower, world.product())) == ["group_signatories"]
    waived = world.product(requireSignatories=False)
    world.ok(world.initiate(officer, borrower, waived), 201)


def test_savings_below_the_required_share_and_the_exact_boundary(world: Any, officer: Any) -> None:
    _, people = eligible(world, officer)
    product = world.product()
    world.savings(people[0]["_id"], 399_999)
    response = world.initiate(officer, people[0], product, amount=20000)
    assert refused(response) == ["min_savings"]
    assert response.json()["message"] == (
        "Savings of KES 3,999.99 are below the required 20% of the amount (KES 4,000.00)"
    )
    world.savings(people[0]["_id"], 400_000)
    world.ok(world.initiate(officer, people[0], product, amount=20000), 201)


def test_no_previously_repaid_loan(world: Any, officer: Any) -> None:
    _, people = eligible(world, officer)
    response = world.initiate(officer, people[0], world.product(requirePriorRepaidLoan=True))
    assert refused(response) == ["prior_repaid_loan"]


def test_another_open_loan(world: Any, officer: Any) -> None:
    _, people = eligible(world, officer)
    product = world.product()
    world.ok(world.initiate(officer, people[0], product), 201)
    response = world.initiate(officer, people[0], product)
    assert refused(response) == ["max_open_loans"]
    assert "already has 1 open loan; this product allows at most 1" in response.json()["message"]
    roomy = world.product(maxOpenLoans=2)
    world.ok(world.initiate(officer, people[0], roomy), 201)


@pytest.mark.parametrize(
    ("amount", "term", "rule"),
    [
        ("50000.01", 6, "amount_range"),
        (999.99, 6, "amount_range"),
        (20000, 13, "term_range"),
    ],
)
def test_amount_or_term_outside_the_product(
    world: Any, officer: Any, amount: Any, term: int, rule: str
) -> None:
    _, people = eligible(world, officer, savings=5_000_000)
    assert refused(
        world.initiate(officer, people[0], world.product(), amount=amount, term=term)
    ) == [rule]


def test_a_product_closed_to_new_loans(world: Any, officer: Any) -> None:
    _, people = eligible(world, officer)
    product = world.product()
    world.ok(
        world.http.patch(
            f"/api/loan-products/{product['_id']}",
            json={"active": False},
            headers=world.super_admin.headers,
        )
    )
    assert refused(world.initiate(officer, people[0], product)) == ["product_active"]


def test_several_rules_failing_are_all_named(world: Any, officer: Any) -> None:
    group = world.group(officer, approve=False)
    newcomer = world.onboard(officer, group["_id"], approve=False)
    rules = refused(
        world.initiate(officer, newcomer, world.product(requirePriorRepaidLoan=True), term=99)
    )
    assert rules == [
        "client_active",
        "group_active",
        "group_signatories",
        "min_savings",
        "prior_repaid_loan",
        "term_range",
    ]


@pytest.mark.parametrize(
    ("amount", "message"),
    [
        ("12.345", "at most 2 decimal places"),
        (-5, "must not be negative"),
        ("abc", "not a valid amount"),
        (0, "greater than zero"),
        (True, "not a boolean"),
    ],
)
def test_bad_amounts_are_400s(world: Any, officer: Any, amount: Any, message: str) -> None:
    _, people = eligible(world, officer)
    response = world.initiate(officer, people[0], world.product(), amount=amount)
    assert response.status_code == 400 and message in response.json()["message"]


def test_an_unknown_client_is_a_404(world: Any, officer: Any) -> None:
    response = world.http.post(
        "/api/loans/initiate",
        json={"clientNationalId": "99999999", "type": "business", "amount": 100, "term": 1},
        headers=officer.headers,
    )
    assert response.status_code == 404 and "99999999" in response.json()["message"]
