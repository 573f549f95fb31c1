"""Recording repayments through the API: allocation, idempotency by receipt, roles, bad input."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient


def pay(
    client: TestClient,
    staff: Any,
    loan_id: uuid.UUID,
    amount: Any,
    receipt: str,
    role: str = "initiator_admin",
    method: str = "cash",
) -> Any:
    return client.post(
        "/api/repayments",
        json={
            "loanId": str(loan_id),
            "amount": amount,
            "paymentMethod": method,
            "transactionId": receipt,
        },
        headers=staff.headers(role),
    )


class TestRecordRepayment:
    def test_splits_interest_first_then_principal_and_answers_in_the_seed_shape(
        self, client: TestClient, container: Any, staff: Any, h: Any, clock: Any
    ) -> None:
        loan_id, _ = h.open_loan(container)
        clock.set_date(dt.date(2025, 2, 1))
        response = pay(client, staff, loan_id, 5000, "QWE123ABC")
        assert response.status_code == 201, response.text
        body = response.json()
        assert body["repayment"]["allocation"] == {
            "interest_cents": 200_000,
            "principal_cents": 300_000,
            "fee_cents": 0,
            "suspense_cents": 0,
            "recovery_cents": 0,
        }
        history = client.get(
            f"/api/repayments/loan/{loan_id}", headers=staff.headers("initiator_admin")
        ).json()
        assert history["total_paid_cents"] == 500_000
        assert history["outstanding_cents"] == 3_200_000 - 500_000
        assert history["repayments"][0]["mpesaReceipt"] == "QWE123ABC"
        assert history["repayments"][0]["amount_cents"] == 500_000
        assert history["data"][0]["amount"] == 5000
        assert (
            client.get(
                f"/api/repayments/{loan_id}", headers=staff.headers("initiator_admin")
            ).json()
            == history
        )

    def test_the_same_receipt_again_is_acknowledged_and_changes_nothing(
        self, client: TestClient, container: Any, staff: Any, h: Any
    ) -> None:
        loan_id, _ = h.open_loan(container)
        assert pay(client, staff, loan_id, "5000.00", "QWE123ABC").status_code == 201
        again = pay(
            client, staff, loan_id, 5000, "qwe123abc"
        )  # staff typing the M-Pesa receipt in lower case
        assert again.status_code == 200
        assert again.json()["status"] == "duplicate"
        history = client.get(
            f"/api/repayments/{loan_id}", headers=staff.headers("initiator_admin")
        ).json()
        assert len(history["repayments"]) == 1
        assert history["total_paid_cents"] == 500_000

    @pytest.mark.parametrize("change", ["amount", "loan"])
    def test_the_same_receipt_for_another_amount_or_loan_is_a_flagged_conflict_never_posted(
        self, change: str, client: TestClient, container: Any, staff: Any, h: Any
    ) -> None:
        loan_id, _ = h.open_loan(container)
        other_loan, _ = h.open_loan(container)
        assert pay(client, staff, loan_id, 5000, "QWE123ABC").status_code == 201
        target, amount = (loan_id, 6000) if change == "amount" else (other_loan, 5000)
        conflict = pay(client, staff, target, amount, "QWE123ABC")
        assert conflict.status_code == 409
        assert "already used" in conflict.json()["message"]
        flagged = client.get(
            "/api/repayments/conflicts", headers=staff.headers("approver_admin")
        ).json()
        assert [(f["receipt"], f["amount_cents"], f["targetId"]) for f in flagged] == [
            ("QWE123ABC", amount * 100, str(target))
        ]
        for lid in (loan_id, other_loan):
            paid = client.get(
                f"/api/repayments/{lid}", headers=staff.headers("initiator_admin")
            ).json()
            assert paid["total_paid_cents"] == (500_000 if lid == loan_id else 0)

    def test_overpayment_goes_to_the_clients_suspense_and_the_loan_is_repaid(
        self, client: TestClient, container: Any, staff: Any, h: Any
    ) -> None:
        loan_id, client_id = h.open_loan(container)
        response = pay(client, staff, loan_id, "32500", "PAYOFF1", method="mpesa")
        assert response.json()["repayment"]["allocation"]["suspense_cents"] == 50_000
        assert response.json()["loan"]["status"] == "repaid"
        accounts = client.get(
            f"/api/clients/{client_id}/accounts", headers=staff.headers("initiator_admin")
        ).json()
        assert accounts["suspense_cents"] == 50_000
        assert accounts["loans"][0]["outstanding_cents"] == 0
        after = pay(
            client, staff, loan_id, 100, "LATE1"
        )  # a payment on a repaid loan is all suspense
        assert after.json()["repayment"]["allocation"]["suspense_cents"] == 10_000

    def test_a_loan_not_yet_disbursed_refuses_repayments_with_its_status(
        self, client: TestClient, container: Any, staff: Any, h: Any
    ) -> None:
        loan_id = uuid.uuid4()
        h.deliver(container, h.loan_approved(loan_id, uuid.uuid4()))
        response = pay(client, staff, loan_id, 100, "EARLY1")
        assert response.status_code == 409
        assert "approved" in response.json()["message"]

    def test_an_unknown_loan_is_404(self, client: TestClient, staff: Any) -> None:
        response = pay(client, staff, uuid.uuid4(), 100, "NOLOAN1")
        assert response.status_code == 404
        assert response.json()["message"] == "Loan not found in the ledger"


class TestAccess:
    def test_a_loan_officer_may_read_their_own_loan_but_not_record(
        self, client: TestClient, container: Any, staff: Any, h: Any
    ) -> None:
        loan_id, client_id = h.open_loan(container)
        officer = uuid.uuid4()
        h.own(container, officer, client_id=client_id, loan_id=loan_id)
        assert pay(client, staff, loan_id, 100, "R1", role="loan_officer").status_code == 403
        mine = staff.headers("loan_officer", officer)
        assert client.get(f"/api/repayments/{loan_id}", headers=mine).status_code == 200
        someone_else = staff.headers("loan_officer", uuid.uuid4())
        response = client.get(f"/api/repayments/{loan_id}", headers=someone_else)
        assert response.status_code == 404
        assert response.json()["message"] == "Loan not found in the ledger"

    @pytest.mark.parametrize("role", ["initiator_admin", "approver_admin", "accountant"])
    def test_cash_repayments_are_recorded_by_the_money_roles(
        self, role: str, client: TestClient, container: Any, staff: Any, h: Any
    ) -> None:
        loan_id, _ = h.open_loan(container)
        assert pay(client, staff, loan_id, 100, f"R-{role}", role=role).status_code == 201

    @pytest.mark.parametrize("role", ["super_admin", "admin", "loan_officer"])
    def test_others_may_not_record_a_repayment(
        self, role: str, client: TestClient, container: Any, staff: Any, h: Any
    ) -> None:
        """Segregation of duties (docs/roles.md): the super admin does not record money."""
        loan_id, _ = h.open_loan(container)
        assert pay(client, staff, loan_id, 100, f"R-{role}", role=role).status_code == 403

    def test_no_token_is_401_and_an_unknown_role_403(self, client: TestClient, staff: Any) -> None:
        assert client.get(f"/api/repayments/{uuid.uuid4()}").status_code == 401
        assert (
            client.get("/api/ledger/trial-balance", headers=staff.headers("cashier")).status_code
            == 403
        )

    def test_reversal_needs_an_approver_and_a_reason(
        self, client: TestClient, container: Any, staff: Any, h: Any
    ) -> None:
        loan_id, _ = h.open_loan(container)
        pay(client, staff, loan_id, 5000, "REV1")
        url = "/api/repayments/REV1/reverse"
        assert (
            client.post(
                url, json={"reason": "bounced"}, headers=staff.headers("initiator_admin")
            ).status_code
            == 403
        )
        assert client.post(url, json={}, headers=staff.headers("approver_admin")).status_code == 400
        done = client.post(
            url, json={"reason": "cheque bounced"}, headers=staff.headers("approver_admin")
        )
        assert done.status_code == 200, done.text
        assert done.json()["loan"]["total_paid_cents"] == 0
        assert done.json()["loan"]["outstanding_cents"] == 3_200_000
        again = client.post(
            url, json={"reason": "cheque bounced"}, headers=staff.headers("approver_admin")
        )
        assert again.status_code == 409


class TestBadInput:
    @pytest.mark.parametrize(
        "body",
        [
            {"amount": -5, "paymentMethod": "cash", "transactionId": "B1"},
            {"amount": 0, "paymentMethod": "cash", "transactionId": "B1"},
            {"amount": "12.345", "paymentMethod": "cash", "transactionId": "B1"},
            {"amount": "abc", "paymentMethod": "cash", "transactionId": "B1"},
            {"amount": 10, "paymentMethod": "cheque", "transactionId": "B1"},
            {"amount": 10, "paymentMethod": "cash", "transactionId": ""},
            {"amount": 10, "paymentMethod": "cash", "transactionId": "has spaces in it"},
            {"amount": 10, "paymentMethod": "cash"},
            {"amount": 1e20, "paymentMethod": "cash", "transactionId": "B1"},
        ],
    )
    def test_is_400_with_a_message_and_nothing_is_written(
        self, body: dict[str, Any], client: TestClient, container: Any, staff: Any, h: Any
    ) -> None:
        loan_id, _ = h.open_loan(container)
        response = client.post(
            "/api/repayments",
            json={"loanId": str(loan_id), **body},
            headers=staff.headers("initiator_admin"),
        )
        assert response.status_code == 400, response.text
        assert response.json()["message"]
        assert (
            client.get(f"/api/repayments/{loan_id}", headers=staff.headers("super_admin")).json()[
                "repayments"
            ]
            == []
        )

    def test_a_future_payment_date_is_refused(
        self, client: TestClient, container: Any, staff: Any, h: Any
    ) -> None:
        loan_id, _ = h.open_loan(container)
        response = client.post(
            "/api/repayments",
            json={
                "loanId": str(loan_id),
                "amount": 10,
                "paymentMethod": "cash",
                "transactionId": "F1",
                "paidAt": "2030-01-01T00:00:00Z",
            },
            headers=staff.headers("initiator_admin"),
        )
        assert response.status_code == 400
