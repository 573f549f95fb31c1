"""Bad input never breaks the inbox: a callback with a bad field is stored exactly as received,
answered as Daraja expects, flagged for staff, and later callbacks are processed; a callback whose
processing keeps failing is parked after bounded retries; every callback kind is handled or kept
open and listed; staff retry or dismiss what is listed, and each decision is an event.
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Callable
from typing import Any

from payments_harness import Gateway, wait_until

from hazina_payments_gateway.adapters.inbox import InboxProcessor, inbox_key
from hazina_payments_gateway.api.routes.callbacks import CALLBACKS
from hazina_payments_gateway.domain.callback_review import CallbackReview

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
ACCEPTED_CONFIRMATION = {"ResultCode": 0, "ResultDesc": "Success"}


def _stored_body(gateway: Gateway, row_id: int) -> bytes:
    with gateway.container.pool.connection() as conn:
        row = conn.execute("SELECT body FROM callback_inbox WHERE id = %s", (row_id,)).fetchone()
    assert row is not None
    return bytes(row[0])


def _received(gateway: Gateway, receipt: str) -> dict[str, Any]:
    found = wait_until(
        lambda: [
            e.data for e in gateway.events(type_="PaymentReceived") if e.data["receipt"] == receipt
        ],
        what=f"PaymentReceived {receipt}",
    )
    return dict(found[0])


def test_a_nul_in_the_bill_reference_is_flagged_and_later_payments_still_go_through(
    gateway: Gateway,
) -> None:
    escaped = json.dumps({**CONFIRMATION, "TransID": "TNUL000001", "BillRefNumber": "LN\x00123"})
    assert "\\u0000" in escaped
    raw_nul = escaped.replace("TNUL000001", "TNUL000002").replace("\\u0000", "\x00").encode()
    for body in (escaped.encode(), raw_nul):
        answer = gateway.callback("c2b/confirmation", body)
        assert (answer.status_code, answer.json()) == (200, ACCEPTED_CONFIRMATION)
    refused = gateway.callback("c2b/validation", escaped.encode())
    assert refused.json() == {"ResultCode": "C2B00012", "ResultDesc": "Rejected"}

    # A valid payment afterwards is processed; the bad rows never hold it up.
    answer = gateway.callback("c2b/confirmation", {**CONFIRMATION, "TransID": "TGOOD00001"})
    assert answer.status_code == 200
    assert _received(gateway, "TGOOD00001")["amount_cents"] == 120_000

    rows = gateway.wait_inbox(4)
    assert [(r["kind"], r["status"], r["outcome"]) for r in rows] == [
        ("c2b_confirmation", "flagged", "malformed"),
        ("c2b_confirmation", "flagged", "malformed"),
        ("c2b_validation", "flagged", "malformed"),
        ("c2b_confirmation", "processed", "recorded"),
    ]
    assert rows[0]["error"] == "BillRefNumber contains a control character (U+0000)"
    assert rows[1]["error"] == "body is not JSON"  # a raw control character is not JSON at all
    # Stored exactly as received, NUL and all.
    assert _stored_body(gateway, rows[0]["id"]) == escaped.encode()
    assert _stored_body(gateway, rows[1]["id"]) == raw_nul
    assert [e.data["receipt"] for e in gateway.events(type_="PaymentReceived")] == ["TGOOD00001"]

    listed = gateway.get("/api/payments/inbox", role="initiator_admin")
    assert listed.status_code == 200, listed.text
    assert listed.headers["X-Total-Count"] == "3"
    assert [r["id"] for r in listed.json()] == [rows[2]["id"], rows[1]["id"], rows[0]["id"]]
    first = gateway.get(f"/api/payments/inbox/{rows[0]['id']}").json()
    assert first["status"] == "flagged"
    assert first["reason"] == "BillRefNumber contains a control character (U+0000)"
    assert first["body"] == escaped
    second = gateway.get(f"/api/payments/inbox/{rows[1]['id']}").json()
    assert second["body"] == raw_nul.decode()  # a real NUL, escaped in the JSON answer
    assert base64.b64decode(second["bodyBase64"]) == raw_nul
    assert gateway.get("/api/payments/inbox", role="loan_officer").status_code == 403


BAD_AMOUNTS = ['"1e400000"', "1e400000", '"1,000"', '"abc"', '"-50"', '"0"', '"9999999.00"']


def test_an_unreadable_amount_is_refused_at_validation_flagged_at_confirmation_never_500(
    gateway: Gateway,
) -> None:
    for amount in BAD_AMOUNTS:
        body = json.dumps({**CONFIRMATION, "TransAmount": "AMOUNT"}).replace('"AMOUNT"', amount)
        validation = gateway.callback("c2b/validation", body.encode())
        assert (validation.status_code, validation.json()) == (
            200,
            {"ResultCode": "C2B00013", "ResultDesc": "Rejected"},
        ), amount
        confirmation = gateway.callback("c2b/confirmation", body.encode())
        assert (confirmation.status_code, confirmation.json()) == (200, ACCEPTED_CONFIRMATION)
    # Then a readable one: still processed.
    good = gateway.callback("c2b/confirmation", {**CONFIRMATION, "TransID": "TGOOD00002"})
    assert good.status_code == 200
    rows = gateway.wait_inbox(2 * len(BAD_AMOUNTS) + 1)
    assert [(r["status"], r["outcome"]) for r in rows[:-1]] == [("flagged", "malformed")] * (
        2 * len(BAD_AMOUNTS)
    )
    assert all(r["error"].startswith("TransAmount") for r in rows[:-1])
    assert rows[-1]["status"] == "processed"
    _received(gateway, "TGOOD00002")
    assert [e.data["receipt"] for e in gateway.events(type_="PaymentReceived")] == ["TGOOD00002"]


BAD_FIELDS: list[tuple[dict[str, Any], str, str]] = [
    (
        {"MSISDN": "0712 345 678; DROP"},
        "C2B00011",
        "MSISDN '0712 345 678; DROP' is not a phone number",
    ),
    ({"TransID": None}, "C2B00016", "no TransID"),
    ({"TransAmount": None}, "C2B00013", "no TransAmount"),
    (
        {"FirstName": "JANE\u202eENAJ"},
        "C2B00014",
        "FirstName contains a control character (U+202E)",
    ),
    ({"BusinessShortCode": "60098A"}, "C2B00015", "BusinessShortCode '60098A' is not a shortcode"),
    ({"TransTime": "yesterday"}, "C2B00016", "TransTime is not YYYYMMDDHHmmss"),
    ({"BillRefNumber": "x" * 101}, "C2B00012", "BillRefNumber is longer than 100 characters"),
]


def test_each_bad_field_gets_its_darajas_rejection_code_and_a_readable_reason(
    gateway: Gateway,
) -> None:
    for change, code, _ in BAD_FIELDS:
        body = {k: v for k, v in {**CONFIRMATION, **change}.items() if v is not None}
        assert gateway.callback("c2b/validation", body).json() == {
            "ResultCode": code,
            "ResultDesc": "Rejected",
        }, change
        assert gateway.callback("c2b/confirmation", body).json() == ACCEPTED_CONFIRMATION
    rows = gateway.wait_inbox(2 * len(BAD_FIELDS))
    assert [(r["status"], r["error"]) for r in rows] == [
        ("flagged", reason) for _, _, reason in BAD_FIELDS for _ in range(2)
    ]
    assert gateway.events(type_="PaymentReceived") == []


def test_a_callback_whose_processing_keeps_failing_is_parked_and_blocks_nothing(
    start_gateway: Callable[..., Gateway],
) -> None:
    gateway = start_gateway(PAYMENTS_INBOX_MAX_ATTEMPTS=3, PAYMENTS_INBOX_RETRY_SECONDS=0.05)
    calls: list[bytes] = []

    def broken(body: bytes) -> str:
        calls.append(body)
        raise RuntimeError("the handler is broken")

    gateway.container.inbox.handlers["b2c_timeout"] = broken
    timeout = {"Result": {"ResultCode": 1, "OriginatorConversationID": "D0000000000000001-1"}}
    assert gateway.callback("b2c/timeout", timeout).status_code == 200
    assert gateway.callback("c2b/confirmation", CONFIRMATION).status_code == 200
    _received(gateway, CONFIRMATION["TransID"])

    rows = gateway.wait_inbox(2)
    parked = rows[0]
    assert (parked["status"], parked["outcome"], parked["attempts"]) == ("parked", "failed", 3)
    assert parked["error"] == "RuntimeError: the handler is broken"
    assert len(calls) == 3  # bounded: tried three times (with growing delays), then set aside
    assert rows[1]["status"] == "processed"
    with gateway.container.pool.connection() as conn:
        due = conn.execute(
            "SELECT count(*) FROM callback_inbox WHERE status = 'pending'"
        ).fetchone()
    assert due == (0,)  # a parked row is never taken again by itself

    # Staff fix the cause and retry: processed once more, the decision kept as an event.
    gateway.container.inbox.handlers["b2c_timeout"] = lambda _body: "fixed"
    retried = gateway.post(
        f"/api/payments/inbox/{parked['id']}/retry",
        role="approver_admin",
        json={"reason": "handler fixed in release 1.2"},
    )
    assert retried.status_code == 200, retried.text
    assert retried.json()["status"] in {"pending", "processed"}
    wait_until(lambda: gateway.inbox()[0]["status"] == "processed", what="the retried row")
    assert gateway.inbox()[0]["outcome"] == "fixed"
    review: CallbackReview = gateway.container.app.repository.get(
        CallbackReview.create_id(inbox_key(_row(gateway, parked["id"])))
    )
    assert review.decisions == [("retry", "handler fixed in release 1.2")]
    again = gateway.post(f"/api/payments/inbox/{parked['id']}/retry", json={"reason": "once more"})
    assert again.status_code == 409  # processed: nothing to decide


def _row(gateway: Gateway, row_id: int) -> dict[str, Any]:
    with gateway.container.pool.connection() as conn:
        row = conn.execute(
            "SELECT id, received_at FROM callback_inbox WHERE id = %s", (row_id,)
        ).fetchone()
    assert row is not None
    return {"id": row[0], "received_at": row[1]}


def _ask_daraja(gateway: Gateway, path: str, body: dict[str, Any]) -> None:
    """Ask the simulator for a result it sends to the gateway's callback URLs (the gateway itself
    asks for no reversal or balance; an operator may, with the same URLs)."""
    settings = gateway.container.daraja.settings
    answer = gateway.daraja.post(
        path,
        {
            "Initiator": settings.initiator_name,
            "SecurityCredential": settings.security_credential,
            **{k: settings.callback_url(v) if k.endswith("URL") else v for k, v in body.items()},
        },
    )
    assert (answer.status_code, answer.json()["ResponseCode"]) == (200, "0"), answer.text


def _timeout(ocid: str) -> dict[str, Any]:
    return {
        "Result": {
            "ResultType": 0,
            "ResultCode": 1,
            "ResultDesc": "The service request has timed out.",
            "OriginatorConversationID": ocid,
            "ConversationID": f"AG_20250201_{uuid.uuid4().hex[:20]}",
        }
    }


def test_every_callback_kind_is_handled_or_kept_open_and_listed(
    start_gateway: Callable[..., Gateway],
) -> None:
    gateway = start_gateway(PAYMENTS_INBOX_MAX_ATTEMPTS=2, PAYMENTS_INBOX_RETRY_SECONDS=0.05)
    # The simulator answers these on the gateway's callback URLs, in Daraja's formats.
    _ask_daraja(
        gateway,
        "/mpesa/accountbalance/v1/query",
        {
            "CommandID": "AccountBalance",
            "PartyA": gateway.container.settings.mpesa_b2c_shortcode,
            "IdentifierType": "4",
            "Remarks": "Float check",
            "QueueTimeOutURL": "balance/timeout",
            "ResultURL": "balance/result",
        },
    )
    _ask_daraja(
        gateway,
        "/mpesa/reversal/v1/request",
        {
            "CommandID": "TransactionReversal",
            "TransactionID": "TAF2K9LMNP",
            "Amount": "1200",
            "ReceiverParty": gateway.container.settings.mpesa_c2b_shortcode,
            "RecieverIdentifierType": "11",
            "ResultURL": "reversal/result",
            "QueueTimeOutURL": "reversal/timeout",
            "Remarks": "x",
        },
    )
    wait_until(lambda: len(gateway.inbox()) == 2, what="the simulator's two callbacks")
    for path in ("reversal/timeout", "balance/timeout", "status/timeout"):
        answer = gateway.callback(path, _timeout(f"{path.split('/')[0]}-1"))
        assert (answer.status_code, answer.json()) == (
            200,
            {"ResultCode": 0, "ResultDesc": "Accepted"},
        )

    rows = {r["kind"]: r for r in gateway.wait_inbox(5)}
    assert {k: (r["status"], r["outcome"]) for k, r in rows.items()} == {
        "balance_result": ("open", "balance_result"),
        "reversal_result": ("flagged", "reversal_result"),
        "reversal_timeout": ("open", "reversal_timeout"),
        "balance_timeout": ("open", "balance_timeout"),
        # Handled: it would ask Daraja again, but no disbursement was asked about under it.
        "status_timeout": ("flagged", "unmatched"),
    }
    balance = rows["balance_result"]["detail"]
    assert [a["account"] for a in balance["accounts"]] == [
        "Working Account",
        "Utility Account",
        "Charges Paid Account",
    ]
    assert balance["accounts"][1]["figuresCents"][0] == 5_000_000_00
    assert rows["reversal_result"]["detail"]["resultCode"] == "R000002"
    assert rows["reversal_result"]["detail"]["originalReceipt"] is None
    assert "R000002" in rows["reversal_result"]["error"]
    assert rows["reversal_timeout"]["detail"]["originatorConversationId"] == "reversal-1"
    assert not any(r["status"] == "processed" for r in rows.values())

    listed = gateway.get("/api/payments/inbox", params={"status": "open"}).json()
    assert sorted(r["kind"] for r in listed) == [
        "balance_result",
        "balance_timeout",
        "reversal_timeout",
    ]
    everything = gateway.get("/api/payments/inbox", params={"limit": 2, "page": 1})
    assert everything.headers["X-Total-Count"] == "5" and len(everything.json()) == 2
    only = gateway.get("/api/payments/inbox", params={"kind": "reversal_result"}).json()
    assert [r["status"] for r in only] == ["flagged"]
    assert gateway.get("/api/payments/inbox", params={"status": "lost"}).status_code == 400
    assert gateway.get("/api/payments/inbox", params={"kind": "nope"}).status_code == 400

    # Staff dismiss with a reason (kept as an event); without one, nothing changes.
    target = rows["balance_result"]["id"]
    no_reason = gateway.post(f"/api/payments/inbox/{target}/dismiss", json={"reason": " "})
    assert no_reason.status_code == 400 and "message" in no_reason.json()
    bad_reason = gateway.post(f"/api/payments/inbox/{target}/dismiss", json={"reason": "a\x00b"})
    assert bad_reason.status_code == 400
    officer = gateway.post(
        f"/api/payments/inbox/{target}/dismiss", role="loan_officer", json={"reason": "seen"}
    )
    assert officer.status_code == 403
    dismissed = gateway.post(
        f"/api/payments/inbox/{target}/dismiss", json={"reason": "float checked on the portal"}
    )
    assert dismissed.status_code == 200, dismissed.text
    assert dismissed.json()["status"] == "dismissed"
    assert (
        gateway.post(f"/api/payments/inbox/{target}/dismiss", json={"reason": "again"}).status_code
        == 409
    )
    assert (
        gateway.post("/api/payments/inbox/999999/dismiss", json={"reason": "x"}).status_code == 404
    )
    review: CallbackReview = gateway.container.app.repository.get(
        CallbackReview.create_id(inbox_key(_row(gateway, target)))
    )
    assert review.decisions == [("dismiss", "float checked on the portal")]
    remaining = gateway.get("/api/payments/inbox").json()
    assert target not in [r["id"] for r in remaining] and len(remaining) == 4
    report = gateway.get("/api/payments/reconciliation").json()
    assert report["callbacks"]["open"] == 2 and report["callbacks"]["flagged"] == 2


def test_rows_stored_before_rows_had_a_status_keep_their_meaning(
    start_gateway: Callable[..., Gateway],
) -> None:
    gateway = start_gateway(HAZINA_RUN_WORKERS=False)
    pool = gateway.container.pool
    with pool.connection() as conn:
        conn.execute("DROP INDEX callback_inbox_due, callback_inbox_attention")
        conn.execute("ALTER TABLE callback_inbox DROP COLUMN status, DROP COLUMN detail")
        for kind, outcome in [
            ("c2b_confirmation", "recorded"),
            ("c2b_confirmation", "malformed"),
            ("b2c_result", "failed"),
            ("balance_result", "stored"),
            ("c2b_validation", "stored"),
            ("stk_callback", None),
        ]:
            conn.execute(
                "INSERT INTO callback_inbox (kind, body, outcome, processed_at) "
                "VALUES (%s, '{}', %s, CASE WHEN %s::text IS NULL THEN NULL ELSE now() END)",
                (kind, outcome, outcome),
            )
    InboxProcessor(pool, {})  # what a new release does on start
    assert [(r["kind"], r["status"]) for r in gateway.inbox()] == [
        ("c2b_confirmation", "processed"),
        ("c2b_confirmation", "flagged"),
        ("b2c_result", "parked"),
        ("balance_result", "open"),
        ("c2b_validation", "processed"),
        ("stk_callback", "pending"),
    ]


GARBAGE = [
    b"",
    b"null",
    b"[]",
    b'"text"',
    b"\x00",
    b"\xff\xfe{}",
    b'{"Result": []}',
    b'{"Result": {"ResultCode": {"a": 1}, "OriginatorConversationID": ["x"]}}',
    b'{"Body": {"stkCallback": {"CheckoutRequestID": 1e400000, "ResultCode": true}}}',
    b'{"TransID": {"$gt": ""}, "TransAmount": [1], "TransTime": 1e999}',
    b"[" * 50_000 + b"]" * 50_000,
    b'{"Result": {}}',
]


def test_no_callback_route_answers_500_whatever_it_is_sent(
    start_gateway: Callable[..., Gateway],
) -> None:
    gateway = start_gateway(PAYMENTS_INBOX_MAX_ATTEMPTS=2, PAYMENTS_INBOX_RETRY_SECONDS=0.05)
    for path, _ in CALLBACKS:
        for body in GARBAGE:
            answer = gateway.callback(path, body)
            assert answer.status_code == 200, (path, body[:40], answer.status_code, answer.text)
            assert answer.json()["ResultCode"] in {0, "C2B00013", "C2B00016"}, (path, body[:40])
    rows = gateway.wait_inbox(len(CALLBACKS) * len(GARBAGE), timeout=60)
    # Nothing crashed a handler (that would be parked) and nothing garbage was applied.
    assert {r["status"] for r in rows} <= {"flagged", "open"}
    assert gateway.events(type_="PaymentReceived") == []
