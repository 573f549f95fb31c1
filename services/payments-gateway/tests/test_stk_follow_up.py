"""An STK prompt whose callback never comes is still settled: after PAYMENTS_STK_QUERY_AFTER_SECONDS
the dispatcher asks Daraja's STK Push Query; a failure is recorded as the callback would record it,
a payment is found by its receipt on the STK shortcode (Pull Transactions) and recorded once, and
what no query settles is left ``unknown`` for the C2B confirmation, a pull or a late callback.
A late real callback never doubles anything.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from eventsourcing.application import AggregateNotFoundError
from payments_factories import loan_initiated, prompt_requested
from payments_harness import Gateway, wait_until

from hazina_payments_gateway.adapters.daraja.callbacks import parse_stk_query
from hazina_payments_gateway.application.ports import StkAccepted, StkQueryAnswer
from hazina_payments_gateway.application.records import (
    Handled,
    IncomingPayment,
    PromptRequest,
    StkCallback,
)
from hazina_payments_gateway.domain.stk_prompt import StkPrompt

FAST_QUERIES = {"PAYMENTS_STK_QUERY_AFTER_SECONDS": 0.3}


def _prompt(gateway: Gateway, prompt_id: uuid.UUID) -> StkPrompt:
    return gateway.container.app.get_prompt(prompt_id)


def _prompt_if_any(gateway: Gateway, prompt_id: uuid.UUID) -> StkPrompt | None:
    try:
        return _prompt(gateway, prompt_id)
    except AggregateNotFoundError:  # the request is still on its way from NATS
        return None


def _wait_prompt(
    gateway: Gateway, prompt_id: uuid.UUID, check: Callable[[StkPrompt], bool], what: str
) -> StkPrompt:
    return wait_until(
        lambda: (p := _prompt_if_any(gateway, prompt_id)) and check(p) and p,
        timeout=20,
        what=lambda: f"{what}; prompt is {vars(_prompt_if_any(gateway, prompt_id) or object())}",
    )


def _sent(gateway: Gateway, prompt_id: uuid.UUID) -> str:
    prompt = _wait_prompt(
        gateway, prompt_id, lambda p: p.checkout_request_id is not None, "the prompt sent"
    )
    assert prompt.checkout_request_id is not None
    return prompt.checkout_request_id


def _customer_acts(gateway: Gateway, checkout: str) -> None:
    answer = httpx.post(f"{gateway.daraja.url}/_control/stk/{checkout}/act", timeout=5)
    assert answer.status_code == 200, answer.text


def _late_callback(checkout: str, code: int, receipt: str | None = None) -> dict[str, Any]:
    callback: dict[str, Any] = {
        "MerchantRequestID": "29115-34620561-1",
        "CheckoutRequestID": checkout,
        "ResultCode": code,
        "ResultDesc": "late",
    }
    if receipt:
        callback["CallbackMetadata"] = {
            "Item": [
                {"Name": "Amount", "Value": 1500.00},
                {"Name": "MpesaReceiptNumber", "Value": receipt},
                {"Name": "Balance"},
                {"Name": "TransactionDate", "Value": 20250115104207},
                {"Name": "PhoneNumber", "Value": 254712345678},
            ]
        }
    return {"Body": {"stkCallback": callback}}


def _stk_callbacks_sent(gateway: Gateway) -> int:
    return sum(1 for d in gateway.daraja.state()["deliveries"] if d["kind"] == "stk_callback")


def test_a_failed_prompt_whose_callback_never_came_is_settled_by_the_query(
    start_gateway: Callable[..., Gateway],
) -> None:
    gateway = start_gateway(**FAST_QUERIES)
    gateway.daraja.control("stk", "no_callback")  # the phone was unreachable; nobody calls back
    prompt = prompt_requested()
    gateway.publish(prompt)
    checkout = _sent(gateway, prompt.prompt_id)

    failed = _wait_prompt(
        gateway, prompt.prompt_id, lambda p: p.status.value == "failed", "the query's failure"
    )
    assert (failed.result_code, failed.receipt) == ("1037", None)
    assert _stk_callbacks_sent(gateway) == 0

    # The real callback arrives after all, twice: it changes nothing and records no payment.
    for _ in range(2):
        answer = gateway.callback("stk/callback", _late_callback(checkout, 1037))
        assert answer.status_code == 200
    rows = gateway.wait_inbox(2)
    assert [(r["status"], r["outcome"]) for r in rows] == [("processed", "failed")] * 2
    assert _prompt(gateway, prompt.prompt_id).version == failed.version
    assert gateway.events(type_="PaymentReceived") == []


def test_a_paid_prompt_whose_callback_never_came_is_recorded_once_by_its_receipt(
    start_gateway: Callable[..., Gateway],
) -> None:
    gateway = start_gateway(**FAST_QUERIES, PAYMENTS_STK_QUERY_ATTEMPTS=50)
    loan = loan_initiated(account_number="LN000999")
    gateway.publish(loan)
    wait_until(
        lambda: gateway.container.references.match("LN000999").loan_id == loan.loan_id,
        what="the loan's reference projected",
    )
    # The customer takes as long as the test says, then pays; Daraja tells nobody.
    gateway.daraja.control("stk", "paid_no_callback", delay_seconds=3600)
    prompt = prompt_requested(
        account_reference="LN000999", amount_cents=150_000, loan_id=loan.loan_id
    )
    gateway.publish(prompt)
    checkout = _sent(gateway, prompt.prompt_id)

    # While the customer has not answered, the query says "being processed": asked again later.
    asked = _wait_prompt(gateway, prompt.prompt_id, lambda p: p.queries >= 1, "a pending answer")
    assert asked.status.value == "sent" and "being processed" in str(asked.result_description)
    assert gateway.events(type_="PaymentReceived") == []

    _customer_acts(gateway, checkout)  # enters the PIN now

    paid = _wait_prompt(gateway, prompt.prompt_id, lambda p: p.status.value == "paid", "paid")
    [stk] = gateway.daraja.state()["stk"]
    assert paid.receipt == stk["receipt"] and paid.result_code == "0"
    [received] = gateway.wait_events("PaymentReceived")
    assert received.data["receipt"] == stk["receipt"]
    assert received.data["channel"] == "stk"
    assert received.data["amount_cents"] == 150_000
    assert received.data["loan_id"] == str(loan.loan_id)
    assert _stk_callbacks_sent(gateway) == 0

    # The real callback turns up late, twice: duplicates, nothing published again.
    for _ in range(2):
        late = gateway.callback("stk/callback", _late_callback(checkout, 0, stk["receipt"]))
        assert late.status_code == 200
    rows = gateway.wait_inbox(2)
    assert [(r["status"], r["outcome"]) for r in rows] == [("processed", "duplicate")] * 2
    assert len(gateway.events(type_="PaymentReceived")) == 1
    assert _prompt(gateway, prompt.prompt_id).version == paid.version


def test_a_prompt_no_query_settles_is_left_unknown_and_its_late_callback_still_counts(
    start_gateway: Callable[..., Gateway],
) -> None:
    gateway = start_gateway(**FAST_QUERIES, PAYMENTS_STK_QUERY_ATTEMPTS=2)
    gateway.daraja.control("stk", "success", delay_seconds=3600)
    prompt = prompt_requested(amount_cents=150_000)
    gateway.publish(prompt)
    checkout = _sent(gateway, prompt.prompt_id)

    unknown = _wait_prompt(
        gateway, prompt.prompt_id, lambda p: p.status.value == "unknown", "given up"
    )
    assert unknown.queries == 1  # the second unsettled answer gave up instead of noting it
    assert "2 STK queries did not settle it" in str(unknown.result_description)

    # The customer pays at last and Daraja calls back: the payment is recorded once.
    _customer_acts(gateway, checkout)
    [received] = gateway.wait_events("PaymentReceived")
    assert received.data["amount_cents"] == 150_000 and received.data["channel"] == "stk"
    _wait_prompt(gateway, prompt.prompt_id, lambda p: p.status.value == "paid", "paid")


def test_a_paid_answer_takes_the_one_fitting_payment_no_other_prompt_has(
    start_gateway: Callable[..., Gateway],
) -> None:
    """Driven through the application (no dispatcher): which pulled payment settles which prompt."""
    gateway = start_gateway(HAZINA_RUN_WORKERS=False)
    app = gateway.container.app

    def sent_prompt(checkout: str) -> uuid.UUID:
        prompt_id = uuid.uuid4()
        app.request_prompt(
            PromptRequest(
                prompt_id=prompt_id,
                phone="254712345678",
                amount_cents=150_000,
                account_reference="LN000123",
                loan_id=None,
                correlation_id=None,
            )
        )
        assert app.begin_prompt(prompt_id) is not None
        app.record_prompt_result(prompt_id, StkAccepted(checkout, "m-1"))
        return prompt_id

    def pulled(receipt: str, **changes: Any) -> IncomingPayment:
        values: dict[str, Any] = {
            "receipt": receipt,
            "amount_cents": 150_000,
            "msisdn": "254712345678",
            "bill_ref": "LN000123",
            "paid_at": datetime.now(UTC),
            "payer_name": "JANE",
            "shortcode": "174379",
            "channel": "reconciliation",
        }
        return IncomingPayment(**{**values, **changes})

    paid = StkQueryAnswer("done", result_code="0", description="processed")
    first, second, third = (sent_prompt(f"ws_CO_{n}") for n in range(3))
    gateway.container.projection.catch_up()
    elsewhere = [
        pulled("TOTHER0001", amount_cents=100_000),
        pulled("TOTHER0002", bill_ref="LN000124"),
        pulled("TOTHER0003", msisdn="254700000001"),
        pulled("TOTHER0004", paid_at=datetime.now(UTC) - timedelta(hours=1)),
    ]

    # Two payments fit and nothing tells them apart: both recorded, the prompt left unknown.
    fits = [pulled("TFIT000001"), pulled("TFIT000002")]
    assert app.record_prompt_query(first, paid, [*elsewhere, *fits]) == "unknown"
    assert app.get_prompt(first).status.value == "unknown"
    assert all(app.get_payment(r.receipt) is not None for r in fits)
    assert all(app.get_payment(r.receipt) is None for r in elsewhere)

    # One of them paid the second prompt (its callback came): the third takes the other.
    late = StkCallback("ws_CO_1", "m-1", "0", "ok", "TFIT000002", 150_000, "254712345678", None)
    assert app.apply_stk_callback(late) == Handled("duplicate")
    gateway.container.projection.catch_up()
    assert app.record_prompt_query(third, paid, [*elsewhere, *fits]) == "paid"
    assert app.get_prompt(third).receipt == "TFIT000001"
    assert app.record_prompt_query(third, paid, fits) == "settled"

    # Unsettled answers are noted once per round, however many replicas asked.
    fourth = sent_prompt("ws_CO_4")
    pending = StkQueryAnswer("pending", description="The transaction is being processed")
    assert app.record_prompt_query(fourth, pending, []) == "asked_again"
    version = app.get_prompt(fourth).version
    assert app.record_prompt_query(fourth, pending, []) == "asked_again"
    assert app.get_prompt(fourth).version == version and app.get_prompt(fourth).queries == 1
    assert app.get_prompt(second).status.value == "paid"


def test_the_stk_query_answer_is_read_strictly() -> None:
    pending = parse_stk_query(
        500,
        b'{"requestId":"1","errorCode":"500.001.1001",'
        b'"errorMessage":"The transaction is being processed"}',
    )
    assert pending.state == "pending"
    done = parse_stk_query(
        200,
        b'{"ResponseCode":"0","CheckoutRequestID":"ws_CO_1","ResultCode":"1032",'
        b'"ResultDesc":"Request cancelled by user"}',
    )
    assert (done.state, done.result_code, done.description) == (
        "done",
        "1032",
        "Request cancelled by user",
    )
    assert parse_stk_query(200, b'{"ResultCode":0,"ResultDesc":"ok"}').result_code == "0"
    for status, body in [
        (200, b'{"ResultCode":"0","ResultDesc":"bad\\u0000"}'),
        (200, b"not json"),
        (200, b'{"ResultCode":{"x":1}}'),
        (500, b'{"errorCode":"500.001.1001","errorMessage":"The transaction is not found"}'),
        (502, b""),
    ]:
        assert parse_stk_query(status, body).state == "unknown", body
