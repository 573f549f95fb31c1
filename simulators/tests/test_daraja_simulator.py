"""The Daraja simulator speaks Daraja's wire format, quirks included."""

from __future__ import annotations

import base64
import time
from collections.abc import Callable, Iterator

import httpx
import pytest

from hazina_simulators.common import RunningServer, start_in_thread
from hazina_simulators.daraja import SANDBOX_STK_PASSKEY, DarajaConfig, create_app


@pytest.fixture(scope="module")
def server() -> Iterator[RunningServer]:
    running = start_in_thread(
        create_app(DarajaConfig(callback_delay_seconds=0.0, stk_pending_seconds=0.2))
    )
    yield running
    running.stop()


@pytest.fixture
def token(server: RunningServer) -> str:
    httpx.post(f"{server.url}/_control/reset")
    response = httpx.get(
        f"{server.url}/oauth/v1/generate",
        params={"grant_type": "client_credentials"},
        auth=("sim-consumer-key", "sim-consumer-secret"),
    )
    assert response.status_code == 200
    assert response.json()["expires_in"] == "3599"
    return str(response.json()["access_token"])


def _poll(
    ask: Callable[[], httpx.Response],
    done: Callable[[httpx.Response], bool],
    *,
    timeout: float = 10.0,
) -> httpx.Response:
    """Ask until the answer is what is awaited, within a generous deadline (never a fixed sleep)."""
    deadline = time.monotonic() + timeout
    while True:
        response = ask()
        if done(response):
            return response
        if time.monotonic() > deadline:
            raise AssertionError(f"still {response.status_code} {response.text} after {timeout}s")
        time.sleep(0.02)


def _post(server: RunningServer, token: str, path: str, body: dict[str, object]) -> httpx.Response:
    return httpx.post(
        f"{server.url}{path}", json=body, headers={"Authorization": f"Bearer {token}"}
    )


def test_oauth_errors_use_darajas_codes(server: RunningServer) -> None:
    url = f"{server.url}/oauth/v1/generate"
    assert (
        httpx.get(url, params={"grant_type": "client_credentials"}).json()["errorCode"]
        == "400.008.01"
    )
    assert (
        httpx.get(
            url, params={"grant_type": "password"}, auth=("sim-consumer-key", "sim-consumer-secret")
        ).json()["errorCode"]
        == "400.008.02"
    )
    httpx.post(f"{server.url}/_control/oauth", json={"outcome": "server_error"})
    assert (
        httpx.get(
            url,
            params={"grant_type": "client_credentials"},
            auth=("sim-consumer-key", "sim-consumer-secret"),
        ).status_code
        == 500
    )


B2C = {
    "OriginatorConversationID": "dsb-1",
    "InitiatorName": "testapi",
    "SecurityCredential": "x",
    "CommandID": "BusinessPayment",
    "Amount": "5000",
    "PartyA": "600981",
    "PartyB": "254712345678",
    "Remarks": "Loan",
    "QueueTimeOutURL": "http://127.0.0.1:9/t",
    "ResultURL": "http://127.0.0.1:9/r",
}


def test_b2c_checks_token_fields_and_duplicate_ids(server: RunningServer, token: str) -> None:
    assert (
        _post(server, "wrong", "/mpesa/b2c/v3/paymentrequest", B2C).json()["errorCode"]
        == "404.001.03"
    )
    missing = _post(server, token, "/mpesa/b2c/v3/paymentrequest", {**B2C, "PartyA": ""})
    assert missing.status_code == 400
    assert missing.json()["errorMessage"] == "Bad Request - Invalid PartyA"
    first = _post(server, token, "/mpesa/b2c/v3/paymentrequest", B2C)
    assert first.json()["ResponseCode"] == "0"
    assert first.json()["OriginatorConversationID"] == "dsb-1"
    again = _post(server, token, "/mpesa/b2c/v3/paymentrequest", B2C)
    assert again.status_code == 500
    assert again.json() | {"requestId": None} == {
        "requestId": None,
        "errorCode": "500.002.1001",
        "errorMessage": "Duplicate OriginatorConversationID",
    }
    no_json = httpx.post(
        f"{server.url}/mpesa/b2c/v3/paymentrequest",
        content=b"x",
        headers={"Authorization": f"Bearer {token}", "Content-Type": "text/plain"},
    )
    assert no_json.json()["errorCode"] == "400.002.02"


def test_c2b_register_reproduces_the_typo_and_refuses_forbidden_urls(
    server: RunningServer, token: str
) -> None:
    ok = _post(
        server,
        token,
        "/mpesa/c2b/v2/registerurl",
        {
            "ShortCode": "600984",
            "ResponseType": "Completed",
            "ConfirmationURL": "http://127.0.0.1:9/api/pay/c",
            "ValidationURL": "http://127.0.0.1:9/api/pay/v",
        },
    )
    assert "OriginatorCoversationID" in ok.json()
    forbidden = _post(
        server,
        token,
        "/mpesa/c2b/v2/registerurl",
        {
            "ShortCode": "600984",
            "ResponseType": "Completed",
            "ConfirmationURL": "http://x/api/mpesa/c",
        },
    )
    assert forbidden.status_code == 400
    bad_type = _post(
        server,
        token,
        "/mpesa/c2b/v2/registerurl",
        {"ShortCode": "600984", "ResponseType": "completed", "ConfirmationURL": "http://x/c"},
    )
    assert bad_type.status_code == 400


def test_stk_query_says_being_processed_until_the_customer_acts(
    server: RunningServer, token: str
) -> None:
    timestamp = "20250115104207"
    password = base64.b64encode(f"174379{SANDBOX_STK_PASSKEY}{timestamp}".encode()).decode()
    # The customer takes as long as the test says: pending until told to act, however slow the machine.
    httpx.post(
        f"{server.url}/_control/stk", json={"outcome": "success", "delay_seconds": 3600}
    ).raise_for_status()
    push = _post(
        server,
        token,
        "/mpesa/stkpush/v1/processrequest",
        {
            "BusinessShortCode": "174379",
            "Password": password,
            "Timestamp": timestamp,
            "TransactionType": "CustomerPayBillOnline",
            "Amount": "10",
            "PartyA": "254708374149",
            "PartyB": "174379",
            "PhoneNumber": "254708374149",
            "CallBackURL": "http://127.0.0.1:9/cb",
            "AccountReference": "LN1",
            "TransactionDesc": "x",
        },
    )
    assert push.json()["ResponseCode"] == "0"
    query = {
        "BusinessShortCode": "174379",
        "Password": password,
        "Timestamp": timestamp,
        "CheckoutRequestID": push.json()["CheckoutRequestID"],
    }
    pending = _post(server, token, "/mpesa/stkpushquery/v1/query", query)
    assert pending.status_code == 500
    assert pending.json()["errorMessage"] == "The transaction is being processed"
    acted = httpx.post(f"{server.url}/_control/stk/{query['CheckoutRequestID']}/act")
    assert acted.status_code == 200
    done = _poll(
        lambda: _post(server, token, "/mpesa/stkpushquery/v1/query", query),
        lambda r: r.status_code == 200,
    )
    assert done.json()["ResultCode"] == "0"
    assert httpx.post(f"{server.url}/_control/stk/ws_CO_unknown/act").status_code == 404
    wrong = _post(
        server,
        token,
        "/mpesa/stkpush/v1/processrequest",
        {
            **{k: v for k, v in query.items() if k != "CheckoutRequestID"},
            "Password": "bm9wZQ==",
            "TransactionType": "CustomerPayBillOnline",
            "Amount": "10",
            "PartyA": "254708374149",
            "PartyB": "174379",
            "PhoneNumber": "254708374149",
            "CallBackURL": "http://x/cb",
            "AccountReference": "LN1",
        },
    )
    assert wrong.json()["errorMessage"] == "Wrong credentials"


def test_unknown_outcomes_are_refused(server: RunningServer) -> None:
    response = httpx.post(f"{server.url}/_control/b2c", json={"outcome": "teleport"})
    assert response.status_code == 400
    assert "unknown outcome" in response.json()["message"]
