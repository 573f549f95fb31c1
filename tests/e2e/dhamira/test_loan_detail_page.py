"""The loan detail page (doc §3 "Loans", `/loans/[id]`; §6 item 7): the loan, guarantors,
assessment, schedule, repayments, totals in KES, progress, next due and the actions this caller
may press, each of them a ``PUT /api/loans/:id/<key>`` that works."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

pytestmark = pytest.mark.e2e

KEYS = {"approve", "reject", "disburse", "cancel", "mark-application-fee-paid", "credit-assessment"}


def test_an_initiated_loan_reads_as_the_page_expects(loan_book: Any) -> None:
    loan = loan_book.initiated_loan()
    detail = loan_book.approver.ok("GET", f"/api/loans/{loan['_id']}")
    for name in ("guarantors", "schedules", "repayments", "actions"):
        assert isinstance(detail[name], list), name
    inner = detail["loan"]
    assert inner["client"]["name"] and inner["clientName"] == inner["client"]["name"]
    assert inner["amountKES"] == 20000 and inner["type"] == "individual"
    assert inner["term"] == 6 and inner["purpose"] == "Stock for the shop"
    assert inner["applicationFeePaid"] is False and inner["initiatedBy"]["_id"]
    assert detail["totals"] == {
        **detail["totals"],
        "totalDue": 0,
        "totalPaid": 0,
        "outstanding": 0,
    }
    assert detail["progress"] == 0 and detail["nextDue"] is None
    assert len(detail["guarantors"]) == 3 and detail["creditAssessment"] is None
    assert {a["key"] for a in detail["actions"]} <= KEYS
    assert all(a["label"] for a in detail["actions"])
    # The recovery calls: guarantors by loan, and an assessment not yet made is "not found".
    assert len(loan_book.approver.ok("GET", f"/api/guarantors?loanId={loan['_id']}")) == 3
    missing = loan_book.approver.call("GET", f"/api/credit-assessments/{loan['_id']}")
    assert missing.status_code == 404 and "not found" in missing.json()["message"]


def test_every_action_offered_is_one_the_caller_can_press(loan_book: Any) -> None:
    loan = loan_book.initiated_loan()
    path = f"/api/loans/{loan['_id']}"
    assert [a["key"] for a in loan_book.officer.ok("GET", path)["actions"]] == ["credit-assessment"]
    keys = [a["key"] for a in loan_book.approver.ok("GET", path)["actions"]]
    assert keys == ["credit-assessment", "reject", "mark-application-fee-paid", "cancel"]
    loan_book.approver.ok("PUT", f"{path}/mark-application-fee-paid", json={})
    loan_book.approver.ok("PUT", f"{path}/cancel", json={})
    after = loan_book.approver.ok("GET", path)
    assert after["status"] == "cancelled" and after["actions"] == []
    assert after["loan"]["applicationFeePaid"] is True


def test_a_disbursed_loan_shows_its_schedule_and_next_due_in_kes(loan_book: Any) -> None:
    detail = loan_book.disbursed_loan()
    assert detail["status"] == "disbursed"
    schedules = detail["schedules"]
    assert len(schedules) == 6
    assert {"_id", "dueDate", "amount", "principal", "interest", "status"} <= set(schedules[0])
    # KES as exact numbers: whole shillings an integer, else a decimal string (never a float)
    assert sum(Decimal(str(s["principal"])) for s in schedules) == 20000
    assert {s["status"] for s in schedules} == {"pending"}
    assert Decimal(str(detail["totals"]["totalDue"])) == sum(
        Decimal(str(s["amount"])) for s in schedules
    )
    assert detail["totals"]["outstanding"] == detail["totals"]["totalDue"]
    assert detail["nextDue"] == {
        "amount": schedules[0]["amount"],
        "amount_cents": detail["nextDue"]["amount_cents"],
        "dueDate": schedules[0]["dueDate"],
    }
    assert detail["progress"] == 0 and detail["repayments"] == []
