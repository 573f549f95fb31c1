"""The repayments page (doc §3 "Repayments, savings, history, tracking", §6.18): the history a
loan shows (``GET /api/repayments/loan/:loanId``, manual and M-Pesa payments alike, KES amounts)
and the record dialog (``POST /api/repayments``) as initiators, approvers and accountants use it;
the transaction id is the idempotency key, so the same one twice posts once."""

from __future__ import annotations

import random
import time
from datetime import datetime
from typing import Any

import pytest

pytestmark = pytest.mark.e2e

PAYBILL = "600984"


def page_transaction_id() -> str:
    """What the dialog fills in when the field is left blank: ``MAN-<ms>-<rand>``."""
    return f"MAN-{int(time.time() * 1000)}-{random.randint(1000, 9999)}"


def record(page: Any, loan_id: str, amount: Any, transaction_id: str, method: str = "cash") -> Any:
    return page.call(
        "POST",
        "/api/repayments",
        json={
            "loanId": loan_id,
            "amount": amount,
            "paymentMethod": method,
            "transactionId": transaction_id,
        },
    )


def history(page: Any, loan_id: str) -> list[dict[str, Any]]:
    body = page.ok("GET", f"/api/repayments/loan/{loan_id}")
    rows: list[dict[str, Any]] = body["data"]
    for row in rows:
        assert isinstance(row["_id"], str) and row["_id"]
        assert isinstance(row["amount"], int | float)
        assert row["paymentMethod"] in {"mpesa", "cash", "bank"}
        datetime.fromisoformat(row["createdAt"])
    return rows


def pay_bill(page: Any, account: str, amount: int) -> None:
    """A borrower pays by paybill on the simulated Daraja, as the money loop does."""
    client = page.client
    token = client.get(
        "/sim/daraja/oauth/v1/generate",
        params={"grant_type": "client_credentials"},
        auth=("sim-consumer-key", "sim-consumer-secret"),
    ).json()["access_token"]
    response = client.post(
        "/sim/daraja/mpesa/c2b/v2/simulate",
        json={
            "ShortCode": PAYBILL,
            "CommandID": "CustomerPayBillOnline",
            "Amount": str(amount),
            "Msisdn": "254712345678",
            "BillRefNumber": account,
        },
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 200, response.text


def test_a_manual_repayment_posts_once_and_shows_in_kes(money_desk: Any, eventually: Any) -> None:
    loan_id = money_desk.loan["_id"]
    transaction_id = page_transaction_id()
    first = record(money_desk.initiator, loan_id, 1500, transaction_id)
    assert first.status_code == 201, first.text
    again = record(money_desk.approver, loan_id, 1500, transaction_id)
    assert again.status_code == 200, again.text  # delivered twice: posted once
    rows = [
        r for r in history(money_desk.initiator, loan_id) if r["transactionId"] == transaction_id
    ]
    assert len(rows) == 1
    assert rows[0]["amount"] == 1500 and rows[0]["paymentMethod"] == "cash"
    body = money_desk.initiator.ok("GET", f"/api/repayments/loan/{loan_id}")
    assert body["total_paid_cents"] >= 150_000 and body["outstanding_cents"] > 0


def test_an_mpesa_payment_shows_beside_the_manual_ones(money_desk: Any, eventually: Any) -> None:
    loan_id = money_desk.loan["_id"]
    pay_bill(money_desk.initiator, money_desk.loan["accountNumber"], 700)
    paid = eventually(
        lambda: [
            r
            for r in history(money_desk.officer, loan_id)
            if r["paymentMethod"] == "mpesa" and r["amount"] == 700
        ],
        "the C2B payment to reach the ledger",
    )
    assert paid[0]["transactionId"]


def test_a_same_id_with_another_amount_is_a_conflict_not_a_second_payment(
    money_desk: Any,
) -> None:
    loan_id = money_desk.loan["_id"]
    transaction_id = page_transaction_id()
    assert record(money_desk.approver, loan_id, 200, transaction_id, "bank").status_code == 201
    clash = record(money_desk.approver, loan_id, 300, transaction_id, "bank")
    assert clash.status_code == 409 and clash.json()["message"]
    assert [
        r["amount"]
        for r in history(money_desk.approver, loan_id)
        if r["transactionId"] == transaction_id
    ] == [200]


@pytest.mark.parametrize("body", [{"amount": 0}, {"amount": "abc"}, {"paymentMethod": "cheque"}])
def test_bad_input_is_400_with_a_message(money_desk: Any, body: dict[str, Any]) -> None:
    response = money_desk.initiator.call(
        "POST",
        "/api/repayments",
        json={
            "loanId": money_desk.loan["_id"],
            "amount": 100,
            "paymentMethod": "cash",
            "transactionId": page_transaction_id(),
            **body,
        },
    )
    assert response.status_code == 400, response.text


def test_super_admin_and_loan_officers_do_not_record_money(
    money_desk: Any, super_admin: Any
) -> None:
    loan_id = money_desk.loan["_id"]
    # Segregation of duties: neither the super admin nor a loan officer records money.
    assert record(super_admin, loan_id, 100, page_transaction_id()).status_code == 403
    assert record(money_desk.officer, loan_id, 100, page_transaction_id()).status_code == 403
    history(money_desk.officer, loan_id)  # their own loan: they read it
    anonymous = money_desk.officer.__class__(money_desk.officer.client)
    assert anonymous.call("GET", f"/api/repayments/loan/{loan_id}").status_code == 401


def test_an_accountant_records_and_reads(money_desk: Any, new_staff: Any) -> None:
    loan_id = money_desk.loan["_id"]
    accountant = new_staff("accountant")
    assert record(accountant, loan_id, 100, page_transaction_id()).status_code == 201
    history(accountant, loan_id)
