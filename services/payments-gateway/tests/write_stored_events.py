"""Write the gateway's stored-events fixture for the release checked out: run once per release.

Not collected by ``make test`` (the name does not start with ``test_``); run it by path on a
committed tree, then commit the new file under ``tests/fixtures/stored_events/``:

    DATABASE_URL=postgresql://... .venv/bin/pytest services/payments-gateway/tests/write_stored_events.py

It drives the gateway against the Daraja simulator as origination, USSD, Daraja and staff would:
a disbursement paid; one failed then retried by staff; one whose result never came (settled by a
status query); one Daraja lost (sent again under the same id); one refused by a 5xx; a paybill
payment and a conflicting repeat of it; an STK prompt paid; malformed callbacks retried and
dismissed by staff. Then it dumps every stored event. ``test_stored_events.py`` proves that later
code still reads them. Never regenerate an existing file.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path

from eventsourcing.application import AggregateNotFoundError
from payments_factories import disbursement_requested, loan_initiated, prompt_requested
from payments_harness import Gateway, wait_until

from hazina_servicekit.stored_events import release_of, write_fixture

HERE = Path(__file__).parent
CONFIRMATION = {
    "TransactionType": "Pay Bill",
    "TransID": "TFIX000001",
    "TransTime": "20250201143005",
    "TransAmount": "500.00",
    "BusinessShortCode": "600984",
    "BillRefNumber": "LN000123",
    "InvoiceNumber": "",
    "OrgAccountBalance": "58230.00",
    "ThirdPartyTransID": "",
    "MSISDN": "2547 ***** 678",
    "FirstName": "JANE",
    "MiddleName": "",
    "LastName": "",
}


def settled(gateway: Gateway, disbursement_id: uuid.UUID, status: str) -> None:
    """Wait for the disbursement (once the gateway has heard of it) to reach ``status``."""

    def reached() -> bool:
        found = gateway.get(f"/api/payments/disbursements/{disbursement_id}")
        return found.status_code == 200 and found.json()["status"] == status

    wait_until(reached, timeout=20, what=f"disbursement {status}")


def prompt_status(gateway: Gateway, prompt_id: uuid.UUID) -> str | None:
    try:
        return str(gateway.container.app.get_prompt(prompt_id).status.value)
    except AggregateNotFoundError:
        return None


def pay_out(gateway: Gateway, *controls: tuple[str, str, int]) -> None:
    for kind, outcome, count in controls:
        gateway.daraja.control(kind, outcome, count)
    request = disbursement_requested()
    gateway.publish(request)
    settled(gateway, request.disbursement_id, "completed")


def test_write_stored_events(gateway: Gateway) -> None:
    release = release_of(HERE.parent / "src")

    pay_out(gateway, ("oauth", "server_error", 3))  # no token yet: not sent, tried again later
    pay_out(gateway)
    pay_out(gateway, ("b2c", "timeout", 1))  # no result callback: a status query settles it
    pay_out(gateway, ("b2c", "queue_timeout", 1))  # Daraja lost it: the same id sent again
    pay_out(gateway, ("b2c", "server_error", 1))  # a 5xx not processed: asked, then resent
    pay_out(gateway, ("b2c", "timeout", 1), ("status", "server_error", 1))  # the query failed
    gateway.daraja.control("b2c", "insufficient_funds")
    failed = disbursement_requested()
    gateway.publish(failed)
    settled(gateway, failed.disbursement_id, "failed")
    retry = gateway.post(
        f"/api/payments/disbursements/{failed.disbursement_id}/retry", role="approver_admin"
    )
    assert retry.status_code == 202, retry.text
    settled(gateway, failed.disbursement_id, "completed")

    # Money in: a paybill payment, a conflicting repeat of it, an STK prompt paid.
    assert gateway.callback("c2b/confirmation", CONFIRMATION).status_code == 200
    assert (
        gateway.callback("c2b/confirmation", {**CONFIRMATION, "TransAmount": "900"}).status_code
        == 200
    )
    loan = loan_initiated(account_number="LN000999")
    gateway.publish(loan)
    wait_until(lambda: gateway.container.references.match("LN000999").target != "unallocated")
    prompt = prompt_requested(
        account_reference="LN000999", amount_cents=150_000, loan_id=loan.loan_id
    )
    gateway.publish(prompt)
    wait_until(lambda: prompt_status(gateway, prompt.prompt_id) == "paid", timeout=20)

    # Malformed callbacks, flagged for staff: one retried, one dismissed.
    for receipt in ("TBAD000001", "TBAD000002"):
        bad = json.dumps({**CONFIRMATION, "TransID": receipt, "MSISDN": "0712; DROP"})
        assert gateway.callback("c2b/confirmation", bad.encode()).status_code == 200
    rows = wait_until(
        lambda: (
            len(flagged := [r for r in gateway.inbox() if r["status"] == "flagged"]) == 3
            and flagged
        )
    )
    ids = [r["id"] for r in rows if r["outcome"] == "malformed"]
    for row_id, decision in zip(ids, ("retry", "dismiss"), strict=True):
        decided = gateway.post(
            f"/api/payments/inbox/{row_id}/{decision}", json={"reason": f"{decision} by staff"}
        )
        assert decided.status_code == 200, decided.text
    wait_until(lambda: all(r["status"] != "pending" for r in gateway.inbox()))

    app = gateway.container.app
    names = {
        type(app.mapper.to_domain_event(n)).__qualname__
        for n in app.recorder.select_notifications(start=1, limit=10_000)
    }
    print(sorted(names))  # noqa: T201 - shown with -s, to see what the fixture covers
    write_fixture(
        app, HERE / "fixtures" / "stored_events", release=release, service="payments-gateway"
    )
