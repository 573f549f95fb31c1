"""Disbursement by B2C v3 end to end against the Daraja simulator: one payment per id, ever."""

from __future__ import annotations

import asyncio
import threading
import uuid

from payments_harness import Gateway, wait_until
from payments_factories import disbursement_requested

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

        gateway.container.app.request_disbursement(DisbursementRequest(
            disbursement_id=request.disbursement_id, loan_id=request.loan_id, client_id=request.client_id,
            account_number=request.account_number, phone=request.phone, amount_cents=request.amount_cents,
            origin_attempt=1, correlation_id=None,
        ))

    threads = [threading.Thread(target=deliver) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # Five more dispatchers (as in five replicas) racing for the send.
    container = gateway.container

    async def race() -> None:
        clients = [DarajaClient(daraja_settings(container.settings)) for _ in range(5)]
        dispatchers = [Dispatcher(container.app, c, container.index, refresh=container.projection.catch_up)
                       for c in clients]
        await asyncio.gather(*(d.round() for d in dispatchers))
        for client in clients:
            await client.aclose()

    asyncio.run(race())
    gateway.wait_events("DisbursementCompleted")
    wait_until(lambda: gateway.disbursement(request.disbursement_id)["status"] == "completed")
    state = gateway.daraja.state()
    assert len(state["b2c_requests"]) == 1, state["b2c_requests"]
    assert len(gateway.events(type_="DisbursementCompleted")) == 1
