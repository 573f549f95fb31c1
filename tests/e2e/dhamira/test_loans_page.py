"""The loans page (doc §3 "Loans", `/loans`; §6 items 5, 6): ``GET /api/loans`` as a bare array
with no limit, each loan carrying the fields the list, the dashboard's recent loans and the
Repayments page read; the bulk fee button for admins."""

from __future__ import annotations

from typing import Any

import pytest

pytestmark = pytest.mark.e2e

LOAN_FIELDS = {
    "_id", "clientId", "client", "clientName", "groupId", "product", "type", "loanType",
    "status", "principal_cents", "amount", "amountKES", "outstanding_cents", "total_due_cents",
    "total_paid_cents", "term", "cycle", "interestRatePercent", "purpose", "applicationFeePaid",
    "initiatedBy", "approvedAt", "createdAt", "creditAssessment",
}  # fmt: skip


def test_the_list_is_every_loan_with_the_fields_the_pages_read(loan_book: Any) -> None:
    loan = loan_book.initiated_loan()
    listed = loan_book.approver.ok("GET", "/api/loans")
    assert isinstance(listed, list)
    [row] = [x for x in listed if x["_id"] == loan["_id"]]
    assert set(row) >= LOAN_FIELDS
    assert row["clientId"]["_id"] and row["clientId"]["name"] and row["clientId"]["phone"]
    assert row["clientId"]["nationalId"] and row["clientId"]["loanOfficer"]
    assert row["client"]["name"] == row["clientName"] == row["clientId"]["name"]
    assert row["groupId"]["_id"] == loan_book.group["_id"] and row["groupId"]["loanOfficerId"]
    assert row["product"] == "business" and row["type"] == row["loanType"] == "individual"
    assert row["principal_cents"] == 2_000_000 and row["amount"] == row["amountKES"] == 20000
    assert row["initiatedBy"]["_id"] == loan_book.officer.user["_id"]
    assert row["initiatedBy"]["username"] == loan_book.officer.user["username"]
    assert row["status"] == "initiated" and row["term"] == 6 and row["cycle"] == 1
    assert row["applicationFeePaid"] is False and row["creditAssessment"] is None
    assert row["createdAt"].startswith("20")


def test_the_dashboard_takes_five_and_filters_by_status_and_client(loan_book: Any) -> None:
    loan = loan_book.initiated_loan()
    loan_book.initiated_loan()
    assert len(loan_book.admin.ok("GET", "/api/loans?limit=5")) <= 5
    by_client = loan_book.approver.ok("GET", f"/api/loans?clientId={loan['clientId']['_id']}")
    assert [x["_id"] for x in by_client] == [loan["_id"]]
    initiated = loan_book.approver.ok("GET", "/api/loans?status=initiated")
    assert initiated and {x["status"] for x in initiated} == {"initiated"}


def test_admins_mark_fees_paid_in_bulk_and_a_loan_officer_is_refused_with_403(
    loan_book: Any,
) -> None:
    loans = [loan_book.initiated_loan() for _ in range(2)]
    ids = [x["_id"] for x in loans]
    refused = loan_book.officer.call(
        "POST", "/api/loans/mark-application-fee-paid-bulk", json={"loanIds": ids}
    )
    assert refused.status_code == 403
    admin = loan_book.initiator
    for _ in range(2):  # pressed twice: the same answer, marked once
        body = admin.ok("POST", "/api/loans/mark-application-fee-paid-bulk", json={"loanIds": ids})
        assert sorted(body["updated"]) == sorted(ids) and body["failed"] == []
    listed = admin.ok("GET", "/api/loans?status=initiated")
    assert all(x["applicationFeePaid"] for x in listed if x["_id"] in ids)
