"""A receipt reported again with another amount, phone or account reference is not a duplicate:
it is recorded once as a conflict, listed in reconciliation with both versions, flagged in the
inbox, and published as a PaymentReceived of its own (the ledger flags it and posts nothing).
An exact repeat stays a silent duplicate.
"""

from __future__ import annotations

from typing import Any

from payments_harness import Gateway, wait_until

from hazina_payments_gateway.domain.payment import Payment

CONFIRMATION = {
    "TransactionType": "Pay Bill",
    "TransID": "TCONF00001",
    "TransTime": "20250201143005",
    "TransAmount": "500.00",
    "BusinessShortCode": "600984",
    "BillRefNumber": "LN000123",
    "InvoiceNumber": "",
    "OrgAccountBalance": "58230.00",
    "ThirdPartyTransID": "",
    "MSISDN": "2547 ***** 678",
    "FirstName": "JANE",
    "MiddleName": "",
    "LastName": "",
}


def _received(gateway: Gateway, receipt: str) -> list[dict[str, Any]]:
    return [e.data for e in gateway.events(type_="PaymentReceived") if e.data["receipt"] == receipt]


def _payment_version(gateway: Gateway, receipt: str) -> int:
    payment: Payment = gateway.container.app.repository.get(Payment.create_id(receipt))
    return int(payment.version)


def test_a_conflicting_repeat_is_recorded_once_listed_and_sent_to_the_ledger(
    gateway: Gateway,
) -> None:
    first = gateway.callback("c2b/confirmation", CONFIRMATION)
    assert first.status_code == 200
    wait_until(lambda: _received(gateway, "TCONF00001"), what="the first report published")

    conflicting = {**CONFIRMATION, "TransAmount": "900"}
    for _ in range(2):  # Daraja delivers the conflicting confirmation twice
        answer = gateway.callback("c2b/confirmation", conflicting)
        assert (answer.status_code, answer.json()) == (
            200,
            {"ResultCode": 0, "ResultDesc": "Success"},
        )
    # An exact repeat (reference typed differently, the same account) stays a silent duplicate.
    assert (
        gateway.callback(
            "c2b/confirmation", {**CONFIRMATION, "BillRefNumber": "ln-000123"}
        ).status_code
        == 200
    )

    rows = gateway.wait_inbox(4)
    assert [(r["status"], r["outcome"]) for r in rows] == [
        ("processed", "recorded"),
        ("flagged", "conflict"),
        ("processed", "duplicate_conflict"),
        ("processed", "duplicate"),
    ]
    assert "amount KES 900.00 (first KES 500.00)" in rows[1]["error"]

    # One conflict event, whatever the redeliveries: the payment has two events, both published.
    assert _payment_version(gateway, "TCONF00001") == 2
    published = wait_until(
        lambda: len(found := _received(gateway, "TCONF00001")) == 2 and found,
        what="the conflict published",
    )
    assert [p["amount_cents"] for p in published] == [50_000, 90_000]
    assert published[1]["account_reference"] == "LN000123"
    ids = [e.event_id for e in gateway.events(type_="PaymentReceived")]
    assert len(set(ids)) == 2

    report = gateway.get("/api/payments/reconciliation", params={"date": "2025-02-01"}).json()
    [conflict] = report["conflicts"]
    assert conflict["mpesaReceipt"] == "TCONF00001"
    assert conflict["differences"] == ["amount KES 900.00 (first KES 500.00)"]
    assert conflict["first"]["amountCents"] == 50_000
    assert conflict["repeat"]["amountCents"] == 90_000
    assert conflict["first"]["phone"] == conflict["repeat"]["phone"] == "254****678"
    [row] = report["c2b"]
    assert row["amountCents"] == 50_000  # the first report stands
    assert "conflicting_repeat" in row["flags"]
    assert report["summary"]["conflicts"] == 1
    assert report["callbacks"]["flagged"] == 1

    flagged = gateway.get("/api/payments/inbox", params={"status": "flagged"}).json()
    assert [(r["outcome"], r["id"]) for r in flagged] == [("conflict", rows[1]["id"])]


def test_a_repeat_from_another_phone_or_for_another_account_is_a_conflict_too(
    gateway: Gateway,
) -> None:
    gateway.callback("c2b/confirmation", {**CONFIRMATION, "TransID": "TCONF00002"})
    gateway.callback(
        "c2b/confirmation", {**CONFIRMATION, "TransID": "TCONF00002", "MSISDN": "2547 ***** 111"}
    )
    gateway.callback("c2b/confirmation", {**CONFIRMATION, "TransID": "TCONF00003"})
    gateway.callback(
        "c2b/confirmation",
        {**CONFIRMATION, "TransID": "TCONF00003", "BillRefNumber": "LN999999"},
    )
    rows = gateway.wait_inbox(4)
    assert [(r["status"], r["outcome"]) for r in rows] == [
        ("processed", "recorded"),
        ("flagged", "conflict"),
        ("processed", "recorded"),
        ("flagged", "conflict"),
    ]
    assert "phone number" in rows[1]["error"]
    assert "account reference" in rows[3]["error"]
    report = wait_until(
        lambda: (
            len(
                (
                    r := gateway.get(
                        "/api/payments/reconciliation", params={"date": "2025-02-01"}
                    ).json()
                )["conflicts"]
            )
            == 2
            and r
        ),
        what="both conflicts in reconciliation",
    )
    assert {c["mpesaReceipt"]: c["differences"] for c in report["conflicts"]} == {
        "TCONF00002": ["phone number"],
        "TCONF00003": ["account reference"],
    }
    wait_until(lambda: len(gateway.events(type_="PaymentReceived")) == 4, what="4 published")


def test_a_statement_row_that_disagrees_with_a_callback_is_counted_as_a_conflict(
    gateway: Gateway,
) -> None:
    gateway.callback("c2b/confirmation", {**CONFIRMATION, "TransID": "TAF2K9LMNP"})
    gateway.wait_inbox(1)
    statement = (
        "Receipt No.,Completion Time,Initiation Time,Details,Transaction Status,Paid In,"
        "Withdrawn,Balance,Balance Confirmed,Reason Type,Other Party Info,Linked Transaction ID,"
        "A/C No.\n"
        "TAF2K9LMNP,2025-02-01 14:30:05,2025-02-01 14:30:05,Pay Bill,Completed,700.00,,1,true,"
        "Pay Bill Online,2547*****678 - JANE,,LN000123\n"
        "TAF2K9LMNQ,2025-02-01 14:30:05,2025-02-01 14:30:05,Pay Bill,Completed,10.00,,1,true,"
        "Pay Bill Online,2547*****678 - JANE,,LN\x07000123\n"
    )
    response = gateway.post(
        "/api/payments/reconciliation/statement",
        content=statement.encode(),
        headers={"Content-Type": "text/csv"},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["found"], body["recorded"], body["conflicts"]) == (1, 0, 1)
    assert body["problems"] == ["row 3: A/C No. contains a control character (U+0007)"]
