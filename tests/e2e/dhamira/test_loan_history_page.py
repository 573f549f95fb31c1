"""The loan history page (doc §3 "Repayments, savings, history, tracking", `/loan-history`):
``GET /api/loans/history`` as an object: ``data``, ``statistics`` in cents, ``totalPages``,
``total``; admins only."""

from __future__ import annotations

from typing import Any

import pytest

pytestmark = pytest.mark.e2e


def test_the_report_answers_its_object_shape(loan_book: Any) -> None:
    loan_book.initiated_loan()
    body = loan_book.approver.ok("GET", "/api/loans/history?page=1&limit=50")
    assert body["total"] >= 1 and body["totalPages"] >= 1 and len(body["data"]) <= 50
    overall = body["statistics"]["overall"]
    assert set(overall) == {
        "totalLoans",
        "totalPrincipal",
        "totalDue",
        "totalPaid",
        "totalOutstanding",
    }
    assert overall["totalLoans"] == body["total"] and overall["totalPrincipal"] >= 2_000_000
    by_status = body["statistics"]["byStatus"]
    assert {"_id", "count", "totalPrincipal", "totalOutstanding"} <= set(by_status[0])
    assert body["statistics"]["byProduct"][0]["_id"]
    row = body["data"][0]
    assert row["clientId"]["name"] and row["clientId"]["nationalId"] and row["product"]
    assert "username" in row["initiatedBy"] and row["createdAt"]


def test_filters_narrow_the_report(loan_book: Any) -> None:
    loan_book.initiated_loan()
    body = loan_book.approver.ok(
        "GET", "/api/loans/history?page=1&limit=50&status=initiated&product=business"
    )
    assert body["data"] and {x["status"] for x in body["data"]} == {"initiated"}
    assert [s["_id"] for s in body["statistics"]["byStatus"]] == ["initiated"]


def test_a_loan_officer_may_not_read_it(loan_book: Any) -> None:
    assert loan_book.officer.call("GET", "/api/loans/history?page=1&limit=50").status_code == 403
