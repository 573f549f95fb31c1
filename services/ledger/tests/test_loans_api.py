"""A loan's schedule, statement, accounts, trial balance, balances as of a date, write-off, preview."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from fastapi.testclient import TestClient


def pay(
    client: TestClient,
    staff: Any,
    loan_id: uuid.UUID,
    amount: Any,
    receipt: str,
    paid_at: str | None = None,
) -> Any:
    body = {
        "loanId": str(loan_id),
        "amount": amount,
        "paymentMethod": "mpesa",
        "transactionId": receipt,
    }
    if paid_at:
        body["paidAt"] = paid_at
    return client.post("/api/repayments", json=body, headers=staff.headers("initiator_admin"))


def test_schedule_shows_paid_partial_overdue_and_pending(
    client: TestClient, container: Any, staff: Any, h: Any, clock: Any
) -> None:
    loan_id, _ = h.open_loan(container)
    clock.set_date(dt.date(2025, 3, 10))
    pay(
        client, staff, loan_id, 6000, "S1", "2025-02-01T08:00:00Z"
    )  # instalment 1 (5,333.33) and 666.67 of 2
    schedule = client.get(
        f"/api/loans/{loan_id}/schedule", headers=staff.headers("initiator_admin")
    ).json()
    rows = schedule["instalments"]
    assert [r["status"] for r in rows] == [
        "paid",
        "overdue",
        "pending",
        "pending",
        "pending",
        "pending",
    ]
    assert rows[0]["dueDate"] == "2025-02-01"
    assert rows[0]["total_cents"] == 533_333
    assert rows[1]["paid_cents"] == 66_667
    assert rows[1]["paid_interest_cents"] == 66_667 and rows[1]["paid_principal_cents"] == 0
    assert schedule["totals"]["outstanding_cents"] == 3_200_000 - 600_000
    clock.set_date(dt.date(2025, 2, 15))
    rows = client.get(
        f"/api/loans/{loan_id}/schedule", headers=staff.headers("initiator_admin")
    ).json()["instalments"]
    assert rows[1]["status"] == "partial"


def test_statement_runs_the_borrowers_balance_from_the_journal(
    client: TestClient, container: Any, staff: Any, h: Any
) -> None:
    loan_id, client_id = h.open_loan(container)
    pay(client, staff, loan_id, 5000, "ST1")
    pay(client, staff, loan_id, 27500, "ST2")  # 500 over the outstanding 27,000
    statement = client.get(
        f"/api/loans/{loan_id}/statement", headers=staff.headers("initiator_admin")
    ).json()
    assert [e["kind"] for e in statement["entries"]] == ["Disbursement", "Repayment", "Repayment"]
    assert [e["balance_cents"] for e in statement["entries"]] == [3_200_000, 2_700_000, 0]
    assert statement["entries"][2]["suspense_cents"] == 50_000
    assert statement["entries"][2]["amount_cents"] == 2_750_000
    assert statement["status"] == "repaid"
    assert statement["clientId"] == str(client_id)


def test_trial_balance_balances_and_accounts_answer_as_of_a_date(
    client: TestClient, container: Any, staff: Any, h: Any, clock: Any
) -> None:
    loan_id, _ = h.open_loan(container)
    clock.set_date(dt.date(2025, 6, 1))
    pay(client, staff, loan_id, 5000, "TB1", "2025-02-01T08:00:00Z")
    pay(client, staff, loan_id, 6000, "TB2", "2025-03-05T08:00:00Z")
    reader = staff.headers("initiator_admin")
    trial = client.get("/api/ledger/trial-balance", headers=reader).json()
    assert trial["balanced"] is True
    assert trial["total_debit_cents"] == trial["total_credit_cents"]
    income = {a["code"]: a for a in trial["accounts"]}["4000"]
    assert income["balance_cents"] == 200_000 + 233_334
    paybill = client.get("/api/ledger/accounts/1020", headers=reader).json()
    assert paybill["balance_cents"] == 1_100_000
    assert len(paybill["entries"]) == 2
    earlier = client.get("/api/ledger/accounts/1020?asOf=2025-02-28", headers=reader).json()
    assert earlier["balance_cents"] == 500_000
    principal = client.get(
        f"/api/ledger/accounts/1100:{loan_id}?asOf=2025-02-28", headers=reader
    ).json()
    assert principal["balance_cents"] == 2_000_000 - 300_000
    by_position = client.get(
        f"/api/ledger/trial-balance?position={earlier['entries'][0]['position']}", headers=reader
    )
    assert by_position.json()["balanced"] is True
    assert client.get("/api/ledger/accounts/9999", headers=reader).status_code == 404
    assert client.get("/api/ledger/accounts/1100:not-a-loan", headers=reader).status_code == 404
    chart = client.get("/api/ledger/accounts", headers=reader).json()
    assert {a["code"] for a in chart} >= {
        "1000",
        "1010",
        "1020",
        "1040",
        "1100",
        "1110",
        "2000",
        "2010",
        "2100",
        "2200",
        "4000",
        "4100",
        "5000",
    }


def test_write_off_moves_what_is_owed_to_losses_and_later_money_is_a_recovery(
    client: TestClient, container: Any, staff: Any, h: Any
) -> None:
    loan_id, _ = h.open_loan(container)
    pay(client, staff, loan_id, 5000, "WO1")
    url = f"/api/ledger/loans/{loan_id}/write-off"
    assert (
        client.post(
            url, json={"reason": "absconded"}, headers=staff.headers("initiator_admin")
        ).status_code
        == 403
    )
    assert client.post(url, json={}, headers=staff.headers("approver_admin")).status_code == 400
    done = client.post(
        url, json={"reason": "client absconded"}, headers=staff.headers("approver_admin")
    )
    assert done.status_code == 200, done.text
    assert done.json()["written_off_cents"] == 1_700_000
    again = client.post(
        url, json={"reason": "client absconded"}, headers=staff.headers("approver_admin")
    )
    assert again.status_code == 409
    assert "written_off" in again.json()["message"]
    reader = staff.headers("initiator_admin")
    losses = client.get("/api/ledger/accounts/5200", headers=reader).json()
    assert losses["balance_cents"] == 1_700_000
    assert (
        client.get(f"/api/ledger/accounts/1100:{loan_id}", headers=reader).json()["balance_cents"]
        == 0
    )
    assert (
        client.get(f"/api/ledger/accounts/1110:{loan_id}", headers=reader).json()["balance_cents"]
        == 0
    )
    recovered = pay(client, staff, loan_id, 1000, "WO2").json()
    assert recovered["repayment"]["allocation"]["recovery_cents"] == 100_000
    assert (
        client.get("/api/ledger/accounts/4300", headers=reader).json()["balance_cents"] == 100_000
    )
    assert client.get("/api/ledger/trial-balance", headers=reader).json()["balanced"] is True


def test_reversal_refolds_later_repayments_with_an_adjusting_entry(
    client: TestClient, container: Any, staff: Any, h: Any, clock: Any
) -> None:
    loan_id, _ = h.open_loan(container)
    clock.set_date(dt.date(2025, 6, 1))
    pay(client, staff, loan_id, 5000, "RF1", "2025-02-01T08:00:00Z")
    pay(client, staff, loan_id, 6000, "RF2", "2025-03-05T08:00:00Z")
    pay(client, staff, loan_id, 2000, "RF3", "2025-04-01T08:00:00Z")
    client.post(
        "/api/repayments/RF1/reverse",
        json={"reason": "duplicate entry"},
        headers=staff.headers("super_admin"),
    )
    history = client.get(
        f"/api/repayments/{loan_id}", headers=staff.headers("initiator_admin")
    ).json()
    split = {
        r["_id"]: (
            r["allocation"]["interest_cents"],
            r["allocation"]["principal_cents"],
            r["reversed"],
        )
        for r in history["repayments"]
    }
    # Without RF1, RF2 pays instalment 1 (2,000 + 3,333.33) and 666.67 of instalment 2's interest.
    assert split == {
        "RF1": (200_000, 300_000, True),
        "RF2": (266_667, 333_333, False),
        "RF3": (133_333, 66_667, False),
    }
    assert history["total_paid_cents"] == 800_000
    assert client.get("/api/ledger/trial-balance", headers=staff.headers("initiator_admin")).json()[
        "balanced"
    ]
    assert (
        client.get(
            f"/api/ledger/accounts/1100:{loan_id}", headers=staff.headers("initiator_admin")
        ).json()["balance_cents"]
        == 2_000_000 - 400_000
    )


class TestPreview:
    def test_product_fields_give_the_exact_schedule_and_cost_of_credit(
        self, client: TestClient, staff: Any
    ) -> None:
        response = client.post(
            "/api/schedules/preview",
            json={
                "product": {
                    "interestMethod": "declining_equal_instalments",
                    "interestRatePercent": "24",
                    "interestRatePeriod": "year",
                    "repaymentFrequency": "monthly",
                },
                "amount": 12000,
                "term": 12,
                "disbursedOn": "2025-01-01",
            },
            headers=staff.headers("initiator_admin"),
        )
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["instalments"][0] == {
            "number": 1,
            "dueDate": "2025-02-01",
            "principal_cents": 89_472,
            "interest_cents": 24_000,
            "fee_cents": 0,
            "total_cents": 113_472,
        }
        assert body["instalments"][-1]["total_cents"] == 113_467
        assert body["totals"]["interest_cents"] == 161_659
        assert body["totals"]["cost_of_credit_cents"] == 161_659
        assert body["nominalRatePerPeriod"] == "0.02000000"
        assert body["effectiveRatePerPeriod"].startswith("0.0200")

    def test_flat_disclosure_shows_the_true_rate(self, client: TestClient, staff: Any) -> None:
        body = client.post(
            "/api/schedules/preview",
            json={
                "product": {
                    "interest_method": "flat",
                    "interest_rate_percent": 10,
                    "interest_rate_period": "month",
                    "instalmentMultipleOf": "1",
                },
                "amount": "20000",
                "term": 6,
                "disbursedOn": "2025-01-01",
            },
            headers=staff.headers("initiator_admin"),
        ).json()
        assert [i["total_cents"] for i in body["instalments"]] == [533_300] * 5 + [533_500]
        assert body["effectiveRatePerPeriod"].startswith("0.1534")

    def test_a_product_the_ledger_has_seen_can_be_named_by_id(
        self, client: TestClient, container: Any, staff: Any, h: Any
    ) -> None:
        h.open_loan(container)
        body = client.post(
            "/api/schedules/preview",
            json={
                "productId": "00000000-0000-4000-8000-000000000001",
                "amount": 20000,
                "term": 6,
                "disbursedOn": "2025-01-01",
            },
            headers=staff.headers("initiator_admin"),
        ).json()
        assert body["totals"]["total_cents"] == 3_200_000

    def test_bad_terms_are_400(self, client: TestClient, staff: Any) -> None:
        for product in (
            {"interest_method": "rule_of_78", "interest_rate_percent": "10"},
            {"interest_method": "flat", "interest_rate_percent": "-1"},
            {"interest_method": "flat", "interest_rate_percent": "ten"},
        ):
            response = client.post(
                "/api/schedules/preview",
                json={"product": product, "amount": 100, "term": 3},
                headers=staff.headers("initiator_admin"),
            )
            assert response.status_code == 400, (product, response.text)
        unknown = client.post(
            "/api/schedules/preview",
            json={"productId": str(uuid.uuid4()), "amount": 100, "term": 3},
            headers=staff.headers("initiator_admin"),
        )
        assert unknown.status_code == 404
