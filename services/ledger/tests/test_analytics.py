"""The staff analytics (``/api/analytics/*``): each figure against a small, known portfolio, the
events it learns from origination and identity applied once however often they arrive, and the
client modal's savings dialog."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient

from hazina_contracts.events.base import ContractEvent
from hazina_contracts.events.identity import UserCreated
from hazina_contracts.events.origination import (
    CreditAssessed,
    LoanApproved,
    LoanCancelled,
    LoanInitiated,
    LoanRejected,
    LoanTerms,
)
from hazina_ledger.adapters.analytics import record_for_analytics
from hazina_ledger.domain.analytics import change_percent, expected_loss_cents, percent, points

OFFICER = uuid.UUID("0000000a-0000-4000-8000-000000000001")
TERMS = LoanTerms(
    product_id=uuid.UUID("00000000-0000-4000-8000-000000000001"),
    product_name="business",
    interest_method="flat",
    interest_rate_percent="10",
    interest_rate_period="month",
    repayment_frequency="monthly",
    term=6,
)


def learn(container: Any, h: Any, *events: ContractEvent) -> None:
    """Deliver events as the ``ledger-analytics`` / ``ledger-staff`` consumers do."""
    for event in events:
        with container.pool.connection() as conn, conn.transaction():
            record_for_analytics(h.envelope(event), conn)


def initiated(loan_id: uuid.UUID, principal_cents: int, on: dt.date) -> LoanInitiated:
    return LoanInitiated(
        occurred_at=dt.datetime(on.year, on.month, on.day, 8, tzinfo=dt.UTC),
        actor_id=OFFICER,
        loan_id=loan_id,
        account_number=f"L{loan_id.hex[:6].upper()}",
        client_id=uuid.uuid4(),
        group_id=None,
        loan_officer_id=OFFICER,
        principal_cents=principal_cents,
        terms=TERMS,
    )


def assessed(loan_id: uuid.UUID, score: int) -> CreditAssessed:
    return CreditAssessed(
        occurred_at=dt.datetime(2025, 1, 1, tzinfo=dt.UTC),
        actor_id=OFFICER,
        assessment_id=uuid.uuid5(loan_id, "assessment"),
        loan_id=loan_id,
        total_score=score,
        passed=score >= 15,
    )


OFFICER_CREATED = UserCreated(
    user_id=OFFICER,
    occurred_at=dt.datetime(2024, 12, 1, tzinfo=dt.UTC),
    username="achieng",
    name="Achieng Otieno",
    role="loan_officer",
)


@pytest.fixture
def portfolio(container: Any, h: Any, clock: Any) -> dict[str, uuid.UUID]:
    """One loan of 20,000 KES disbursed on 1 January 2025 (flat 10% a month over 6 months, first
    instalment due 1 February), and one application of 5,000 KES still pending."""
    loan_id, _ = h.open_loan(container, officer_id=OFFICER)
    pending = uuid.uuid4()
    events = (
        OFFICER_CREATED,
        initiated(loan_id, 2_000_000, dt.date(2024, 12, 28)),
        assessed(loan_id, 18),
        initiated(pending, 500_000, dt.date(2025, 1, 10)),
    )
    learn(container, h, *events)
    learn(container, h, *events)  # redelivered: nothing changes
    clock.set_date(dt.date(2025, 1, 20))
    return {"loan": loan_id, "pending": pending}


def get(client: TestClient, staff: Any, path: str) -> Any:
    response = client.get(path, headers=staff.headers("approver_admin"))
    assert response.status_code == 200, response.text
    return response.json()


def test_the_dashboard_overview(portfolio: Any, client: TestClient, staff: Any) -> None:
    body = get(client, staff, "/api/analytics/overview")
    assert body == {
        "totalLoans": 2,
        "totalDisbursedCents": 2_000_000,
        "totalClients": 1,
        "defaultRatePercent": 0.0,
        "trends": {
            "totalLoansChangePercent": 0.0,  # nothing in the 30 days before: no growth to state
            "totalDisbursedChangePercent": 0.0,
            "totalClientsChangePercent": -100.0,  # onboarded in the 30 days before, none since
            "defaultRateChangePercent": 0.0,
        },
        "periodDays": 30,
    }


def test_portfolio_by_status_and_a_rejection(
    portfolio: Any, client: TestClient, staff: Any, container: Any, h: Any
) -> None:
    by_status = get(client, staff, "/api/analytics/portfolio")["byStatus"]
    assert by_status == {
        "active": {"count": 1, "amountCents": 2_000_000},
        "pending": {"count": 1, "amountCents": 500_000},
        "defaulted": {"count": 0, "amountCents": 0},
    }
    rejected = LoanRejected(
        occurred_at=dt.datetime(2025, 1, 15, tzinfo=dt.UTC),
        actor_id=uuid.uuid4(),
        loan_id=portfolio["pending"],
        reason="too much",
    )
    learn(container, h, rejected, rejected)
    pending = get(client, staff, "/api/analytics/portfolio")["byStatus"]["pending"]
    assert pending == {"count": 0, "amountCents": 0}


def test_a_cancelled_application_leaves_pending_in_any_order(
    portfolio: Any, client: TestClient, staff: Any, container: Any, h: Any
) -> None:
    """A cancellation is final: a repeated or late approval does not bring the loan back to
    pending, and one heard before its application still counts when the application comes."""
    at = dt.datetime(2025, 1, 15, tzinfo=dt.UTC)
    pending = initiated(portfolio["pending"], 500_000, dt.date(2025, 1, 10))
    approved = LoanApproved(**{**pending.model_dump(), "occurred_at": at})
    withdrawn = LoanCancelled(occurred_at=at, actor_id=OFFICER, loan_id=pending.loan_id)
    learn(container, h, approved, withdrawn, withdrawn, approved, pending)

    early = uuid.uuid4()
    learn(
        container,
        h,
        LoanCancelled(occurred_at=at, actor_id=OFFICER, loan_id=early),
        initiated(early, 700_000, dt.date(2025, 1, 12)),
    )
    by_status = get(client, staff, "/api/analytics/portfolio")["byStatus"]
    assert by_status["pending"] == {"count": 0, "amountCents": 0}
    assert by_status["active"] == {"count": 1, "amountCents": 2_000_000}


def test_a_loan_long_late_is_a_default(
    portfolio: Any, client: TestClient, staff: Any, clock: Any
) -> None:
    clock.set_date(dt.date(2025, 6, 1))  # 120 days past the first instalment
    overview = get(client, staff, "/api/analytics/overview")
    assert overview["defaultRatePercent"] == 100.0
    assert overview["trends"]["defaultRateChangePercent"] == 0.0  # 90 days late 30 days ago
    assessed_now = client.post(
        "/api/ledger/arrears/assess", json={}, headers=staff.headers("approver_admin")
    )
    assert assessed_now.status_code == 200, assessed_now.text
    assert get(client, staff, "/api/analytics/portfolio")["byStatus"]["defaulted"] == {
        "count": 1,
        "amountCents": 2_000_000,
    }
    vintage = get(client, staff, "/api/analytics/loan-performance?vintageMonths=6")["vintage"]
    assert [v["month"] for v in vintage] == [f"2025-0{m}" for m in range(1, 7)]
    assert vintage[0] == {
        "month": "2025-01",
        "disbursedCount": 1,
        "disbursedCents": 2_000_000,
        "nplPercent": 100.0,
    }
    assert all(v["disbursedCount"] == 0 for v in vintage[1:])
    risk = get(client, staff, "/api/analytics/risk?range=365")
    assert risk["delinquencyBuckets"]["91-180"] == 2_000_000
    assert risk["expectedLossCents"] == 2_000_000
    assert risk["scoreBuckets"] == {"5-9": 0, "10-14": 0, "15-19": 1, "20-25": 0}
    assert risk["topRiskDrivers"] == [
        {"driver": "officer: Achieng Otieno", "impact": 100.0, "atRiskCents": 2_000_000},
        {"driver": "product: business", "impact": 100.0, "atRiskCents": 2_000_000},
    ]


def test_officers_and_repayments_by_method(
    portfolio: Any, client: TestClient, staff: Any, container: Any, h: Any
) -> None:
    h.deliver(
        container,
        h.payment_received("MPESA1", 300_000, loan_id=portfolio["loan"], on=dt.date(2025, 1, 15)),
    )
    paid = client.post(
        "/api/repayments",
        json={
            "loanId": str(portfolio["loan"]),
            "amount": 1000,
            "paymentMethod": "cash",
            "transactionId": "MAN-1",
        },
        headers=staff.headers("accountant"),
    )
    assert paid.status_code == 201, paid.text
    assert get(client, staff, "/api/analytics/repayments?range=30")["byMethod"] == {
        "cash": 100_000,
        "mpesa": 300_000,
    }
    officers = get(client, staff, "/api/analytics/officers?range=30")["officers"]
    assert [(o["id"], o["name"], o["loansInitiated"], o["disbursedCents"]) for o in officers] == [
        (str(OFFICER), "Achieng Otieno", 2, 2_000_000)
    ]


def test_demographics_say_there_is_nothing_to_count(
    portfolio: Any, client: TestClient, staff: Any
) -> None:
    body = get(client, staff, "/api/analytics/demographics?range=365")
    assert body["ageBuckets"] == {} and body["gender"] == {} and body["note"]


@pytest.mark.parametrize("path", ["/api/analytics/risk?range=0", "/api/analytics/officers?range=x"])
def test_a_bad_range_is_400(client: TestClient, staff: Any, path: str) -> None:
    response = client.get(path, headers=staff.headers("super_admin"))
    assert response.status_code == 400 and response.json()["message"]


def test_the_arithmetic() -> None:
    assert percent(1, 3) == 33.33 and percent(5, 0) == 0.0
    assert change_percent(15, 10) == 50.0 and change_percent(3, 0) == 0.0
    assert points(2.5, 4.0) == -1.5
    assert expected_loss_cents({"current": 1_000_000, "1-30": 200_000, "over_360": 1}) == 20_001


class TestClientModalSavings:
    def test_a_deposit_in_kes_and_the_same_transaction_again(
        self, client: TestClient, container: Any, staff: Any, h: Any
    ) -> None:
        client_id = uuid.uuid4()
        h.deliver(container, h.client_onboarded(client_id))
        body = {"amountKES": "40.50", "transactionId": "SAV-1"}
        url = f"/api/clients/{client_id}/savings"
        first = client.post(url, json=body, headers=staff.headers("initiator_admin"))
        assert first.status_code == 201, first.text
        again = client.post(url, json=body, headers=staff.headers("accountant"))
        assert again.status_code == 200 and again.json()["balance_cents"] == 4_050
        rows = client.get(
            f"/api/savings?clientId={client_id}", headers=staff.headers("admin")
        ).json()
        assert [(r["amountKES"], r["clientName"], r["balanceAfter"]) for r in rows] == [
            (40.5, "Wanjiku Kamau", 4_050)
        ]

    def test_a_deduction_below_zero_is_400(
        self, client: TestClient, container: Any, staff: Any, h: Any
    ) -> None:
        client_id = uuid.uuid4()
        h.deliver(container, h.client_onboarded(client_id))
        url = f"/api/clients/{client_id}/savings"
        none_yet = client.post(url, json={"amountKES": -1}, headers=staff.headers("admin"))
        assert none_yet.status_code == 400 and "no savings" in none_yet.json()["message"]
        client.post(url, json={"amountKES": 100}, headers=staff.headers("admin"))
        too_much = client.post(
            "/api/savings",
            json={"clientId": str(client_id), "amountCents": -10_001},
            headers=staff.headers("accountant"),
        )
        assert too_much.status_code == 400 and "available" in too_much.json()["message"]
        asked = client.post(url, json={"amountKES": -100}, headers=staff.headers("admin"))
        assert asked.status_code == 201 and asked.json()["withdrawal"]["status"] == "pending"
