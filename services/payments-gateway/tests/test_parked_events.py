"""An event the gateway's read models cannot apply is parked: the gateway starts, reads answer,
and finance staff retry or skip it through ``/api/payments/parked``."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from payments_harness import Gateway, wait_until

from hazina_payments_gateway.application.records import IncomingPayment
from hazina_servicekit.faults import read_model_bug
from hazina_servicekit.parking import ParkedEvent

PARKED = "/api/payments/parked"


def payment(receipt: str, payer_name: str = "JANE WANJIKU") -> IncomingPayment:
    return IncomingPayment(
        receipt=receipt,
        amount_cents=150_000,
        msisdn="254712345678",
        bill_ref="LN000123",
        paid_at=datetime.now(UTC),
        payer_name=payer_name,
        shortcode="600984",
        channel="c2b",
    )


def received(gateway: Gateway, receipt: str) -> bool:
    with gateway.container.pool.connection() as conn:
        row = conn.execute("SELECT 1 FROM payments_received WHERE receipt = %s", (receipt,))
        return row.fetchone() is not None


def parked(gateway: Gateway, status: str = "parked") -> list[dict[str, Any]]:
    response = gateway.get(f"{PARKED}?status={status}", role="initiator_admin")
    assert response.status_code == 200, response.text
    return list(response.json())


def test_the_gateway_starts_and_answers_with_an_unappliable_payment_in_its_store(
    start_gateway: Callable[..., Gateway],
) -> None:
    first = start_gateway()
    # Bypasses the callback parser, as an older release could have stored it.
    assert first.container.app.record_payment(payment("NUL0000001", "JANE\x00 WANJIKU"))
    first.stop()

    gateway = start_gateway()  # a restart: used to fail here, forever
    assert gateway.get("/api/payments/disbursements").status_code == 200
    (row,) = parked(gateway)
    assert row["source"] == "gateway" and row["topic"].endswith("Payment.Received")
    # PostgreSQL refuses the NUL (its rows are sent in binary, so the server, not psycopg, finds it).
    assert row["errorType"] == "CharacterNotInRepertoire"
    assert gateway.get(PARKED, role="loan_officer").status_code == 403

    assert gateway.container.app.record_payment(payment("OK00000001"))
    wait_until(lambda: received(gateway, "OK00000001"), what="a later payment applied")

    skip = f"{PARKED}/{row['_id']}/skip"
    refused = gateway.post(skip, role="initiator_admin", json={"reason": "x"})
    assert refused.status_code == 403
    done = gateway.post(skip, role="approver_admin", json={"reason": "test payment, refunded"})
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "skipped"
    again = gateway.post(skip, role="approver_admin", json={"reason": "again"})
    assert again.status_code == 409 and again.json()["code"] == "already_skipped"
    assert parked(gateway) == []
    record = gateway.container.app.repository.get(row["_id"])
    assert isinstance(record, ParkedEvent) and (record.status, record.version) == ("skipped", 2)


def test_a_retry_after_the_fix_applies_the_payment(gateway: Gateway) -> None:
    # A bug in the read model, fixed below (the deploy of a fix).
    fix = read_model_bug(
        gateway.container.pool, table="payments_received", column="receipt", value="BUGX000001"
    )
    assert gateway.container.app.record_payment(payment("BUGX000001"))
    (row,) = wait_until(lambda: parked(gateway), what="the payment parked")
    retry = f"{PARKED}/{row['_id']}/retry"
    still = gateway.post(retry, role="approver_admin")
    assert still.status_code == 409 and "read model bug" in still.json()["message"]
    fix()
    done = gateway.post(retry, role="super_admin")
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "retried"
    assert received(gateway, "BUGX000001")
    twice = gateway.post(retry, role="super_admin")
    assert twice.status_code == 409 and twice.json()["code"] == "already_retried"
