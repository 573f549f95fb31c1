"""The gateway run apart (or as replicas): an API process that only stores and acknowledges
callbacks, and a workers process (``python -m hazina_payments_gateway workers``) that turns them
into payments. The workers' inbox timer is an hour here: each payment goes through because the
commit of its callback woke them, across processes.
"""

from __future__ import annotations

from collections.abc import Callable

from payments_harness import Gateway, wait_until


def confirmation(receipt: str) -> dict[str, str]:
    return {
        "TransactionType": "Pay Bill",
        "TransID": receipt,
        "TransTime": "20250201143005",
        "TransAmount": "1200.00",
        "BusinessShortCode": "600984",
        "BillRefNumber": "LN000123",
        "MSISDN": "254712345678",
        "FirstName": "JANE",
    }


def test_a_callback_stored_by_the_api_wakes_the_workers_process(
    start_gateway: Callable[..., Gateway],
) -> None:
    api = start_gateway(HAZINA_RUN_WORKERS=False)
    workers = start_gateway(PAYMENTS_INBOX_INTERVAL_SECONDS=3600)
    for receipt in ("TAPART0001", "TAPART0002"):  # the second long after the workers' first round
        answer = api.callback("c2b/confirmation", confirmation(receipt))
        assert answer.json() == {"ResultCode": 0, "ResultDesc": "Success"}
        wait_until(
            lambda r=receipt: [  # type: ignore[misc]
                e for e in workers.events(type_="PaymentReceived") if e.data["receipt"] == r
            ],
            what=f"PaymentReceived {receipt}",
        )
    # Each once, however many processes heard of it.
    receipts = [e.data["receipt"] for e in workers.events(type_="PaymentReceived")]
    assert sorted(receipts) == ["TAPART0001", "TAPART0002"]
