"""The approve page (doc §3 "Loans", `/loans/approve`): the initiated loans with ``amount`` (the
page calls ``amount.toLocaleString()``), then approve or reject; maker-checker by person."""

from __future__ import annotations

from typing import Any

import pytest

pytestmark = pytest.mark.e2e


def test_initiated_loans_carry_what_the_page_reads(loan_book: Any) -> None:
    loan = loan_book.initiated_loan()
    listed = loan_book.approver.ok("GET", "/api/loans?populate=initiatedBy,client")
    [row] = [x for x in listed if x["_id"] == loan["_id"]]
    assert isinstance(row["amount"], int | float) and row["amount"] == 20000
    assert row["client"]["name"] and row["client"]["nationalId"]
    assert row["type"] and row["term"] == 6 and row["createdAt"] and row["purpose"]
    assert row["status"] == "initiated" and row["initiatedBy"]["_id"]


def test_an_approver_approves_and_rejects_but_never_a_loan_they_initiated(
    loan_book: Any,
) -> None:
    approvable = loan_book.approvable_loan()
    approved = loan_book.approver.ok("PUT", f"/api/loans/{approvable['_id']}/approve", json={})
    assert approved["loan"]["status"] == "approved" and approved["loan"]["approvedAt"]
    other = loan_book.initiated_loan()
    for _ in range(2):  # a double click: rejected once
        rejected = loan_book.approver.ok("PUT", f"/api/loans/{other['_id']}/reject", json={})
        assert rejected["loan"]["status"] == "rejected"
    own = loan_book.initiated_loan(by=loan_book.approver)
    refused = loan_book.approver.call("PUT", f"/api/loans/{own['_id']}/approve", json={})
    assert refused.status_code == 403 and "maker-checker" in refused.json()["message"]


def test_the_super_admin_and_loan_officers_may_not_approve(loan_book: Any) -> None:
    loan = loan_book.approvable_loan()
    for page in (loan_book.admin, loan_book.officer):
        assert page.call("PUT", f"/api/loans/{loan['_id']}/approve", json={}).status_code == 403
