"""The Fineract / Mifos X and NCBA adapters against their simulators, over real HTTP."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from collections.abc import Iterator

import httpx
import pytest

from hazina_payments_gateway.adapters.fineract import (
    FineractClient,
    FineractOk,
    FineractRejected,
    LoanSummary,
    ProductLimits,
)
from hazina_payments_gateway.adapters.ncba import (
    Balance,
    BankRejected,
    FloatPurchaseAccepted,
    FloatPurchaseStatus,
    InvalidNotificationError,
    NcbaClient,
    parse_notification,
)
from hazina_simulators import fineract, ncba
from hazina_simulators.common import RunningServer, start_in_thread

TODAY = dt.date.today()  # noqa: DTZ011 - the simulator keeps Fineract's business date in local time


@pytest.fixture(scope="module")
def fineract_sim() -> Iterator[RunningServer]:
    server = start_in_thread(fineract.create_app())
    yield server
    server.stop()


@pytest.fixture
def fineract_url(fineract_sim: RunningServer) -> str:
    httpx.post(f"{fineract_sim.url}/_control/reset")
    return f"{fineract_sim.url}/fineract-provider/api/v1"


def _client(url: str, password: str = "password", tenant: str = "default") -> FineractClient:
    return FineractClient(url, username="mifos", password=password, tenant=tenant)


def test_fineract_connection_auth_and_tenant(fineract_url: str) -> None:
    async def run() -> tuple[object, object, object]:
        good, bad, other = (
            _client(fineract_url),
            _client(fineract_url, password="nope"),
            _client(fineract_url, tenant="x"),
        )
        try:
            return await good.test_connection(), await bad.get_loan(1), await other.get_loan(1)
        finally:
            for client in (good, bad, other):
                await client.aclose()

    ok, wrong_password, wrong_tenant = asyncio.run(run())
    assert isinstance(ok, FineractOk) and ok.body["authenticated"] is True
    assert isinstance(wrong_password, FineractRejected) and wrong_password.status == 401
    assert isinstance(wrong_tenant, FineractRejected) and wrong_tenant.status == 401


def test_fineract_loan_lifecycle_and_idempotent_postings(fineract_url: str) -> None:
    async def run() -> dict[str, object]:
        client = _client(fineract_url)
        try:
            out: dict[str, object] = {}
            out["limits"] = await client.get_product_limits(1)
            out["approved_list"] = await client.list_loans(status=200)
            out["approve"] = await client.approve_loan(
                1, on=TODAY, amount_cents=2_000_000, note="scored"
            )
            out["approve_again"] = await client.approve_loan(
                1, on=TODAY
            )  # same Idempotency-Key: cached
            out["disburse"] = await client.disburse_loan(
                1, on=TODAY, amount_cents=2_000_000, mpesa_receipt="TAF1XY2ZQ9"
            )
            out["loan"] = await client.get_loan(1)
            out["repay"] = await client.post_repayment(
                1, on=TODAY, amount_cents=500_000, mpesa_receipt="TAF2K9LMNP"
            )
            out["repay_retry"] = await client.post_repayment(
                1, on=TODAY, amount_cents=500_000, mpesa_receipt="TAF2K9LMNP"
            )
            # Another client (a new process): no cache to hit, the unique externalId answers instead.
            fresh = _client(fineract_url)
            fresh.http.headers["Idempotency-Key"] = ""
            out["repay_elsewhere"] = await fresh._confirm_duplicate(
                1,
                "TAF2K9LMNP",
                await fresh._send(
                    "POST",
                    "/loans/1/transactions?command=repayment",
                    json={
                        "transactionDate": TODAY.isoformat(),
                        "transactionAmount": "5000.00",
                        "externalId": "TAF2K9LMNP",
                        "dateFormat": "yyyy-MM-dd",
                        "locale": "en",
                    },
                ),
            )
            await fresh.aclose()
            out["deposit"] = await client.post_savings_deposit(
                1, on=TODAY, amount_cents=30_000, mpesa_receipt="TAF3QWERTY"
            )
            out["not_active"] = await client.post_repayment(
                2, on=TODAY, amount_cents=100, mpesa_receipt="TAF4"
            )
            out["unsupported"] = await client._send(
                "POST",
                "/loans/2?command=approve",
                json={
                    "approvedOnDate": "2025-01-01",
                    "locale": "en",
                    "dateFormat": "yyyy-MM-dd",
                    "sqlSearch": "x",
                },
            )
            return out
        finally:
            await client.aclose()

    out = asyncio.run(run())
    limits = out["limits"]
    assert isinstance(limits, ProductLimits)
    assert (limits.min_principal_cents, limits.max_principal_cents) == (100_000, 50_000_000)
    assert [loan.loan_id for loan in out["approved_list"]] == [2]  # type: ignore[attr-defined]
    assert isinstance(out["approve"], FineractOk) and not out["approve"].served_from_cache
    assert isinstance(out["approve_again"], FineractOk) and out["approve_again"].served_from_cache
    assert isinstance(out["disburse"], FineractOk)
    loan = out["loan"]
    assert (
        isinstance(loan, LoanSummary)
        and loan.status_id == 300
        and loan.principal_cents == 2_000_000
    )
    assert isinstance(out["repay"], FineractOk) and out["repay"].resource_id is not None
    assert isinstance(out["repay_retry"], FineractOk) and out["repay_retry"].served_from_cache
    elsewhere = out["repay_elsewhere"]
    assert isinstance(elsewhere, FineractOk) and elsewhere.duplicate
    assert elsewhere.resource_id == out["repay"].resource_id  # type: ignore[union-attr]
    assert isinstance(out["deposit"], FineractOk)
    assert isinstance(out["not_active"], FineractRejected) and out["not_active"].status == 403
    unsupported = out["unsupported"]
    assert isinstance(unsupported, FineractRejected) and unsupported.status == 400
    assert unsupported.parameter == "sqlSearch"


def test_fineract_dates_come_back_as_arrays(fineract_sim: RunningServer, fineract_url: str) -> None:
    response = httpx.get(
        f"{fineract_url}/loans/2",
        auth=("mifos", "password"),
        headers={"Fineract-Platform-TenantId": "default"},
    )
    approved = response.json()["timeline"]["approvedOnDate"]
    assert isinstance(approved, list) and [type(part) for part in approved] == [int, int, int]
    # The simulator seeded the loan as approved on its start date: today, or yesterday when
    # this runs just after midnight.
    today = dt.date.today()  # noqa: DTZ011 - the simulator's business date is local time
    assert dt.date(*approved) in (today, today - dt.timedelta(days=1))
    missing_tenant = httpx.get(f"{fineract_url}/loans/2", auth=("mifos", "password"))
    assert missing_tenant.status_code == 400


@pytest.fixture(scope="module")
def ncba_sim() -> Iterator[RunningServer]:
    server = start_in_thread(
        ncba.create_app(
            ncba.NcbaConfig(
                settle_after_seconds=3600,  # settled only when the test says (no race with a slow machine)
                fail_accounts=["999"],
                balances={"1234567890": "100000.00", "999": "5.00"},
            )
        )
    )
    yield server
    server.stop()


def test_ncba_float_purchase_status_and_balance(ncba_sim: RunningServer) -> None:
    async def run() -> dict[str, object]:
        client = NcbaClient(
            ncba_sim.url,
            subscription_key="sim-subscription-key",
            user_id="sim-user",
            password="sim-password",
        )
        bad_key = NcbaClient(
            ncba_sim.url, subscription_key="wrong", user_id="sim-user", password="sim-password"
        )
        try:
            out: dict[str, object] = {}
            out["balance_before"] = await client.get_balance("1234567890")
            out["buy"] = await client.purchase_float(
                request_id="FP-2025-0001",
                amount_cents=5_000_000,
                debit_account="1234567890",
                b2c_shortcode="600981",
                narration="B2C float",
            )
            out["buy_again"] = await client.purchase_float(
                request_id="FP-2025-0001",
                amount_cents=5_000_000,
                debit_account="1234567890",
                b2c_shortcode="600981",
                narration="B2C float",
            )
            out["pending"] = await client.get_float_purchase_status("FP-2025-0001")
            async with httpx.AsyncClient() as control:
                settled = await control.post(f"{ncba_sim.url}/_control/settle/FP-2025-0001")
                assert settled.status_code == 200
            out["settled"] = await client.get_float_purchase_status("FP-2025-0001")
            out["unknown"] = await client.get_float_purchase_status("FP-NEVER")
            out["balance_after"] = await client.get_balance("1234567890")
            out["bad_account"] = await client.purchase_float(
                request_id="FP-2",
                amount_cents=100,
                debit_account="000",
                b2c_shortcode="600981",
                narration="x",
            )
            out["bad_key"] = await bad_key.purchase_float(
                request_id="FP-3",
                amount_cents=100,
                debit_account="1234567890",
                b2c_shortcode="600981",
                narration="x",
            )
            return out
        finally:
            await client.aclose()
            await bad_key.aclose()

    out = asyncio.run(run())
    assert (
        isinstance(out["balance_before"], Balance)
        and out["balance_before"].available_cents == 10_000_000
    )
    assert isinstance(out["buy"], FloatPurchaseAccepted) and not out["buy"].duplicate
    assert isinstance(out["buy_again"], FloatPurchaseAccepted) and out["buy_again"].duplicate
    assert isinstance(out["pending"], FloatPurchaseStatus) and out["pending"].state == "pending"
    assert isinstance(out["settled"], FloatPurchaseStatus) and out["settled"].state == "completed"
    assert out["settled"].bank_reference == out["buy"].bank_reference
    assert isinstance(out["unknown"], FloatPurchaseStatus) and out["unknown"].state == "not_found"
    assert (
        isinstance(out["balance_after"], Balance)
        and out["balance_after"].available_cents == 5_000_000
    )
    assert isinstance(out["bad_account"], BankRejected) and not out["bad_account"].retryable
    assert isinstance(out["bad_key"], BankRejected) and out["bad_key"].code == "not_sent"


def test_ncba_notifications_are_verified_before_they_are_believed() -> None:
    fields = {
        "TransType": "Pay Bill",
        "TransID": "taf5abcdef",
        "FTRef": "FT1",
        "TransTime": "20250201143005",
        "TransAmount": "2500.00",
        "BusinessShortCode": "880100",
        "BillRefNumber": "1234567890#partner-7",
        "Mobile": "254712345678",
        "name": "JANE",
        "Username": "sim-user",
        "Password": "sim-password",
    }
    fields["Hash"] = ncba.notification_hash("secret", fields)
    top_up = parse_notification(
        json.dumps(fields).encode(), secret="secret", username="sim-user", password="sim-password"
    )
    assert (top_up.trans_id, top_up.amount_cents, top_up.bill_ref) == (
        "TAF5ABCDEF",
        250_000,
        "1234567890#partner-7",
    )
    assert top_up.paid_at.isoformat() == "2025-02-01T14:30:05+03:00"
    tampered = {**fields, "TransAmount": "25000.00"}
    with pytest.raises(InvalidNotificationError, match="hash"):
        parse_notification(
            json.dumps(tampered).encode(),
            secret="secret",
            username="sim-user",
            password="sim-password",
        )
    with pytest.raises(InvalidNotificationError, match="credentials"):
        parse_notification(
            json.dumps(fields).encode(), secret="secret", username="x", password="sim-password"
        )
