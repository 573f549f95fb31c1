"""Over real NATS JetStream: the ledger consumes origination's and the gateway's streams (each
message delivered twice) and publishes its own contract events through the outbox relay."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi.testclient import TestClient

from hazina_contracts.envelope import EventEnvelope
from hazina_contracts.subjects import Stream
from hazina_ledger.bootstrap import build
from hazina_ledger.settings import LedgerSettings
from hazina_servicekit.testing import eventually, publish, published, with_jetstream


def _ledger_messages(url: str) -> list[EventEnvelope]:
    return with_jetstream(
        url, lambda js: published(js, Stream.LEDGER.value, "ledger.>", wait_seconds=0.5)
    )


def test_consumes_once_and_publishes_contract_events(
    database_url: str, nats_url: str, clock: Any, verifier: Any, staff: Any, h: Any
) -> None:
    settings = LedgerSettings(database_url=database_url, nats_url=nats_url, run_workers=True)
    container = build(settings, clock=clock, verifier=verifier)
    loan_id, client_id = uuid.uuid4(), uuid.uuid4()
    envelopes = [
        h.envelope(h.client_onboarded(client_id)),
        h.envelope(h.payment_received("NATS1", 500_000, loan_id=loan_id)),  # before its loan exists
        h.envelope(h.loan_approved(loan_id, client_id)),
        h.envelope(h.disbursement_completed(loan_id)),
        h.envelope(h.payment_received("NATS2", 2_700_000, loan_id=loan_id)),
    ]
    try:
        with TestClient(container.service.http_app(), raise_server_exceptions=False) as client:
            publish(nats_url, envelopes, streams=[Stream.ORIGINATION, Stream.PAYMENTS])
            publish(nats_url, envelopes)  # deduplicated by Nats-Msg-Id...
            publish(nats_url, envelopes[-1:], again=True)  # ...so one again: a true redelivery

            def repaid() -> bool:
                body = client.get(
                    f"/api/repayments/{loan_id}", headers=staff.headers("initiator_admin")
                )
                return body.status_code == 200 and body.json()["status"] == "repaid"

            eventually(repaid, "the loan repaid")
            body = client.get(
                f"/api/repayments/{loan_id}", headers=staff.headers("initiator_admin")
            ).json()
            assert sorted(r["_id"] for r in body["repayments"]) == ["NATS1", "NATS2"]
            assert body["total_paid_cents"] == 3_200_000

            eventually(lambda: len(_ledger_messages(nats_url)) >= 4, "four LEDGER events")
        messages = _ledger_messages(nats_url)
        assert sorted(m.type for m in messages) == sorted(
            ["LoanAccountOpened", "RepaymentPosted", "RepaymentPosted", "LoanRepaid"]
        )
        assert len({m.event_id for m in messages}) == len(messages)
        # Version 2 carries the schedule itself: origination shows each instalment from it.
        [opened] = [m for m in messages if m.type == "LoanAccountOpened"]
        assert opened.version == 2
        assert len(opened.data["schedule"]) == opened.data["instalments"]
        assert (
            sum(r["principal_cents"] for r in opened.data["schedule"])
            == opened.data["principal_cents"]
        )
        assert all(
            m.producer == "ledger" and m.data["client_id"] == str(client_id) for m in messages
        )
    finally:
        container.close()
