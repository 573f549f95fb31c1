"""The dashboard's stats row (doc §3 "Shell, login, dashboard", §6.19): ``GET
/api/analytics/overview`` with ``totalLoans, totalDisbursedCents, totalClients,
defaultRatePercent`` and ``trends.{totalLoans,totalDisbursed,totalClients,defaultRate}ChangePercent``;
a missing number crashes the block, so every one is a number, never null."""

from __future__ import annotations

from typing import Any

import pytest

pytestmark = pytest.mark.e2e

FIGURES = ("totalLoans", "totalDisbursedCents", "totalClients", "defaultRatePercent")
TRENDS = (
    "totalLoansChangePercent",
    "totalDisbursedChangePercent",
    "totalClientsChangePercent",
    "defaultRateChangePercent",
)


def overview(page: Any) -> dict[str, Any]:
    body: dict[str, Any] = page.ok("GET", "/api/analytics/overview")
    for name in FIGURES:
        assert isinstance(body[name], int | float), name
    for name in TRENDS:
        assert isinstance(body["trends"][name], int | float), name
    return body


def test_the_stats_row_is_all_numbers_even_before_any_loan(new_staff: Any) -> None:
    overview(new_staff("approver_admin"))


def test_the_stats_row_counts_the_disbursed_loan(money_desk: Any, eventually: Any) -> None:
    seen = eventually(
        lambda: (
            body
            if (body := overview(money_desk.initiator))["totalDisbursedCents"] >= 2_000_000
            and body["totalLoans"] >= 1
            else None
        ),
        "the disbursed loan to reach the dashboard",
    )
    assert seen["totalClients"] >= len(money_desk.members)
    assert 0 <= seen["defaultRatePercent"] <= 100


def test_super_admin_sees_it_and_a_loan_officer_is_refused_not_logged_out(
    super_admin: Any, new_staff: Any
) -> None:
    overview(super_admin)
    officer = new_staff("loan_officer")
    assert officer.call("GET", "/api/analytics/overview").status_code == 403
    anonymous = officer.__class__(officer.client)
    assert anonymous.call("GET", "/api/analytics/overview").status_code == 401
