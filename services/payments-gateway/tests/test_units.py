"""Rules, parsers, credentials and the token cache, without the database."""

from __future__ import annotations

import asyncio
import base64
import json
import unicodedata
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from hazina_contracts.money import AmountCents
from hazina_contracts.receipts import MpesaReceipt
from hazina_payments_gateway.adapters.daraja import callbacks
from hazina_payments_gateway.adapters.daraja.auth import DarajaTokens, TokenUnavailableError
from hazina_payments_gateway.adapters.daraja.client import (
    DarajaClient,
    DarajaSettings,
    parse_pull_rows,
)
from hazina_payments_gateway.adapters.daraja.security import security_credential
from hazina_payments_gateway.adapters.inbox import safe_text
from hazina_payments_gateway.api.app import redact_callback_token
from hazina_payments_gateway.application.ports import Accepted, B2COrder, Rejected, Unknown
from hazina_payments_gateway.application.records import MalformedCallbackError
from hazina_payments_gateway.domain.disbursement import (
    Disbursement,
    DisbursementPolicy,
    DisbursementStatus,
    NextAction,
)
from hazina_payments_gateway.domain.errors import IllegalTransitionError, NotRetryableError
from hazina_payments_gateway.domain.payment import differences
from hazina_payments_gateway.domain.rules import (
    DEFAULT_B2C_TARIFF,
    B2CTariff,
    GatewayRuleError,
    check_callback_url,
    normalise_reference,
    originator_conversation_id,
    phones_agree,
    unsafe_character,
    whole_shillings,
)
from hazina_simulators import certs

NOW = datetime(2025, 1, 15, 7, 0, tzinfo=UTC)
POLICY = DisbursementPolicy(
    send_lease=timedelta(seconds=60),
    result_timeout=timedelta(minutes=5),
    status_result_timeout=timedelta(minutes=2),
)


def test_references_are_compared_without_case_spaces_or_punctuation() -> None:
    assert normalise_reference(" ln-000 123 ") == "LN000123"
    assert normalise_reference("Ln.000/123") == "LN000123"
    assert normalise_reference(None) == ""


def test_originator_conversation_ids_are_derived_short_and_distinct_per_attempt() -> None:
    disbursement_id = uuid.uuid4()
    first, second = (
        originator_conversation_id(disbursement_id, 1),
        originator_conversation_id(disbursement_id, 2),
    )
    assert first == originator_conversation_id(disbursement_id, 1)
    assert (
        first != second
        and len(first) <= 20
        and len(originator_conversation_id(disbursement_id, 99)) <= 20
    )
    assert originator_conversation_id(uuid.uuid4(), 1) != first


def test_the_tariff_charges_by_band_and_refuses_nonsense() -> None:
    tariff = B2CTariff.parse(DEFAULT_B2C_TARIFF)
    assert tariff.charge_for(5_000) == 0
    assert tariff.charge_for(150_000) == 500
    assert tariff.charge_for(150_100) == 900
    assert tariff.charge_for(25_000_000) == 1300
    with pytest.raises(GatewayRuleError):
        B2CTariff.parse([["10", "100", "0"], ["50", "200", "1"]])
    with pytest.raises(GatewayRuleError):
        B2CTariff.parse([])


def test_mpesa_moves_whole_shillings_and_refuses_forbidden_callback_words() -> None:
    assert whole_shillings(500_000) == 5000
    with pytest.raises(GatewayRuleError):
        whole_shillings(500_050)
    check_callback_url("https://gw.example.org/api/pay/b2c/result/abc123")
    for url in (
        "https://x.org/api/mpesa/b2c/result/t",
        "https://x.org/cb/QUERY/t",
        "https://safaricom.x/cb",
    ):
        with pytest.raises(GatewayRuleError):
            check_callback_url(url)


def test_the_security_credential_is_pkcs1v15_of_the_plain_password() -> None:
    pair = certs.generate()
    credential = security_credential("Safaricom999!*!", pair.certificate_pem.encode())
    assert len(credential) == 344  # 2048-bit key, base64
    key = serialization.load_pem_private_key(pair.private_key_pem.encode(), password=None)
    assert isinstance(key, rsa.RSAPrivateKey)
    assert key.decrypt(base64.b64decode(credential), padding.PKCS1v15()) == b"Safaricom999!*!"
    assert credential != security_credential(
        "Safaricom999!*!", pair.certificate_pem.encode()
    )  # random padding


def test_b2c_results_are_read_with_darajas_quirks() -> None:
    success = {
        "Result": {
            "ResultType": 0,
            "ResultCode": 0,
            "ResultDesc": "ok",
            "OriginatorConversationID": "D1-1",
            "ConversationID": "AG_1",
            "TransactionID": "TAF1XY2ZQ9",
            "ResultParameters": {
                "ResultParameter": [
                    {"Key": "TransactionAmount", "Value": 5000},
                    {"Key": "TransactionReceipt", "Value": "TAF1XY2ZQ9"},
                    {"Key": "ReceiverPartyPublicName", "Value": "254712345678 - JANE WANJIKU"},
                    {"Key": "TransactionCompletedDateTime", "Value": "15.01.2025 10:42:07"},
                ]
            },
        }
    }
    parsed = callbacks.parse_b2c_result(json.dumps(success).encode())
    assert (parsed.result_code, parsed.receipt, parsed.amount_cents) == ("0", "TAF1XY2ZQ9", 500_000)
    assert parsed.recipient_name == "JANE WANJIKU"
    assert parsed.completed_at is not None and parsed.completed_at.astimezone(UTC).hour == 7
    failure = {
        "Result": {
            "ResultType": "0",
            "ResultCode": "2040",
            "ResultDesc": "no",
            "OriginatorConversationID": "D1-1",
            "TransactionID": "SG722NMVXQ",
        }
    }
    failed = callbacks.parse_b2c_result(json.dumps(failure).encode())
    assert (
        failed.result_code == "2040" and failed.receipt is None
    )  # a failure's TransactionID is no receipt
    single = {
        "Result": {
            "ResultCode": 0,
            "ConversationID": "AG_9",
            "ResultParameters": {
                "ResultParameter": {"Key": "TransactionStatus", "Value": "Completed"}
            },
            "ReferenceData": {"ReferenceItem": {"Key": "Occasion", "Value": "D1-1"}},
        }
    }
    status = callbacks.parse_status_result(json.dumps(single).encode())
    assert (status.transaction_status, status.occasion) == ("Completed", "D1-1")
    for body in (b"[]", b"nope", b'{"Result": {"ResultCode": 0}}', b'{"Body": {}}'):
        with pytest.raises(MalformedCallbackError):
            callbacks.parse_b2c_result(body)


def test_c2b_amounts_and_times_in_both_spellings() -> None:
    base = {
        "TransID": "taf2k9lmnp",
        "TransTime": "20250201143005",
        "BillRefNumber": "LN1",
        "MSISDN": "a3f1" * 16,  # C2B v1: the SHA-256 of the number
    }
    assert (
        callbacks.parse_c2b(json.dumps({**base, "TransAmount": "1200"}).encode()).amount_cents
        == 120_000
    )
    assert (
        callbacks.parse_c2b(json.dumps({**base, "TransAmount": "1200.00"}).encode()).amount_cents
        == 120_000
    )
    assert (
        callbacks.parse_c2b(json.dumps({**base, "TransAmount": 10}).encode()).receipt
        == "TAF2K9LMNP"
    )
    with pytest.raises(MalformedCallbackError):
        callbacks.parse_c2b(json.dumps({**base, "TransAmount": "0"}).encode())
    with pytest.raises(MalformedCallbackError):
        callbacks.parse_c2b(
            json.dumps({**base, "TransAmount": "1", "TransTime": "2025-02-01"}).encode()
        )


def test_pull_rows_nested_or_flat() -> None:
    row = {
        "transactionId": "taf1xyz001",
        "trxDate": "2025-02-01T10:13:00Z",
        "msisdn": 254722000000,
        "transactiontype": "c2b-pay-bill-debit",
        "billreference": "LN1",
        "amount": "300",
    }
    assert [p.receipt for p in parse_pull_rows([[row]], shortcode="1")] == ["TAF1XYZ001"]
    assert parse_pull_rows([row], shortcode="1")[0].amount_cents == 30_000
    assert parse_pull_rows([{**row, "transactiontype": "b2c-credit"}], shortcode="1") == []
    # Unreadable rows are skipped (and logged), never turned into payments.
    for bad in ({"amount": "1e400000"}, {"billreference": "LN\x001"}, {"msisdn": "call me"}):
        assert parse_pull_rows([{**row, **bad}], shortcode="1") == []


def test_text_that_cannot_be_stored_or_read_safely_is_named() -> None:
    assert unsafe_character("LN 000-123 Jane Wanjikũ") is None
    assert unsafe_character("LN\x00123") == "U+0000"
    assert unsafe_character("tab\there") == "U+0009"
    assert unsafe_character("JANE\u202eENAJ") == "U+202E"
    assert unsafe_character("\ud800") == "U+D800"
    assert unsafe_character("JANE\x7f") == "U+007F"
    # ASCII text takes a faster path; it names exactly what the per-character rule names.
    for code in range(128):
        by_category = "Cc" if unicodedata.category(chr(code)) == "Cc" else None
        assert unsafe_character(f"ok{chr(code)}ok") == (by_category and f"U+{code:04X}")
    assert safe_text("a\x00b\nc") == "a\\x00b\\nc"
    assert len(safe_text("x" * 5000)) == 1000


def test_callback_amounts_are_read_as_daraja_writes_them() -> None:
    assert callbacks.amount_cents("1200", "A") == 120_000
    assert callbacks.amount_cents(Decimal("1200.50"), "A") == 120_050
    assert callbacks.amount_cents(10, "A") == 1_000
    assert callbacks.amount_cents(None, "A") is None
    for bad in ("1e400000", Decimal("1E+400000"), "1,000", "abc", "-5", "0", "12.345", True, 1.5):
        with pytest.raises(MalformedCallbackError) as caught:
            callbacks.amount_cents(bad, "TransAmount")
        assert caught.value.field == "TransAmount"
    with pytest.raises(MalformedCallbackError, match="more than any M-Pesa transaction"):
        callbacks.amount_cents("1000000.01", "TransAmount")


def test_deep_or_odd_json_is_unreadable_not_an_error() -> None:
    for body in (b"[" * 100_000 + b"]" * 100_000, b'{"a": NaN}', b'{"a": Infinity}', b"\xff\xfe"):
        with pytest.raises(MalformedCallbackError):
            callbacks.load_json(body)


def test_phones_agree_across_the_forms_daraja_sends() -> None:
    assert phones_agree("254712345678", "2547 ***** 678")
    assert phones_agree("0712345678", "254712345678")
    assert phones_agree("2547 ***** 678", "2547*****678")
    assert phones_agree("a3f1" * 16, "254712345678")  # a hash cannot be compared: no conflict
    assert phones_agree(None, "254712345678")
    assert not phones_agree("254712345678", "254712345679")
    assert not phones_agree("2547 ***** 678", "2547 ***** 111")
    assert not phones_agree("254712345678", "2541 ***** 678")


def test_a_full_number_is_read_as_one_msisdn_whatever_its_form() -> None:
    # Every form of one Kenyan mobile is the same person (read by hazina_contracts' Msisdn).
    for form in ("712345678", "+254712345678", "0712345678", "254712345678"):
        assert phones_agree(form, "254712345678")
        assert phones_agree(form, "2547 ***** 678")
        assert not phones_agree(form, "254712345679")
    # A full number that is not a Kenyan mobile is still compared as Daraja sent it.
    assert phones_agree("+447911123456", "447911123456")
    assert not phones_agree("447911123456", "447911123457")


def test_callbacks_hand_on_value_types_read_once() -> None:
    receipt = callbacks.required_receipt(" taf2k9lmnp ", "TransID")
    assert (receipt, type(receipt)) == ("TAF2K9LMNP", MpesaReceipt)
    amount = callbacks.required_amount("1200.00", "TransAmount")
    assert (amount, type(amount)) == (120_000, AmountCents)
    for bad in ("0", "0.00"):
        with pytest.raises(MalformedCallbackError, match="TransAmount"):
            callbacks.required_amount(bad, "TransAmount")
    with pytest.raises(MalformedCallbackError, match="is not an M-Pesa receipt"):
        callbacks.required_receipt("CASH-1", "TransID")


def test_a_repeat_differs_by_amount_phone_or_reference_not_by_how_it_was_typed() -> None:
    first = (50_000, "2547 ***** 678", "LN000123")
    assert differences(first, (50_000, "254712345678", "ln-000 123")) == ()
    assert differences(first, (90_000, "2547 ***** 111", "LN000124")) == (
        "amount KES 900.00 (first KES 500.00)",
        "phone number",
        "account reference",
    )


def _disbursement() -> Disbursement:
    return Disbursement(
        disbursement_id=uuid.uuid4(),
        loan_id=uuid.uuid4(),
        client_id=uuid.uuid4(),
        account_number="LN1",
        phone="254712345678",
        amount_cents=500_000,
        origin_attempt=1,
        at=NOW,
        correlation_id=None,
    )


def test_the_state_machine_only_moves_forward() -> None:
    d = _disbursement()
    assert d.next_action(NOW, POLICY) == NextAction.SEND
    ocid = d.start_send(NOW)
    with pytest.raises(IllegalTransitionError, match="sending"):
        d.start_send(NOW)
    assert d.next_action(NOW + timedelta(seconds=59), POLICY) is None
    assert d.next_action(NOW + timedelta(seconds=60), POLICY) == NextAction.MARK_INTERRUPTED
    assert d.record_accepted("AG_1", NOW)
    assert d.next_action(NOW + timedelta(minutes=5), POLICY) == NextAction.MARK_NO_RESULT
    assert d.record_unknown("no result", NOW + timedelta(minutes=5), POLICY)
    assert d.next_action(NOW + timedelta(minutes=5), POLICY) == NextAction.QUERY_STATUS
    assert not d.complete(
        ocid="someone-else",
        receipt="X",
        charge_cents=0,
        recipient_name=None,
        completed_at=NOW,
        source="result",
        at=NOW,
    )
    assert d.complete(
        ocid=ocid,
        receipt="TAF1",
        charge_cents=900,
        recipient_name="J",
        completed_at=NOW,
        source="status",
        at=NOW,
    )
    assert d.status == DisbursementStatus.COMPLETED
    assert not d.fail(
        ocid=ocid, result_code="1", description="late failure", source="result", at=NOW
    )
    with pytest.raises(IllegalTransitionError, match="completed"):
        d.retry(by=None, at=NOW)


def test_retry_needs_a_failure_that_retrying_can_fix() -> None:
    d = _disbursement()
    ocid = d.start_send(NOW)
    d.fail(ocid=ocid, result_code="2040", description="not a customer", source="result", at=NOW)
    with pytest.raises(NotRetryableError):
        d.retry(by=None, at=NOW)
    e = _disbursement()
    first = e.start_send(NOW)
    e.fail(ocid=first, result_code="1", description="float", source="result", at=NOW)
    second = e.retry(by=uuid.uuid4(), at=NOW)
    assert second != first and e.owns(first) and e.owns(second) and e.attempt == 2
    assert e.next_action(NOW, POLICY) == NextAction.SEND


def test_callback_tokens_never_reach_the_request_log() -> None:
    assert redact_callback_token("/api/pay/b2c/result/s3cret") == "/api/pay/b2c/result/***"
    assert (
        redact_callback_token("/api/mpesa/c2b/confirmation/s3cret")
        == "/api/mpesa/c2b/confirmation/***"
    )
    assert redact_callback_token("/api/payments/disbursements/1") == "/api/payments/disbursements/1"


def _settings(base_url: str) -> DarajaSettings:
    return DarajaSettings(
        base_url=base_url,
        consumer_key="k",
        consumer_secret="s",
        initiator_name="i",
        security_credential="c",
        b2c_shortcode="600981",
        c2b_shortcode="600984",
        stk_shortcode="174379",
        stk_passkey="p",
        callback_base_url="https://gw.example.org",
        callback_token="t",
        connect_timeout_seconds=0.5,
        read_timeout_seconds=0.5,
    )


def _transport(responses: list[httpx.Response], seen: list[httpx.Request]) -> httpx.MockTransport:
    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.path.startswith("/oauth"):
            return httpx.Response(
                200, json={"access_token": f"tok{len(seen)}", "expires_in": "3599"}
            )
        return responses.pop(0)

    return httpx.MockTransport(handle)


ORDER = B2COrder(ocid="D1-1", phone="254712345678", amount_cents=500_000, remarks="r", occasion="o")


def _pay_with(responses: list[httpx.Response]) -> tuple[object, list[httpx.Request]]:
    """The client's reading of Daraja's answers (the rail itself is simulated over HTTP elsewhere)."""
    seen: list[httpx.Request] = []

    async def run() -> object:
        http = httpx.AsyncClient(
            base_url="http://daraja.test", transport=_transport(responses, seen)
        )
        client = DarajaClient(_settings("http://daraja.test"), http=http)
        try:
            return await client.b2c_payment(ORDER)
        finally:
            await client.aclose()

    return asyncio.run(run()), seen


def test_answers_are_typed_and_only_a_refused_token_is_retried() -> None:
    ok, _ = _pay_with([httpx.Response(200, json={"ResponseCode": "0", "ConversationID": "AG_1"})])
    assert isinstance(ok, Accepted) and ok.conversation_id == "AG_1"
    dup, _ = _pay_with(
        [
            httpx.Response(
                500,
                json={
                    "errorCode": "500.002.1001",
                    "errorMessage": "Duplicate OriginatorConversationID",
                },
            )
        ]
    )
    assert isinstance(dup, Accepted) and dup.duplicate
    bad, _ = _pay_with(
        [
            httpx.Response(
                400,
                json={"errorCode": "400.002.02", "errorMessage": "Bad Request - Invalid Amount"},
            )
        ]
    )
    assert isinstance(bad, Rejected) and not bad.retryable and not bad.never_sent
    busy, _ = _pay_with(
        [httpx.Response(500, json={"errorCode": "500.003.02", "errorMessage": "Spike Arrest"})]
    )
    assert isinstance(busy, Rejected) and busy.never_sent
    broken, _ = _pay_with(
        [httpx.Response(500, json={"errorCode": "500.003.1001", "errorMessage": "Internal"})]
    )
    assert isinstance(broken, Unknown)
    garbled, _ = _pay_with([httpx.Response(200, text="<html>")])
    assert isinstance(garbled, Unknown)
    refreshed, seen = _pay_with(
        [
            httpx.Response(
                404, json={"errorCode": "404.001.03", "errorMessage": "Invalid Access Token"}
            ),
            httpx.Response(200, json={"ResponseCode": "0", "ConversationID": "AG_2"}),
        ]
    )
    assert isinstance(refreshed, Accepted)
    posts = [r for r in seen if r.method == "POST"]
    assert (
        len(posts) == 2 and posts[0].headers["authorization"] != posts[1].headers["authorization"]
    )


def test_a_connection_refused_is_never_sent_and_a_read_timeout_is_unknown() -> None:
    async def run() -> tuple[object, object]:
        refused = DarajaClient(_settings("http://127.0.0.1:9"))

        def slow(request: httpx.Request) -> httpx.Response:
            if request.url.path.startswith("/oauth"):
                return httpx.Response(200, json={"access_token": "t", "expires_in": 3599})
            raise httpx.ReadTimeout("read timed out", request=request)

        timing_out = DarajaClient(
            _settings("http://daraja.test"),
            http=httpx.AsyncClient(
                base_url="http://daraja.test", transport=httpx.MockTransport(slow)
            ),
        )
        try:
            return await refused.b2c_payment(ORDER), await timing_out.b2c_payment(ORDER)
        finally:
            await refused.aclose()
            await timing_out.aclose()

    refused, timed_out = asyncio.run(run())
    assert isinstance(refused, Rejected) and refused.never_sent
    assert isinstance(timed_out, Unknown)


def test_concurrent_callers_share_one_token_refresh_and_refresh_before_expiry() -> None:
    now = [1000.0]
    calls: list[int] = []

    async def handle(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        await asyncio.sleep(0.05)  # a slow Daraja: every waiting caller must reuse this one fetch
        return httpx.Response(200, json={"access_token": f"t{len(calls)}", "expires_in": "3599"})

    async def run() -> list[str]:
        http = httpx.AsyncClient(
            base_url="http://daraja.test", transport=httpx.MockTransport(handle)
        )
        tokens = DarajaTokens(http, consumer_key="k", consumer_secret="s", clock=lambda: now[0])
        first = await asyncio.gather(*(tokens.token() for _ in range(20)))
        now[0] += 3599 - 61  # still fresh a minute before expiry
        second = await tokens.token()
        now[0] += 2  # inside the refresh margin
        third = await tokens.token()
        await http.aclose()
        return [*set(first), second, third]

    assert asyncio.run(run()) == ["t1", "t1", "t2"]
    assert len(calls) == 2


def test_a_token_fetch_failure_is_typed() -> None:
    async def run() -> None:
        http = httpx.AsyncClient(
            base_url="http://daraja.test",
            transport=httpx.MockTransport(
                lambda _request: httpx.Response(503, json={"errorCode": "500.003.1001"})
            ),
        )
        tokens = DarajaTokens(http, consumer_key="k", consumer_secret="s")
        try:
            with pytest.raises(TokenUnavailableError, match="503"):
                await tokens.token()
        finally:
            await http.aclose()

    asyncio.run(run())
