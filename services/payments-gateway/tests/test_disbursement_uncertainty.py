"""When nobody knows whether money moved: ask Daraja (Transaction Status) before anything else,
never send again under a new id, and resend the same id only when Daraja says it has nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from payments_factories import disbursement_requested
from payments_harness import Gateway, wait_until

from hazina_payments_gateway.application.records import DisbursementRequest
from hazina_payments_gateway.domain.rules import originator_conversation_id


def _ocids(gateway: Gateway) -> list[str]:
    return [r["ocid"] for r in gateway.daraja.state()["b2c_requests"]]


def test_no_result_callback_is_resolved_by_a_status_query_that_says_completed(
    gateway: Gateway,
) -> None:
    gateway.daraja.control("b2c", "timeout")  # Daraja pays but never calls back
    request = disbursement_requested()
    gateway.publish(request)

    completed = gateway.wait_events("DisbursementCompleted", timeout=15)[0].data
    state = gateway.daraja.state()
    assert len(state["b2c_requests"]) == 1  # never sent again
    assert state["status_queries"] >= 1
    assert completed["mpesa_receipt"] == state["b2c"][0]["receipt"]
    view = gateway.disbursement(request.disbursement_id)
    assert view["status"] == "completed" and view["statusQueries"] >= 1


def test_no_result_callback_is_resolved_by_a_status_query_that_says_declined(
    gateway: Gateway,
) -> None:
    gateway.daraja.control("b2c", "timeout_failed")
    request = disbursement_requested()
    gateway.publish(request)

    failed = gateway.wait_events("DisbursementFailed", timeout=15)[0].data
    assert failed["result_code"] == "Declined"
    assert len(gateway.daraja.state()["b2c_requests"]) == 1


def test_a_queue_timeout_then_not_found_resends_the_same_id_once(gateway: Gateway) -> None:
    gateway.daraja.control("b2c", "queue_timeout")
    request = disbursement_requested()
    gateway.publish(request)

    gateway.wait_events("DisbursementCompleted", timeout=15)
    ocid = originator_conversation_id(request.disbursement_id, 1)
    assert _ocids(gateway) == [
        ocid,
        ocid,
    ]  # same id; Daraja would refuse it if it had been processed
    assert len(gateway.daraja.state()["b2c"]) == 1


def test_a_5xx_that_was_not_processed_is_asked_about_then_resent_under_the_same_id(
    gateway: Gateway,
) -> None:
    gateway.daraja.control("b2c", "server_error")
    request = disbursement_requested()
    gateway.publish(request)
    gateway.wait_events("DisbursementCompleted", timeout=15)
    ocid = originator_conversation_id(request.disbursement_id, 1)
    assert _ocids(gateway) == [ocid, ocid]
    assert gateway.daraja.state()["status_queries"] >= 1


def test_a_5xx_that_was_processed_pays_once(gateway: Gateway) -> None:
    gateway.daraja.control("b2c", "server_error_processed")
    request = disbursement_requested()
    gateway.publish(request)
    gateway.wait_events("DisbursementCompleted", timeout=15)
    wait_until(lambda: gateway.disbursement(request.disbursement_id)["status"] == "completed")
    state = gateway.daraja.state()
    assert len(state["b2c"]) == 1
    assert len(gateway.events(type_="DisbursementCompleted")) == 1


def test_a_read_timeout_is_unknown_and_never_resent_while_unknown(
    start_gateway: Callable[..., Gateway],
) -> None:
    gateway = start_gateway(PAYMENTS_HTTP_READ_TIMEOUT_SECONDS=0.3)
    gateway.daraja.control("b2c", "slow_ack", delay_seconds=1.0)  # processed, answered too late
    request = disbursement_requested()
    gateway.publish(request)
    gateway.wait_events("DisbursementCompleted", timeout=15)
    state = gateway.daraja.state()
    assert len(state["b2c_requests"]) == 1, state["b2c_requests"]
    assert len(state["b2c"]) == 1


def test_duplicate_late_and_out_of_order_results_complete_once(gateway: Gateway) -> None:
    gateway.daraja.control("b2c", "duplicate_callbacks", copies=3)
    gateway.daraja.control("b2c", "out_of_order")
    gateway.daraja.control("b2c", "delayed", delay_seconds=1.5)  # after the 1 s result timeout
    requests = [disbursement_requested() for _ in range(3)]
    for request in requests:
        gateway.publish(request)
        wait_until(
            lambda r=request: len(gateway.daraja.state()["b2c_requests"]) >= requests.index(r) + 1
        )
    completed = gateway.wait_events("DisbursementCompleted", 3, timeout=20)
    assert sorted(e.data["disbursement_id"] for e in completed) == sorted(
        str(r.disbursement_id) for r in requests
    )
    wait_until(
        lambda: all(
            gateway.disbursement(r.disbursement_id)["status"] == "completed" for r in requests
        )
    )

    # Every callback copy reached the gateway and was stored; the late one changed nothing.
    def results() -> list[dict[str, Any]]:
        return [d for d in gateway.daraja.state()["deliveries"] if d["kind"] == "b2c_result"]

    delivered = wait_until(lambda: len(found := results()) >= 5 and found, what="5 result copies")
    assert len(delivered) == 5 and all(d["status"] == 200 for d in delivered)
    assert len(gateway.daraja.state()["b2c_requests"]) == 3
    wait_until(lambda: len(gateway.events(type_="DisbursementCompleted")) == 3)


def test_a_crash_between_recording_the_id_and_calling_daraja_sends_once(
    start_gateway: Callable[..., Gateway],
) -> None:
    # A gateway that records but never dispatches: then "crashes" right after storing the id.
    first = start_gateway(PAYMENTS_DISPATCHING=False)
    request = disbursement_requested()
    app = first.container.app
    app.request_disbursement(
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
    order = app.begin_send(request.disbursement_id)
    assert order is not None
    first.stop()
    assert gateway_state_requests(first) == 0

    # The restarted gateway finds a send it cannot vouch for: it asks before paying.
    second = start_gateway()
    second.wait_events("DisbursementCompleted", timeout=15)
    state = second.daraja.state()
    assert [r["ocid"] for r in state["b2c_requests"]] == [order.ocid]
    assert state["status_queries"] >= 1


def gateway_state_requests(gateway: Gateway) -> int:
    return len(gateway.daraja.state()["b2c_requests"])


def test_a_token_outage_sends_nothing_until_daraja_is_back(gateway: Gateway) -> None:
    gateway.daraja.control("oauth", "server_error", count=3)
    request = disbursement_requested()
    gateway.publish(request)
    gateway.wait_events("DisbursementCompleted", timeout=15)
    state = gateway.daraja.state()
    assert state["oauth_requests"] >= 4
    assert len(state["b2c_requests"]) == 1
