"""Bad input never becomes an event: amounts are read by one bounded parser, text and dates are
checked at the edge, each refusal a 400 that names the field."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient

from hazina_servicekit.inputs import unchecked_inputs

BAD_AMOUNTS = [
    "1e999999",
    "1e400000",
    "1e999997",
    "1,000",
    "1e5",
    "12.345",
    " 12",
    "0x10",
    "+5",
    "NaN",
    "1" * 5000,
]


def last_event(container: Any) -> int:
    """The position of the last stored event: unchanged means nothing was written."""
    return int(container.ledger.recorder.max_notification_id() or 0)


def test_every_route_takes_only_checked_text_and_dates(client: TestClient) -> None:
    assert unchecked_inputs(client.app) == []  # type: ignore[arg-type]


@pytest.mark.parametrize("amount", BAD_AMOUNTS)
def test_a_repayment_amount_that_is_not_a_plain_decimal_is_a_400_and_writes_nothing(
    client: TestClient, container: Any, staff: Any, h: Any, clock: Any, amount: str
) -> None:
    loan_id, _ = h.open_loan(container)
    clock.set_date(dt.date(2025, 2, 1))
    before = last_event(container)
    response = client.post(
        "/api/repayments",
        json={
            "loanId": str(loan_id),
            "amount": amount,
            "paymentMethod": "cash",
            "transactionId": "EDGE1",
        },
        headers=staff.headers("initiator_admin"),
    )
    assert response.status_code == 400, response.text
    assert response.json()["message"].startswith("amount: ")
    assert last_event(container) == before


@pytest.mark.parametrize("number", ["1e999999", "-1e400000", "1e20", "12.345", "9" * 5000, "NaN"])
def test_an_amount_sent_as_a_json_number_is_held_to_the_same_rule(
    client: TestClient, container: Any, staff: Any, h: Any, number: str
) -> None:
    """A JSON number counts by its value (1E5 is 100000.0, an exact amount); one that is not an
    exact amount of cents, or is out of range, is refused like the same text."""
    loan_id, _ = h.open_loan(container)
    before = last_event(container)
    body = (
        f'{{"loanId": "{loan_id}", "amount": {number}, "paymentMethod": "cash",'
        ' "transactionId": "EDGE2"}'
    )
    response = client.post(
        "/api/repayments",
        content=body.encode(),
        headers={**staff.headers("initiator_admin"), "Content-Type": "application/json"},
    )
    assert response.status_code == 400, response.text
    assert response.json()["message"]
    assert last_event(container) == before


@pytest.mark.parametrize("amount", BAD_AMOUNTS)
def test_a_schedule_preview_amount_that_is_not_a_plain_decimal_is_a_400(
    client: TestClient, staff: Any, amount: str
) -> None:
    response = client.post(
        "/api/schedules/preview",
        json={
            "product": {"interestMethod": "flat", "interestRatePercent": "10"},
            "amount": amount,
            "term": 6,
        },
        headers=staff.headers("loan_officer"),
    )
    assert response.status_code == 400, response.text
    assert response.json()["message"].startswith("amount: ")


@pytest.mark.parametrize(
    ("product", "field"),
    [
        ({"interestRatePercent": "1e999999"}, "product.interestRatePercent"),
        ({"interestRatePercent": "10", "instalmentMultipleOf": "1e400000"}, "product."),
        ({"interestRatePercent": "10", "fees": [{"kind": "flat", "value": "1e9999"}]}, "product."),
        ({"interestRatePercent": "10", "allocation": "interest\u0000"}, "product.allocation"),
    ],
)
def test_a_schedule_preview_product_with_unreadable_numbers_is_a_400(
    client: TestClient, staff: Any, product: dict[str, Any], field: str
) -> None:
    response = client.post(
        "/api/schedules/preview",
        json={"product": {"interestMethod": "flat", **product}, "amount": 1000, "term": 6},
        headers=staff.headers("loan_officer"),
    )
    assert response.status_code == 400, response.text
    assert response.json()["message"].startswith(field), response.json()["message"]


def test_a_nul_in_a_reversal_reason_is_a_400_and_nothing_is_reversed(
    client: TestClient, container: Any, staff: Any, h: Any, clock: Any
) -> None:
    loan_id, _ = h.open_loan(container)
    clock.set_date(dt.date(2025, 2, 1))
    paid = client.post(
        "/api/repayments",
        json={
            "loanId": str(loan_id),
            "amount": 5000,
            "paymentMethod": "cash",
            "transactionId": "REVNUL1",
        },
        headers=staff.headers("initiator_admin"),
    )
    assert paid.status_code == 201, paid.text
    before = last_event(container)
    url = "/api/repayments/REVNUL1/reverse"
    approver = staff.headers("approver_admin")
    refused = client.post(url, json={"reason": "cheque\u0000 bounced"}, headers=approver)
    assert refused.status_code == 400, refused.text
    assert refused.json()["message"].startswith("reason: must not contain control characters")
    assert last_event(container) == before
    history = client.get(f"/api/repayments/{loan_id}", headers=approver).json()
    assert [r["reversed"] for r in history["repayments"]] == [False]
    # A reason may run over several lines: newlines are text, not control noise.
    done = client.post(url, json={"reason": "cheque bounced.\nBank ref 77."}, headers=approver)
    assert done.status_code == 200, done.text
    assert done.json()["loan"]["total_paid_cents"] == 0


def test_a_nul_in_a_receipt_path_is_a_400(client: TestClient, staff: Any) -> None:
    response = client.post(
        "/api/repayments/AB%00C/reverse",
        json={"reason": "duplicate"},
        headers=staff.headers("approver_admin"),
    )
    assert response.status_code == 400, response.text
    assert response.json()["message"].startswith("receipt: must not contain control characters")


@pytest.mark.parametrize(
    ("receipt", "message"),
    [
        ("QWE123ABC\n", "transactionId: must not contain control characters"),
        ("QWE 123", "transactionId: receipt number 'QWE 123' must be 1-64 letters"),
        ("   ", "transactionId: a receipt number must not be empty"),
        ("Q" * 65, "transactionId: receipt number"),
    ],
)
def test_a_transaction_id_is_read_once_at_the_edge_and_refused_there(
    client: TestClient, container: Any, staff: Any, h: Any, receipt: str, message: str
) -> None:
    loan_id, _ = h.open_loan(container)
    before = last_event(container)
    response = client.post(
        "/api/repayments",
        json={
            "loanId": str(loan_id),
            "amount": 50,
            "paymentMethod": "cash",
            "transactionId": receipt,
        },
        headers=staff.headers("initiator_admin"),
    )
    assert response.status_code == 400, response.text
    assert response.json()["message"].startswith(message), response.json()["message"]
    assert last_event(container) == before


@pytest.mark.parametrize(
    ("url", "field"),
    [
        ("/api/ledger/trial-balance?asOf=0", "asOf"),
        ("/api/ledger/trial-balance?asOf=1700000000", "asOf"),
        ("/api/ledger/trial-balance?asOf=0713-01-01", "asOf"),
        ("/api/ledger/trial-balance?asOf=2025-02-30", "asOf"),
        ("/api/ledger/accounts/1100?asOf=0", "asOf"),
        ("/api/reports/portfolio?from=0", "from"),
        ("/api/reports/portfolio?to=99999-01-01", "to"),
    ],
)
def test_a_date_in_a_query_is_iso_text_in_a_sane_year(
    client: TestClient, staff: Any, url: str, field: str
) -> None:
    response = client.get(url, headers=staff.headers("super_admin"))
    assert response.status_code == 400, response.text
    assert response.json()["message"].startswith(f"{field}: ")


def test_a_date_in_a_query_still_reads_iso_text(client: TestClient, staff: Any) -> None:
    response = client.get(
        "/api/ledger/trial-balance?asOf=2025-01-31", headers=staff.headers("super_admin")
    )
    assert response.status_code == 200, response.text
    assert response.json()["asOf"] == "2025-01-31"


@pytest.mark.parametrize("as_of", [0, "0", 1_700_000_000, "0713-01-01", True])
def test_arrears_assessment_needs_an_iso_date(
    client: TestClient, container: Any, staff: Any, as_of: Any
) -> None:
    before = last_event(container)
    response = client.post(
        "/api/ledger/arrears/assess", json={"asOf": as_of}, headers=staff.headers("super_admin")
    )
    assert response.status_code == 400, response.text
    assert response.json()["message"].startswith("asOf: ")
    assert last_event(container) == before


@pytest.mark.parametrize(
    "paid_at",
    [0, 1_700_000_000, "1700000000", "2025-01-01", "2025-01-01T10:00:00", "0713-01-01T00:00:00Z"],
)
def test_a_payment_time_is_iso_8601_with_an_offset(
    client: TestClient, container: Any, staff: Any, h: Any, paid_at: Any
) -> None:
    loan_id, _ = h.open_loan(container)
    before = last_event(container)
    response = client.post(
        "/api/repayments",
        json={
            "loanId": str(loan_id),
            "amount": 10,
            "paymentMethod": "cash",
            "transactionId": "TIME1",
            "paidAt": paid_at,
        },
        headers=staff.headers("initiator_admin"),
    )
    assert response.status_code == 400, response.text
    assert response.json()["message"].startswith("paidAt: ")
    assert last_event(container) == before


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"amountKES": "1e999999"}, "amountKES"),
        ({"amountKES": "-1,000"}, "amountKES"),
        ({"amountKES": 100, "notes": "cash\u0000"}, "notes"),
        ({"amountKES": 100, "transactionId": "MAN\u00001"}, "transactionId"),
    ],
)
def test_a_savings_adjustment_with_bad_input_is_a_400(
    client: TestClient, container: Any, staff: Any, h: Any, body: dict[str, Any], field: str
) -> None:
    client_id = uuid.uuid4()
    h.deliver(container, h.client_onboarded(client_id, national_id="23456789"))
    before = last_event(container)
    response = client.post(
        "/api/savings",
        json={"clientId": str(client_id), **body},
        headers=staff.headers("super_admin"),
    )
    assert response.status_code == 400, response.text
    assert response.json()["message"].startswith(f"{field}: "), response.json()["message"]
    assert last_event(container) == before


def test_a_signed_savings_amount_still_reads_both_ways(
    client: TestClient, container: Any, staff: Any, h: Any
) -> None:
    client_id = uuid.uuid4()
    h.deliver(container, h.client_onboarded(client_id, national_id="34567890"))
    headers = staff.headers("super_admin")
    deposit = client.post(
        "/api/savings", json={"clientId": str(client_id), "amountKES": "150.50"}, headers=headers
    )
    assert deposit.status_code == 201, deposit.text
    assert deposit.json()["balance_cents"] == 15_050
    withdraw = client.post(
        "/api/savings", json={"clientId": str(client_id), "amountKES": -50}, headers=headers
    )
    assert withdraw.status_code == 201, withdraw.text
    assert withdraw.json()["withdrawal"]["amount_cents"] == 5_000
