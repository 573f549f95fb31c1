"""The staff API refuses bad input at the edge: dates are ISO text in sane years, text holds no
control characters, a statement's unreadable rows are reported and never recorded."""

from __future__ import annotations

from payments_harness import Gateway

from hazina_payments_gateway.bootstrap import build_app
from hazina_servicekit.inputs import unchecked_inputs

# The Daraja callback ingress stores every body raw and judges it with its own parsers
# (adapters/daraja/callbacks.py), answering Daraja the way it expects.
NOT_AUDITED_HERE = ("/api/pay/", "/api/mpesa/")


def test_every_staff_route_takes_only_checked_text_and_dates(gateway: Gateway) -> None:
    app = build_app(gateway.container, verifier=gateway.staff.verifier())
    assert unchecked_inputs(app, skip_path_prefixes=NOT_AUDITED_HERE) == []


def test_a_reconciliation_day_is_an_iso_date_in_a_sane_year(gateway: Gateway) -> None:
    for bad in ("0", "1700000000", "0713-01-01", "2025-13-01", "01/02/2025"):
        response = gateway.get("/api/payments/reconciliation", params={"date": bad})
        assert response.status_code == 400, (bad, response.text)
        assert response.json()["message"].startswith("date: ")
    assert gateway.get("/api/payments/reconciliation?date=2025-02-01").status_code == 200


def test_a_pull_window_outside_sane_years_is_a_400_not_a_503(gateway: Gateway) -> None:
    for body, field in [
        ({"end": "0713-01-02T00:00:00Z", "start": "0713-01-01T00:00:00Z"}, "start"),
        ({"end": "0713-01-02T00:00:00Z"}, "end"),
        ({"start": 0}, "start"),
        ({"end": "1700000000"}, "end"),
        ({"end": "2025-02-01T10:00:00"}, "end"),  # no offset: not an instant
    ]:
        response = gateway.post("/api/payments/reconciliation/pull", json=body)
        assert response.status_code == 400, (body, response.text)
        assert response.json()["message"].startswith(f"{field}: "), response.json()["message"]
    assert gateway.events(type_="PaymentReceived") == []


def test_a_nul_in_a_list_filter_is_a_400(gateway: Gateway) -> None:
    response = gateway.get("/api/payments/disbursements?status=%00pending")
    assert response.status_code == 400, response.text
    assert response.json()["message"].startswith("status: must not contain control characters")


HEADER = (
    "Receipt No.,Completion Time,Initiation Time,Details,Transaction Status,Paid In,Withdrawn,"
    "Balance,Balance Confirmed,Reason Type,Other Party Info,Linked Transaction ID,A/C No."
)


def test_statement_rows_with_unreadable_text_or_amounts_are_reported_not_recorded(
    gateway: Gateway,
) -> None:
    rows = [
        "TEDGE00001,2025-02-01 14:30:05,2025-02-01 14:30:05,Pay Bill from 2547*****678 - JANE DOE,"
        'Completed,"1,200.00",,58230.00,true,Pay Bill Online,2547*****678 - JANE DOE,,LN000123',
        "TEDGE00002,2025-02-01 15:00:00,2025-02-01 15:00:00,Pay Bill from 2547*****111 - JOHN,"
        "Completed,500.00,,58730.00,true,Pay Bill Online,2547*****111 - JOHN,,LN\x00000124",
        "TEDGE00003,2025-02-01 16:00:00,2025-02-01 16:00:00,Pay Bill from 2547*****222 - MARY,"
        "Completed,1e999999,,58730.00,true,Pay Bill Online,2547*****222 - MARY,,LN000125",
        "TEDGE00004,0713-02-01 16:00:00,0713-02-01 16:00:00,Pay Bill from 2547*****333 - ALI,"
        "Completed,100.00,,58730.00,true,Pay Bill Online,2547*****333 - ALI,,LN000126",
        "TEDGE00005,2025-02-01 17:00:00,2025-02-01 17:00:00,Pay Bill from 2547*****444 - ROSE,"
        'Completed,"1,00",,58730.00,true,Pay Bill Online,2547*****444 - ROSE,,LN000127',
    ]
    response = gateway.post(
        "/api/payments/reconciliation/statement",
        role="initiator_admin",
        content="\n".join([HEADER, *rows]).encode(),
        headers={"Content-Type": "text/csv"},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["found"], body["recorded"]) == (1, 1)
    problems = body["problems"]
    assert len(problems) == 4, problems
    assert problems[0].startswith("row 3: A/C No. contains a control character")
    assert problems[1].startswith("row 4: amount") and "exponent" in problems[1]
    assert problems[2].startswith("row 5: ") and "1900" in problems[2]
    assert problems[3].startswith("row 6: amount") and "thousands separators" in problems[3]
    received = gateway.wait_events("PaymentReceived")
    assert [(e.data["receipt"], e.data["amount_cents"]) for e in received] == [
        ("TEDGE00001", 120_000)
    ]
