"""Disbursement by B2C v3 end to end against the Daraja simulator: one payment per id, ever."""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import Callable

from payments_factories import disbursement_requested
from payments_harness import Gateway, wait_until

from hazina_payments_gateway.adapters.daraja.client import DarajaClient
from hazina_payments_gateway.application.dispatcher import Dispatcher
from hazina_payments_gateway.bootstrap import daraja_settings
from hazina_payments_gateway.domain.rules import originator_conversation_id


def test_a_requested_disbursement_is_paid_once_and_completed(gateway: Gateway) -> None:
    request = disbursement_requested(amount_cents=500_000)
    gateway.publish(request)

    completed = gateway.wait_events("DisbursementCompleted")
    state = gateway.daraja.state()
    assert len(state["b2c_requests"]) == 1
    sent = state["b2c_requests"][0]
    assert sent["ocid"] == originator_conversation_id(request.disbursement_id, 1)
    assert len(sent["ocid"]) <= 20
    assert sent["amount"] == "5000" and sent["party_b"] == "254712345678"
    data = completed[0].data
    assert data["disbursement_id"] == str(request.disbursement_id)
    assert data["loan_id"] == str(request.loan_id)
    assert data["amount_cents"] == 500_000
    assert data["charge_cents"] == 900  # the configured tariff's 1,501-5,000 band
    assert data["recipient_name"] == "JANE WANJIKU"
    assert data["mpesa_receipt"] == state["b2c"][0]["receipt"]

    view = gateway.wait_status(request.disbursement_id, "completed")
    assert view["mpesaReceipt"] == data["mpesa_receipt"]
    assert view["phone"] == "254****678"
    assert view["originatorConversationId"] == sent["ocid"]


def test_the_same_request_delivered_five_times_concurrently_sends_one_b2c(gateway: Gateway) -> None:
    request = disbursement_requested()
    # Five deliveries of the same event (one event id) and five re-publications (new event ids).
    gateway.publish(*([request] * 5), event_id=uuid.uuid4())
    gateway.publish(*([request] * 5))
    # And five concurrent callers in this process, racing the consumer.
    barrier = threading.Barrier(5)

    def deliver() -> None:
        barrier.wait()
        from hazina_payments_gateway.application.records import DisbursementRequest

        gateway.container.app.request_disbursement(
            DisbursementRequest(
                disbursement_id=request.disbursement_id,
                loan_id=request.loan_id,
                client_id=request.client_id,
                account_number=request.account_number,
                phone=request.phone,
                amount_cents=request.amount_cents,
                origin_attempt=1,
                correlation_id=None,
            )
        )

    threads = [threading.Thread(target=deliver) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # Five more dispatchers (as in five replicas) racing for the send.
    container = gateway.container

    async def race() -> None:
        clients = [DarajaClient(daraja_settings(container.settings)) for _ in range(5)]
        dispatchers = [
            Dispatcher(container.app, c, container.index, refresh=container.projection.catch_up)
            for c in clients
        ]
        await asyncio.gather(*(d.round() for d in dispatchers))
        for client in clients:
            await client.aclose()

    asyncio.run(race())
    gateway.wait_events("DisbursementCompleted")
    wait_until(lambda: gateway.disbursement(request.disbursement_id)["status"] == "completed")
    state = gateway.daraja.state()
    assert len(state["b2c_requests"]) == 1, state["b2c_requests"]
    assert len(gateway.events(type_="DisbursementCompleted")) == 1


def test_a_failed_disbursement_is_published_and_can_be_retried_by_staff(gateway: Gateway) -> None:
    gateway.daraja.control("b2c", "insufficient_funds")
    request = disbursement_requested()
    gateway.publish(request)

    failed = gateway.wait_events("DisbursementFailed")[0].data
    assert failed["result_code"] == "1"
    assert "insufficient" in failed["result_description"].lower()
    assert failed["retryable"] is True
    view = gateway.wait_status(request.disbursement_id, "failed")

    # A loan officer may not retry; only super_admin / approver_admin may.
    path = f"/api/payments/disbursements/{request.disbursement_id}/retry"
    assert gateway.post(path, role="loan_officer").status_code == 403
    assert gateway.http.post(path).status_code == 401
    response = gateway.post(path, role="approver_admin")
    assert response.status_code == 202, response.text
    assert response.json()["attempt"] == 2

    gateway.wait_events("DisbursementCompleted")
    done = gateway.wait_status(request.disbursement_id, "completed")
    ocids = [r["ocid"] for r in gateway.daraja.state()["b2c_requests"]]
    assert ocids == [
        view["originatorConversationId"],
        originator_conversation_id(request.disbursement_id, 2),
    ]
    assert done["originatorConversationId"] == ocids[1]
    # Completed now: a second retry is an illegal transition, reported with the current status.
    again = gateway.post(path)
    assert again.status_code == 409
    assert "completed" in again.json()["message"]


def test_a_permanent_failure_cannot_be_retried(gateway: Gateway) -> None:
    gateway.daraja.control("b2c", "invalid_number")
    request = disbursement_requested()
    gateway.publish(request)
    failed = gateway.wait_events("DisbursementFailed")[0].data
    assert failed["result_code"] == "2040" and failed["retryable"] is False
    response = gateway.post(f"/api/payments/disbursements/{request.disbursement_id}/retry")
    assert response.status_code == 409
    assert "cannot succeed" in response.json()["message"]
    assert len(gateway.daraja.state()["b2c_requests"]) == 1


def test_wrong_initiator_credentials_fail_with_daraja_2001(
    start_gateway: Callable[..., Gateway],
) -> None:
    gateway = start_gateway(MPESA_INITIATOR_PASSWORD="not-the-password")
    request = disbursement_requested()
    gateway.publish(request)
    failed = gateway.wait_events("DisbursementFailed")[0].data
    assert failed["result_code"] == "2001"


def test_unknown_disbursement_is_404_and_needs_a_token(gateway: Gateway) -> None:
    missing = uuid.uuid4()
    assert gateway.get(f"/api/payments/disbursements/{missing}").status_code == 404
    assert gateway.http.get(f"/api/payments/disbursements/{missing}").status_code == 401
    assert gateway.get("/api/payments/disbursements/not-a-uuid").status_code == 400


def test_disbursements_list_filters_and_counts(gateway: Gateway) -> None:
    first, second = disbursement_requested(), disbursement_requested()
    gateway.publish(first, second)
    gateway.wait_events("DisbursementCompleted", 2)
    response = gateway.get(
        "/api/payments/disbursements", params={"status": "completed", "limit": 1}
    )
    assert response.status_code == 200
    assert response.headers["X-Total-Count"] == "2"
    assert len(response.json()) == 1
    by_loan = gateway.get(
        "/api/payments/disbursements", params={"loanId": str(first.loan_id)}
    ).json()
    assert [d["id"] for d in by_loan] == [str(first.disbursement_id)]
    assert gateway.get("/api/payments/disbursements", params={"status": "bogus"}).status_code == 400
