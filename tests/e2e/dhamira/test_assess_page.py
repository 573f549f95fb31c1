"""The assess page (doc §3 "Loans", `/loans/[id]/assess`): it reads ``.loan`` of the detail and
builds ``/api/clients/<loan.clientId>`` from it (an id, never an object), loads staff,
assessments, guarantors and the client's loans, then posts the five Cs with ``officerId``."""

from __future__ import annotations

from typing import Any

import pytest

pytestmark = pytest.mark.e2e

SCORES = dict.fromkeys(("character", "capacity", "capital", "collateral", "conditions"), 4)


def test_the_page_loads_its_context_from_the_ids_the_loan_gives(loan_book: Any) -> None:
    loan = loan_book.initiated_loan()
    detail = loan_book.approver.ok("GET", f"/api/loans/{loan['_id']}")["loan"]
    assert isinstance(detail["clientId"], str)
    assert detail["status"] == "initiated" and detail["cycle"] == 1 and detail["product"]
    assert detail["client"]["name"]  # no name recovery needed
    client = loan_book.approver.ok("GET", f"/api/clients/{detail['clientId']}")
    assert client["name"] == detail["client"]["name"] and "savingsBalance" in client
    staff = loan_book.approver.ok("GET", "/api/loan-officers")
    assert isinstance(staff, list)
    assert loan_book.approver.ok("GET", f"/api/credit-assessments?loanId={loan['_id']}") == []
    assert len(loan_book.approver.ok("GET", f"/api/guarantors?loanId={loan['_id']}")) == 3
    loans = loan_book.approver.ok("GET", f"/api/loans?clientId={detail['clientId']}")
    assert [x["_id"] for x in loans] == [loan["_id"]]


def test_an_admin_submits_once_and_a_second_submission_is_a_409(loan_book: Any) -> None:
    loan = loan_book.initiated_loan()
    body = {
        "loanId": loan["_id"],
        "officerId": loan_book.officer.user["_id"],
        **SCORES,
        "officerNotes": "Good records",
    }
    admin = loan_book.approver  # the page lets admins in (docs/roles.md)
    made = admin.ok("POST", "/api/credit-assessments", 201, json=body)
    assert made["_id"] and made["totalScore"] == 20
    again = admin.call("POST", "/api/credit-assessments", json=body)
    assert again.status_code == 409 and "already" in again.json()["message"]
    [row] = loan_book.approver.ok("GET", f"/api/credit-assessments?loanId={loan['_id']}")
    assert row["totalScore"] == 20 and row["officerNotes"] == "Good records" and row["createdAt"]
    one = loan_book.approver.ok("GET", f"/api/credit-assessments/{loan['_id']}")
    assert one["_id"] == made["_id"]
