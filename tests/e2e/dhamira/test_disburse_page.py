"""The disbursements page (doc §3 "Loans", `/loans/disburse`): ``GET /api/loans?status=approved``
(the page does not filter again), then ``PUT /api/loans/:id/disburse`` answering ``transactionId``
(POST too, per the seed); never by the person who approved it."""

from __future__ import annotations

from typing import Any

import pytest

pytestmark = pytest.mark.e2e


def test_only_approved_loans_are_listed_with_what_the_page_reads(loan_book: Any) -> None:
    loan = loan_book.approved_loan()
    listed = loan_book.initiator.ok("GET", "/api/loans?status=approved")
    assert {x["status"] for x in listed} == {"approved"}
    [row] = [x for x in listed if x["_id"] == loan["_id"]]
    assert row["clientId"]["name"] and row["clientId"]["phone"]
    assert row["principal_cents"] == 2_000_000 and row["product"] == "business"
    assert row["term"] == 6 and row["approvedAt"] and row["initiatedBy"]["_id"]


def test_disbursing_answers_one_transaction_however_often_and_not_to_the_approver(
    loan_book: Any,
) -> None:
    loan = loan_book.approved_loan()
    path = f"/api/loans/{loan['_id']}/disburse"
    refused = loan_book.approver.call("PUT", path, json={})
    assert refused.status_code == 403 and "maker-checker" in refused.json()["message"]
    assert loan_book.admin.call("PUT", path, json={}).status_code == 403
    first = loan_book.initiator.ok("PUT", path, 202, json={})
    again = loan_book.initiator.ok("POST", path, 202, json={})
    assert first["transactionId"] and again["transactionId"] == first["transactionId"]
