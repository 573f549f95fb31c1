"""Money in: C2B through the simulator's register/simulate, matched on BillRefNumber against a local
projection of origination's events; STK Push on USSD's request; payments whose callback never came,
found by Pull Transactions or an M-Pesa statement, recorded through the same idempotent path.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx
from payments_factories import client_onboarded, loan_initiated, prompt_requested
from payments_harness import Gateway, wait_until

from hazina_contracts.events import ledger, origination
from hazina_payments_gateway.application.ports import Accepted


def _register(gateway: Gateway) -> None:
    async def register() -> Any:
        return await gateway.container.daraja.register_c2b_urls()

    # The gateway's own client runs on the server's loop; a fresh one registers from here.
    from hazina_payments_gateway.adapters.daraja.client import DarajaClient
    from hazina_payments_gateway.bootstrap import daraja_settings

    async def with_fresh_client() -> Any:
        client = DarajaClient(daraja_settings(gateway.container.settings))
        try:
            return await client.register_c2b_urls()
        finally:
            await client.aclose()

    assert isinstance(asyncio.run(with_fresh_client()), Accepted)


def _pay(
    gateway: Gateway, bill_ref: str, amount: int, msisdn: str = "254708374149"
) -> httpx.Response:
    response = gateway.daraja.post(
        "/mpesa/c2b/v2/simulate",
        {
            "ShortCode": gateway.container.settings.mpesa_c2b_shortcode,
            "CommandID": "CustomerPayBillOnline",
            "Amount": amount,
            "Msisdn": msisdn,
            "BillRefNumber": bill_ref,
        },
    )
    assert response.status_code == 200, response.text
    return response


def _wait_projected(gateway: Gateway, reference: str) -> None:
    wait_until(
        lambda: gateway.container.references.match(reference).target != "unallocated",
        what=f"reference {reference} projected",
    )


def test_paybill_payments_are_matched_on_normalised_references(gateway: Gateway) -> None:
    loan = loan_initiated(account_number="LN-000777")
    client = client_onboarded(national_id="34038490")
    gateway.publish(loan, client)
    _wait_projected(gateway, "LN000777")
    _wait_projected(gateway, "34038490")
    _register(gateway)

    _pay(gateway, " ln 000-777 ", 1200)  # case, spaces and punctuation ignored
    _pay(gateway, loan.loan_id.hex.upper(), 501)  # the loan id (the seed's paybill account)
    _pay(gateway, "34-038-490", 300)  # a national id: the client's savings
    _pay(gateway, "WHO KNOWS", 50)  # nothing: unallocated, still accepted
    events = gateway.wait_events("PaymentReceived", 4)
    by_ref = {e.data["account_reference"]: e.data for e in events}
    assert by_ref[" ln 000-777 "]["target"] == "loan"
    assert by_ref[" ln 000-777 "]["loan_id"] == str(loan.loan_id)
    assert by_ref[" ln 000-777 "]["client_id"] == str(loan.client_id)
    assert by_ref[" ln 000-777 "]["amount_cents"] == 120_000
    assert by_ref[loan.loan_id.hex.upper()]["loan_id"] == str(loan.loan_id)
    assert by_ref[loan.loan_id.hex.upper()]["amount_cents"] == 50_100
    assert by_ref["34-038-490"]["target"] == "savings"
    assert by_ref["34-038-490"]["client_id"] == str(client.client_id)
    assert by_ref["34-038-490"]["loan_id"] is None
    assert by_ref["WHO KNOWS"]["target"] == "unallocated"
    # v2 registration: the MSISDN arrives masked, and is passed on exactly as sent.
    assert by_ref["WHO KNOWS"]["msisdn"] == "2547 ***** 149"
    assert all(e.data["channel"] == "c2b" for e in events)


def test_a_corrected_national_id_is_a_savings_reference_too(gateway: Gateway) -> None:
    client = client_onboarded(national_id="30111222")
    corrected = origination.ClientDetailsChanged(
        occurred_at=datetime.now(UTC),
        actor_id=uuid.uuid4(),
        client_id=client.client_id,
        group_id=None,
        name=client.name,
        national_id="30111223",
        phone=client.phone,
        changed_fields=["national_id"],
    )
    gateway.publish(client, corrected, corrected)  # delivered twice: the same reference
    _wait_projected(gateway, "30111223")
    assert gateway.container.references.match("30111223").client_id == client.client_id
    assert gateway.container.references.match("30111222").client_id == client.client_id


def test_duplicate_confirmations_from_daraja_publish_once(gateway: Gateway) -> None:
    _register(gateway)
    gateway.daraja.control("c2b", "duplicate_confirmation")
    _pay(gateway, "LN1", 100)
    rows = gateway.wait_inbox(3)  # validation + 2 confirmations
    assert sorted((r["kind"], r["outcome"]) for r in rows) == [
        ("c2b_confirmation", "duplicate"),
        ("c2b_confirmation", "recorded"),
        ("c2b_validation", "answered"),
    ]
    [received] = gateway.wait_events("PaymentReceived")
    payment = gateway.container.app.get_payment(received.data["receipt"])
    assert payment is not None and payment.version == 1  # nothing else to publish


def test_validation_can_refuse_unknown_references(start_gateway: Callable[..., Gateway]) -> None:
    gateway = start_gateway(PAYMENTS_C2B_REJECT_UNKNOWN_REFERENCES=True)
    loan = loan_initiated(account_number="LN000888")
    gateway.publish(loan)
    _wait_projected(gateway, "LN000888")
    _register(gateway)
    _pay(gateway, "LN000888", 100)
    _pay(gateway, "TYPO000888", 100)
    gateway.wait_events("PaymentReceived")
    wait_until(
        lambda: {t["status"] for t in gateway.daraja.state()["c2b"]} == {"Completed", "Rejected"}
    )
    validations = [d for d in gateway.daraja.state()["deliveries"] if d["kind"] == "c2b_validation"]
    assert sorted(d["response"]["ResultCode"] for d in validations) == ["0", "C2B00012"]
    assert len(gateway.events(type_="PaymentReceived")) == 1


def test_stk_push_on_a_repayment_prompt_records_the_payment_once(
    start_gateway: Callable[..., Gateway],
) -> None:
    gateway = start_gateway(
        MPESA_STK_SHORTCODE="600984"
    )  # prompts for the paybill the C2B URLs are on
    loan = loan_initiated(account_number="LN000999")
    gateway.publish(loan)
    _wait_projected(gateway, "LN000999")
    _register(gateway)  # so the STK payment also arrives as a C2B confirmation (the same receipt)
    prompt = prompt_requested(
        account_reference="LN000999", amount_cents=150_000, loan_id=loan.loan_id
    )
    gateway.publish(prompt)
    gateway.publish(prompt)  # delivered twice: one prompt

    received = gateway.wait_events("PaymentReceived")[0].data
    assert received["channel"] in {"stk", "c2b"}
    assert received["loan_id"] == str(loan.loan_id)
    assert received["amount_cents"] == 150_000
    state = gateway.daraja.state()
    assert len(state["stk"]) == 1
    wait_until(
        lambda: len(gateway.inbox()) >= 2 and all(r["processed_at"] for r in gateway.inbox()),
        what=lambda: gateway.inbox(),
    )
    assert {r["kind"] for r in gateway.inbox()} >= {"stk_callback", "c2b_confirmation"}
    assert len(gateway.events(type_="PaymentReceived")) == 1
    assert received["receipt"] == state["stk"][0]["receipt"]


def test_a_cancelled_stk_prompt_records_no_payment(gateway: Gateway) -> None:
    gateway.daraja.control("stk", "cancelled")
    prompt = prompt_requested()
    gateway.publish(prompt)
    wait_until(
        lambda: any(r["kind"] == "stk_callback" and r["processed_at"] for r in gateway.inbox())
    )
    assert (gateway.inbox()[0]["status"], gateway.inbox()[0]["outcome"]) == ("processed", "failed")
    assert gateway.container.app.get_prompt(prompt.prompt_id).status.value == "failed"
    assert gateway.events(type_="PaymentReceived") == []


def test_pull_transactions_finds_a_payment_whose_confirmation_never_came(gateway: Gateway) -> None:
    _register(gateway)
    gateway.daraja.control("c2b", "drop_confirmation")
    _pay(gateway, "LN000555", 700)
    wait_until(lambda: [t["status"] for t in gateway.daraja.state()["c2b"]] == ["Completed"])
    assert gateway.events(type_="PaymentReceived") == []

    assert (
        gateway.post("/api/payments/reconciliation/pull", role="loan_officer", json={}).status_code
        == 403
    )
    first = gateway.post("/api/payments/reconciliation/pull", json={})
    assert first.status_code == 200, first.text
    assert (first.json()["found"], first.json()["recorded"]) == (1, 1)
    received = gateway.wait_events("PaymentReceived")[0].data
    assert received["channel"] == "reconciliation"
    assert received["amount_cents"] == 70_000
    assert received["account_reference"] == "LN000555"
    again = gateway.post("/api/payments/reconciliation/pull", json={}).json()
    assert (again["found"], again["recorded"], again["alreadyKnown"]) == (1, 0, 1)
    bad = gateway.post(
        "/api/payments/reconciliation/pull",
        json={"start": "2025-01-01T00:00:00Z", "end": "2025-01-05T00:00:00Z"},
    )
    assert bad.status_code == 400
    # A window Daraja no longer keeps is the caller's mistake (400), not Daraja being down (503).
    long_gone = gateway.post(
        "/api/payments/reconciliation/pull",
        json={"start": "2025-01-07T06:00:00Z", "end": "2025-01-07T07:47:05Z"},
    )
    assert long_gone.status_code == 400, long_gone.text
    assert "last 48 hours" in long_gone.json()["message"]


STATEMENT = """Organization Name:,HAZINA LENDERS
Shortcode:,600984
Time Period:,01-02-2025 - 01-02-2025
Receipt No.,Completion Time,Initiation Time,Details,Transaction Status,Paid In,Withdrawn,Balance,Balance Confirmed,Reason Type,Other Party Info,Linked Transaction ID,A/C No.
TAF2K9LMNP,2025-02-01 14:30:05,2025-02-01 14:30:05,Pay Bill from 2547*****678 - JANE DOE Acc. LN000123,Completed,"1,200.00",,58230.00,true,Pay Bill Online,2547*****678 - JANE DOE,,LN000123
TAF2K9LMNQ,2025-02-01 15:00:00,2025-02-01 15:00:00,Pay Bill from 2547*****111 - JOHN Acc. 34038490,Completed,500.00,,58730.00,true,Pay Bill Online,2547*****111 - JOHN,,
TAF2K9LMNR,2025-02-01 16:00:00,2025-02-01 16:00:00,Business Payment to 2547*****222,Completed,,5000.00,53730.00,true,Business Payment,2547*****222 - MARY,,
TAF2K9LMNS,2025-02-01 17:00:00,2025-02-01 17:00:00,Pay Bill from 2547*****333 - X,Completed,abc,,53730.00,true,Pay Bill Online,2547*****333 - X,,LN1
"""


def test_a_statement_import_records_missed_payments_idempotently(gateway: Gateway) -> None:
    response = gateway.post(
        "/api/payments/reconciliation/statement",
        role="initiator_admin",
        content=STATEMENT.encode(),
        headers={"Content-Type": "text/csv"},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["found"], body["recorded"]) == (2, 2)
    assert len(body["problems"]) == 1 and "row 8" in body["problems"][0]
    events = gateway.wait_events("PaymentReceived", 2)
    by_receipt = {e.data["receipt"]: e.data for e in events}
    assert by_receipt["TAF2K9LMNP"]["amount_cents"] == 120_000
    assert by_receipt["TAF2K9LMNP"]["account_reference"] == "LN000123"
    assert by_receipt["TAF2K9LMNQ"]["account_reference"] == "34038490"  # from "Acc." in the details
    upload = gateway.http.post(
        "/api/payments/reconciliation/statement",
        headers=gateway.staff.headers("super_admin"),
        files={"file": ("statement.csv", STATEMENT.encode(), "text/csv")},
    )
    assert upload.json()["recorded"] == 0 and upload.json()["alreadyKnown"] == 2
    not_a_statement = gateway.post(
        "/api/payments/reconciliation/statement",
        content=b"hello,world\n1,2\n",
        headers={"Content-Type": "text/csv"},
    )
    assert not_a_statement.status_code == 400


def test_reconciliation_lists_rail_records_with_ledger_postings_and_flags_gaps(
    gateway: Gateway,
) -> None:
    from payments_factories import disbursement_requested

    loan = loan_initiated(account_number="LN000321")
    gateway.publish(loan)
    _wait_projected(gateway, "LN000321")
    _register(gateway)
    request = disbursement_requested(
        loan_id=loan.loan_id, client_id=loan.client_id, account_number="LN000321"
    )
    gateway.publish(request)
    completed = gateway.wait_events("DisbursementCompleted")[0].data
    _pay(gateway, "LN000321", 1000)
    _pay(gateway, "LN000321", 400)
    payments = gateway.wait_events("PaymentReceived", 2)
    posted, missing = payments[0].data, payments[1].data
    now = datetime.now(UTC)
    gateway.publish(
        ledger.LoanAccountOpened(
            occurred_at=now,
            loan_id=loan.loan_id,
            client_id=loan.client_id,
            principal_cents=request.amount_cents,
            total_interest_cents=0,
            total_fees_cents=0,
            instalments=6,
            disbursed_on=now.date(),
            maturity_on=now.date(),
        ),
        ledger.RepaymentPosted(
            occurred_at=now,
            loan_id=loan.loan_id,
            client_id=loan.client_id,
            receipt=posted["receipt"],
            amount_cents=posted["amount_cents"],
            interest_cents=0,
            principal_cents=posted["amount_cents"],
            suspense_cents=0,
            outstanding_cents=0,
            payment_method="mpesa",
        ),
        ledger.RepaymentPosted(
            occurred_at=now,
            loan_id=loan.loan_id,
            client_id=loan.client_id,
            receipt="TZZZZZZZZZ",
            amount_cents=100,
            interest_cents=0,
            principal_cents=100,
            suspense_cents=0,
            outstanding_cents=0,
            payment_method="mpesa",
        ),
    )

    def report() -> dict[str, Any]:
        response = gateway.get("/api/payments/reconciliation", role="approver_admin")
        assert response.status_code == 200, response.text
        return dict(response.json())

    body = wait_until(lambda: (r := report())["ledgerOnly"] and r, what="ledger postings consumed")
    b2c = {row["disbursementId"]: row for row in body["b2c"]}
    assert b2c[str(request.disbursement_id)]["ledgerPosting"]["amountCents"] == request.amount_cents
    assert b2c[str(request.disbursement_id)]["mpesaReceipt"] == completed["mpesa_receipt"]
    assert b2c[str(request.disbursement_id)]["flags"] == []
    c2b = {row["mpesaReceipt"]: row for row in body["c2b"]}
    assert c2b[posted["receipt"]]["flags"] == []
    assert c2b[missing["receipt"]]["flags"] == ["missing_ledger_posting"]
    assert [row["mpesaReceipt"] for row in body["ledgerOnly"]] == ["TZZZZZZZZZ"]
    assert body["summary"]["c2bReceivedCents"] == 140_000
    assert gateway.get("/api/payments/reconciliation", role="loan_officer").status_code == 403
    assert (
        gateway.get("/api/payments/reconciliation", params={"date": "2025-13-01"}).status_code
        == 400
    )
    empty = gateway.get("/api/payments/reconciliation", params={"date": "2020-01-01"}).json()
    assert empty["b2c"] == [] and empty["c2b"] == []
    assert str(uuid.UUID(body["b2c"][0]["loanId"])) == str(loan.loan_id)


def test_a_burst_is_recorded_in_one_write_and_falls_back_when_a_receipt_slipped_in(
    start_gateway: Callable[..., Gateway],
) -> None:
    from hazina_payments_gateway.application.records import IncomingPayment

    gateway = start_gateway(HAZINA_RUN_WORKERS=False)  # no projection follower: the read model lags
    app = gateway.container.app

    def paid(receipt: str, amount_cents: int = 10_000) -> IncomingPayment:
        return IncomingPayment(
            receipt=receipt,
            amount_cents=amount_cents,
            msisdn=None,
            bill_ref="X",
            paid_at=datetime.now(UTC),
            payer_name=None,
            shortcode="600984",
            channel="c2b",
        )

    def statuses(outcomes: list[Any]) -> list[str]:
        return [o.status for o in outcomes]

    assert app.record_payment(paid("TBURST0001")).recorded
    # The read model has not seen TBURST0001: the batch write is refused, then each is tried alone.
    assert statuses(
        app.record_payments([paid("TBURST0001"), paid("TBURST0002"), paid("tburst0002")])
    ) == ["duplicate", "recorded", "duplicate"]
    gateway.container.projection.catch_up()
    assert statuses(app.record_payments([paid("TBURST0002"), paid("TBURST0003")])) == [
        "duplicate",
        "recorded",
    ]
    assert app.get_payment("TBURST0003") is not None
    # Within one burst: the same receipt with another amount is a conflict, recorded once.
    assert statuses(
        app.record_payments(
            [paid("TBURST0004"), paid("TBURST0004", 20_000), paid("TBURST0004", 20_000)]
        )
    ) == ["recorded", "conflict", "duplicate_conflict"]
    payment = app.get_payment("TBURST0004")
    assert payment is not None and payment.amount_cents == 10_000 and payment.version == 2
