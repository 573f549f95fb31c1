"""The guarantors page (doc §3, `/guarantors`; §6 item 16): ``GET /api/guarantors`` without a
loan, ``clientId`` never null, ``loanId{_id,amount}``, ``status`` pending|accepted|rejected, and
accept or reject; ``POST`` with ``clientId`` or ``guarantorClientNationalId``."""

from __future__ import annotations

from typing import Any

import pytest

pytestmark = pytest.mark.e2e


def test_every_guarantor_lists_with_what_the_page_reads(loan_book: Any) -> None:
    loan = loan_book.initiated_loan()
    listed = loan_book.approver.ok("GET", "/api/guarantors")
    mine = [g for g in listed if g["loanId"]["_id"] == loan["_id"]]
    assert len(mine) == 3
    for g in listed:
        assert g["_id"] and g["clientId"]["name"] and g["relationship"]
        assert g["status"] in {"pending", "accepted", "rejected"}
        assert isinstance(g["loanId"]["amount"], int | float)


def test_accept_reject_and_adding_by_client_or_national_id(loan_book: Any) -> None:
    loan = loan_book.initiated_loan()
    first, second, *_ = loan_book.officer.ok("GET", f"/api/guarantors?loanId={loan['_id']}")
    accepted = loan_book.officer.ok("PUT", f"/api/guarantors/{first['_id']}/accept", json={})
    rejected = loan_book.officer.ok("PUT", f"/api/guarantors/{second['_id']}/reject", json={})
    assert (accepted["status"], rejected["status"]) == ("accepted", "rejected")
    by_id, by_national_id = loan_book.member(), loan_book.member()
    added = loan_book.officer.ok(
        "POST",
        "/api/guarantors",
        201,
        json={"loanId": loan["_id"], "clientId": by_id["_id"], "relationship": "Cousin"},
    )
    assert added["clientId"]["_id"] == by_id["_id"] and added["status"] == "pending"
    added = loan_book.initiator.ok(
        "POST",
        "/api/guarantors",
        201,
        json={
            "loanId": loan["_id"],
            "guarantorClientNationalId": by_national_id["nationalId"],
            "relationship": "Friend",
        },
    )
    assert added["clientId"]["name"] == by_national_id["name"]
