"""The track-my-loans page (doc §3, `/track-my-loans`): a loan officer's ``GET
/api/loans/my-loans`` as an object: their loans, ``myGroups[{id,name}]``, statistics in cents."""

from __future__ import annotations

from typing import Any

import pytest

pytestmark = pytest.mark.e2e


def test_an_officer_sees_only_their_book(loan_book: Any, new_staff: Any) -> None:
    loan = loan_book.initiated_loan()
    body = loan_book.officer.ok("GET", "/api/loans/my-loans?page=1&limit=20")
    assert body["total"] >= 1 and body["totalPages"] >= 1
    assert body["data"][0]["_id"] == loan["_id"]  # newest first
    assert {"totalLoans", "totalPrincipal", "totalOutstanding"} <= set(body["statistics"])
    assert (loan_book.group["_id"], loan_book.group["name"]) in [
        (g["id"], g["name"]) for g in body["myGroups"]
    ]
    row = body["data"][0]
    assert row["clientId"]["phone"] and row["clientId"]["name"] and row["product"]
    filtered = loan_book.officer.ok(
        "GET", f"/api/loans/my-loans?page=1&limit=20&groupId={loan_book.group['_id']}"
    )
    assert {x["groupId"]["_id"] for x in filtered["data"]} == {loan_book.group["_id"]}
    other = new_staff("loan_officer").ok("GET", "/api/loans/my-loans?page=1&limit=20")
    assert other["total"] == 0 and other["data"] == [] and other["myGroups"] == []


def test_admins_have_no_book_of_their_own(loan_book: Any) -> None:
    assert loan_book.approver.call("GET", "/api/loans/my-loans").status_code == 403
