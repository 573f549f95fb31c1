"""The analytics page (doc §3 "Approvals, admin, analytics", §6.19): seven calls made together
(failures tolerated), each read for the fields below; administrators only (docs/roles.md)."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import pytest

pytestmark = pytest.mark.e2e

PAGES = (
    "/api/analytics/overview",
    "/api/analytics/portfolio",
    "/api/analytics/demographics?range=365",
    "/api/analytics/repayments?range=30",
    "/api/analytics/loan-performance?vintageMonths=12",
    "/api/analytics/officers?range=30",
    "/api/analytics/risk?range=365",
)


@pytest.fixture(scope="module")
def analyst(money_desk: Any, eventually: Any) -> Any:
    """An approver, once the disbursed loan and its officer have reached the analytics."""
    page = money_desk.approver
    eventually(
        lambda: page.ok("GET", "/api/analytics/portfolio")["byStatus"]["active"]["count"] >= 1,
        "the disbursed loan to reach the analytics",
    )
    return page


NAIROBI = ZoneInfo("Africa/Nairobi")


def test_portfolio_by_status(analyst: Any) -> None:
    by_status = analyst.ok("GET", "/api/analytics/portfolio")["byStatus"]
    for name in ("active", "pending", "defaulted"):
        assert isinstance(by_status[name]["count"], int)
        assert isinstance(by_status[name]["amountCents"], int)
    assert by_status["active"]["amountCents"] > 0


def test_demographics_are_honestly_empty(analyst: Any) -> None:
    body = analyst.ok("GET", "/api/analytics/demographics", params={"range": 365})
    assert body["ageBuckets"] == {} and body["gender"] == {}
    assert "no birth date or gender" in body["note"]


def test_repayments_by_method(money_desk: Any, analyst: Any, eventually: Any) -> None:
    money_desk.approver.ok(
        "POST",
        "/api/repayments",
        201,
        json={
            "loanId": money_desk.loan["_id"],
            "amount": 250,
            "paymentMethod": "bank",
            "transactionId": f"BANK-{dt.datetime.now(dt.UTC).timestamp():.0f}",
        },
    )
    by_method = analyst.ok("GET", "/api/analytics/repayments", params={"range": 30})["byMethod"]
    assert by_method["bank"] >= 25_000
    assert all(isinstance(v, int) for v in by_method.values())


def test_loan_performance_by_vintage(analyst: Any) -> None:
    vintage = analyst.ok("GET", "/api/analytics/loan-performance", params={"vintageMonths": 12})[
        "vintage"
    ]
    assert len(vintage) == 12
    # The ledger's months are Nairobi's (UTC+3): after 21:00 UTC on the last day it is next month.
    this_month = vintage[-1]
    assert this_month["month"] == dt.datetime.now(NAIROBI).strftime("%Y-%m")
    # The loan book's loan is in the window (in the last month, or the one before if the test
    # runs just after midnight in Nairobi).
    recent = vintage[-2:]
    assert sum(v["disbursedCount"] for v in recent) >= 1
    assert sum(v["disbursedCents"] for v in recent) >= 2_000_000
    assert all(isinstance(v["nplPercent"], int | float) for v in vintage)


def test_officers(money_desk: Any, analyst: Any, eventually: Any) -> None:
    officer_id = money_desk.officer.user["_id"]

    def theirs() -> Any:
        rows = analyst.ok("GET", "/api/analytics/officers", params={"range": 30})["officers"]
        return next((r for r in rows if r["id"] == officer_id and r["loansInitiated"]), None)

    row = eventually(theirs, "the officer's loan to reach the analytics")
    assert row["name"] == money_desk.officer.user["username"]
    assert row["disbursedCents"] >= 2_000_000


def test_risk(analyst: Any) -> None:
    body = analyst.ok("GET", "/api/analytics/risk", params={"range": 365})
    assert body["delinquencyBuckets"]["current"] >= 2_000_000 - 100_000  # a little repaid
    assert isinstance(body["expectedLossCents"], int) and body["expectedLossCents"] > 0
    assert set(body["scoreBuckets"]) >= {"5-9", "10-14", "15-19", "20-25"}
    assert isinstance(body["topRiskDrivers"], list)


@pytest.mark.parametrize("role", ["initiator_admin", "approver_admin"])
def test_every_call_answers_the_admins(new_staff: Any, role: str) -> None:
    page = new_staff(role)
    for path in PAGES:
        page.ok("GET", path)


def test_every_call_answers_the_super_admin(super_admin: Any) -> None:
    for path in PAGES:
        super_admin.ok("GET", path)


def test_every_call_answers_an_admin(new_staff: Any) -> None:
    admin = new_staff("admin")
    for path in PAGES:
        admin.ok("GET", path)


def test_loan_officers_are_refused_not_logged_out(new_staff: Any) -> None:
    officer = new_staff("loan_officer")
    for path in PAGES:
        assert officer.call("GET", path).status_code == 403


def test_accountants_are_refused(new_staff: Any) -> None:
    accountant = new_staff("accountant")
    for path in PAGES:
        assert accountant.call("GET", path).status_code == 403


def test_a_bad_range_is_400(analyst: Any) -> None:
    assert analyst.call("GET", "/api/analytics/repayments?range=abc").status_code == 400
