"""Callback ingress: stored raw before the acknowledgement, refused without the token, never
"Accepted" for what could not be stored, and processed later from the inbox even after a crash.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from payments_harness import CALLBACK_TOKEN, Gateway, wait_until

CONFIRMATION = {
    "TransactionType": "Pay Bill",
    "TransID": "TAF2K9LMNP",
    "TransTime": "20250201143005",
    "TransAmount": "1200.00",
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


def test_confirmation_is_acknowledged_in_darajas_format_after_it_is_stored(
    gateway: Gateway,
) -> None:
    response = gateway.callback("c2b/confirmation", CONFIRMATION)
    assert response.status_code == 200
    assert response.json() == {"ResultCode": 0, "ResultDesc": "Success"}
    stored = gateway.inbox()
    assert [r["kind"] for r in stored] == ["c2b_confirmation"]
    received = gateway.wait_events("PaymentReceived")[0].data
    assert received["receipt"] == "TAF2K9LMNP"
    assert received["amount_cents"] == 120_000
    assert received["msisdn"] == "2547 ***** 678"
    assert received["target"] == "unallocated"
    assert received["paid_at"] == "2025-02-01T11:30:05Z"  # 14:30:05 EAT
    assert received["payer_name"] == "JANE"
    assert received["channel"] == "c2b"


def test_the_same_receipt_twice_publishes_once(gateway: Gateway) -> None:
    for _ in range(3):
        assert gateway.callback("c2b/confirmation", CONFIRMATION).status_code == 200
    # The seed's /api/mpesa alias is the same handler.
    assert (
        gateway.callback("c2b/confirmation", CONFIRMATION, prefix="/api/mpesa").status_code == 200
    )
    wait_until(
        lambda: all(r["processed_at"] for r in gateway.inbox()) and len(gateway.inbox()) == 4
    )
    outcomes = sorted(r["outcome"] for r in gateway.inbox())
    assert outcomes == ["duplicate", "duplicate", "duplicate", "recorded"]
    gateway.wait_events("PaymentReceived")
    assert len(gateway.events(type_="PaymentReceived")) == 1


def test_a_wrong_token_is_refused_and_changes_nothing(gateway: Gateway) -> None:
    for path in ("c2b/confirmation", "b2c/result", "c2b/validation", "stk/callback"):
        response = gateway.callback(path, CONFIRMATION, token="not-the-token")
        assert response.status_code == 403
        assert "ResultCode" not in response.json()
    assert gateway.callback("c2b/confirmation", CONFIRMATION, token="").status_code in {404, 405}
    assert gateway.inbox() == []


def test_an_address_outside_the_allow_list_is_refused(
    start_gateway: Callable[..., Gateway],
) -> None:
    gateway = start_gateway(MPESA_CALLBACK_ALLOWED_IPS="196.201.214.200,196.201.214.206")
    assert gateway.callback("c2b/confirmation", CONFIRMATION).status_code == 403
    assert gateway.inbox() == []


def test_malformed_callbacks_are_kept_flagged_and_never_500(gateway: Gateway) -> None:
    # Acknowledged as Daraja expects (sending it again cannot fix it), stored, flagged.
    not_json = gateway.callback("c2b/confirmation", b"TransID=ABC&amount=10")
    assert (not_json.status_code, not_json.json()) == (
        200,
        {"ResultCode": 0, "ResultDesc": "Success"},
    )
    wrong_shape = gateway.callback("b2c/result", {"Result": {"ResultCode": 0}})
    assert (wrong_shape.status_code, wrong_shape.json()) == (
        200,
        {"ResultCode": 0, "ResultDesc": "Accepted"},
    )
    bad_amount = gateway.callback(
        "c2b/confirmation", {**CONFIRMATION, "TransID": "TAF0000001", "TransAmount": "12,00.5x"}
    )
    assert bad_amount.status_code == 200
    rows = gateway.wait_inbox(3)
    assert [(r["status"], r["outcome"]) for r in rows] == [("flagged", "malformed")] * 3
    assert rows[0]["error"] == "body is not JSON"
    assert "OriginatorConversationID" in rows[1]["error"]
    assert rows[2]["error"] == "TransAmount '12,00.5x' is not an amount"
    assert gateway.events(type_="PaymentReceived") == []


def test_a_callback_that_cannot_be_stored_is_not_acknowledged(gateway: Gateway) -> None:
    with gateway.container.pool.connection() as conn:
        conn.execute("ALTER TABLE callback_inbox RENAME TO callback_inbox_offline")
    try:
        response = gateway.callback("c2b/confirmation", CONFIRMATION)
        assert response.status_code == 503
        assert response.json()["ResultCode"] != 0
        validation = gateway.callback("c2b/validation", CONFIRMATION)
        assert validation.status_code == 503
    finally:
        with gateway.container.pool.connection() as conn:
            conn.execute("ALTER TABLE callback_inbox_offline RENAME TO callback_inbox")
    assert gateway.events(type_="PaymentReceived") == []
    # Daraja (or whoever) tries again: now it is stored, acknowledged and processed.
    assert gateway.callback("c2b/confirmation", CONFIRMATION).status_code == 200
    gateway.wait_events("PaymentReceived")


def test_a_crash_after_acknowledging_loses_nothing(start_gateway: Callable[..., Gateway]) -> None:
    first = start_gateway(PAYMENTS_INBOX_PROCESSING=False)
    assert first.callback("c2b/confirmation", CONFIRMATION).status_code == 200
    assert first.inbox()[0]["processed_at"] is None
    first.stop()  # acknowledged, not yet processed: the process dies here

    second = start_gateway()
    received = second.wait_events("PaymentReceived")[0].data
    assert received["receipt"] == "TAF2K9LMNP"
    assert second.inbox()[0]["outcome"] == "recorded"


def test_validation_accepts_by_default_and_unknown_references_too(gateway: Gateway) -> None:
    response = gateway.callback(
        "c2b/validation", {**CONFIRMATION, "BillRefNumber": "nobody-knows-this"}
    )
    assert response.json() == {"ResultCode": "0", "ResultDesc": "Accepted"}
    unreadable = gateway.callback("c2b/validation", {"TransID": "X"})
    assert unreadable.json() == {"ResultCode": "C2B00016", "ResultDesc": "Rejected"}
    assert [r["kind"] for r in gateway.inbox()] == ["c2b_validation", "c2b_validation"]


def test_callback_bodies_are_stored_exactly_as_sent(gateway: Gateway) -> None:
    raw = json.dumps(CONFIRMATION, separators=(",", ":")).encode()
    gateway.http.post(
        f"/api/pay/c2b/confirmation/{CALLBACK_TOKEN}",
        content=raw,
        headers={"Content-Type": "application/json"},
    )
    with gateway.container.pool.connection() as conn:
        stored = conn.execute("SELECT body FROM callback_inbox").fetchone()
    assert stored is not None and bytes(stored[0]) == raw
