"""The loan officer dashboard (doc §3, `/loan-officer/dashboard`; §6 item 14, performance):
``GET /api/loan-officers/performance`` with the figures at the top level."""

from __future__ import annotations

from typing import Any

import pytest

pytestmark = pytest.mark.e2e


def test_the_officer_sees_their_own_figures(loan_book: Any) -> None:
    loan_book.initiated_loan()
    body = loan_book.officer.ok("GET", "/api/loan-officers/performance")
    assert body["loansInitiated"]["count"] >= 1
    assert body["loansInitiated"]["amountCents"] >= 2_000_000
    assert set(body["loansDisbursed"]) == {"count", "amountCents"}
    assert {"count", "amountCents", "clients"} <= set(body["loansInArrears"])
    assert {"count", "totalCents"} <= set(body["loansRecovered"])
    [group] = [g for g in body["myGroups"] if g["_id"] == loan_book.group["_id"]]
    assert group["name"] == loan_book.group["name"] and group["memberCount"] >= 3


def test_it_is_the_loan_officers_page_only(loan_book: Any) -> None:
    assert loan_book.approver.call("GET", "/api/loan-officers/performance").status_code == 403
