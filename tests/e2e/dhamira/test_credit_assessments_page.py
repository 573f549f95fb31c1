"""The credit assessments page (doc §3 "Loans", `/credit-assessments`): ``GET
/api/loans?status=initiated``, dropping loans whose ``creditAssessment`` is set; ``clientId`` is
never null (the page reads ``clientId.name``)."""

from __future__ import annotations

from typing import Any

import pytest

pytestmark = pytest.mark.e2e


def test_initiated_loans_show_whether_they_are_assessed(loan_book: Any) -> None:
    waiting = loan_book.initiated_loan()
    assessed = loan_book.approvable_loan()
    listed = loan_book.initiator.ok("GET", "/api/loans?status=initiated")
    assert {x["status"] for x in listed} == {"initiated"}
    rows = {x["_id"]: x for x in listed}
    assert rows[waiting["_id"]]["creditAssessment"] is None
    assert rows[assessed["_id"]]["creditAssessment"]["totalScore"] == 20
    for row in listed:
        assert row["clientId"]["name"], row["_id"]
        assert row["product"] and row["principal_cents"] and row["createdAt"]
    assert rows[waiting["_id"]]["groupId"]["name"] == loan_book.group["name"]
