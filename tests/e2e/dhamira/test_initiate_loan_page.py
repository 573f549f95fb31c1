"""The initiate page (doc §3 "Loans", `/loans/initiate`; §6 item 9): the client picker, then
``POST /api/loans/initiate`` with ``product`` + ``amountKES``, the guarantors it names, or a
``groupId`` for a group loan; the answer's ``application_fee_cents`` and ``guarantorErrors``."""

from __future__ import annotations

from typing import Any

import pytest

pytestmark = pytest.mark.e2e


def test_the_client_picker_lists_id_name_and_national_id(loan_book: Any) -> None:
    clients = loan_book.officer.ok("GET", "/api/clients?limit=1000")
    assert {"_id", "name", "nationalId"} <= set(clients[0])


def test_an_individual_loan_records_its_named_guarantors(loan_book: Any) -> None:
    borrower, *backers = (loan_book.member() for _ in range(4))
    answer = loan_book.officer.ok(
        "POST",
        "/api/loans/initiate",
        201,
        json={
            "clientNationalId": borrower["nationalId"],
            "productId": loan_book.product["_id"],
            "product": "business",
            "amountKES": 15000,
            "term": 4,
            "interestRatePercent": 10,
            "purpose": "Stock",
            "guarantors": [
                {
                    "name": b["name"],
                    "clientNationalId": b["nationalId"],
                    "phone": b["phone"],
                    "isMember": True,
                    "relationship": "Neighbour",
                    "clientId": None,
                }
                for b in backers
            ]
            + [
                {
                    "name": "Stranger",
                    "clientNationalId": "11111111",
                    "phone": "0733000111",
                    "isMember": False,
                    "relationship": "Landlord",
                },
                {"name": "No ID", "isMember": False},
            ],
        },
    )
    assert answer["application_fee_cents"] == 22_500  # 1.5% of KES 15,000
    assert [e["guarantor"] for e in answer["guarantorErrors"]] == ["No ID"]
    guarantors = loan_book.officer.ok("GET", f"/api/guarantors?loanId={answer['loan']['_id']}")
    members = [g["clientId"]["_id"] for g in guarantors if g["isMember"]]
    assert sorted(members) == sorted(b["_id"] for b in backers)
    [stranger] = [g for g in guarantors if not g["isMember"]]
    assert stranger["clientId"]["name"] == "Stranger"  # the page reads clientId.name
    assert {g["status"] for g in guarantors} == {"pending"}


def test_the_seeds_amount_and_type_still_initiate(loan_book: Any) -> None:
    borrower = loan_book.member()
    answer = loan_book.initiator.ok(
        "POST",
        "/api/loans/initiate",
        201,
        json={
            "clientNationalId": borrower["nationalId"],
            "productId": loan_book.product["_id"],
            "type": "business",
            "amount": 5000,
            "term": 3,
        },
    )
    assert answer["loan"]["amountKES"] == 5000 and answer["guarantorErrors"] == []


def test_a_group_loan_by_group_id_and_an_inactive_group_is_a_400_the_page_recognises(
    loan_book: Any,
) -> None:
    answer = loan_book.officer.ok(
        "POST",
        "/api/loans/initiate",
        201,
        json={
            "groupId": loan_book.group["_id"],
            "productId": loan_book.product["_id"],
            "product": "business",
            "amountKES": 30000,
            "term": 6,
        },
    )
    loan = answer["loan"]
    assert loan["loanType"] == "group" and loan["groupId"]["_id"] == loan_book.group["_id"]
    assert loan["clientId"]["_id"] == loan_book.members[0]["_id"]  # the chairperson signs
    pending = loan_book.officer.ok(
        "POST", "/api/groups", 201, json={"name": "Not yet approved", "meetingDay": "Monday"}
    )
    refused = loan_book.officer.call(
        "POST",
        "/api/loans/initiate",
        json={"groupId": pending["_id"], "product": "business", "amountKES": 5000, "term": 3},
    )
    assert refused.status_code == 400 and "not active" in refused.json()["message"]


def test_the_super_admin_may_not_initiate(loan_book: Any) -> None:
    refused = loan_book.admin.call(
        "POST",
        "/api/loans/initiate",
        json={"clientNationalId": loan_book.members[0]["nationalId"], "amountKES": 5000, "term": 3},
    )
    assert refused.status_code == 403
