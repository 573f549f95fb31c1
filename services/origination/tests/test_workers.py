"""The API process runs every consumer: events published to real JetStream reach origination with
nothing but its ``service.http_app()`` running (as ``python -m hazina_origination api`` does)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from nats.js import JetStreamContext

from hazina_contracts.events import identity, ledger, payments
from hazina_contracts.events.base import ContractEvent
from hazina_origination.bootstrap import Container, build
from hazina_origination.settings import OriginationSettings
from hazina_servicekit.auth import TokenVerifier
from hazina_servicekit.messaging import ensure_stream
from hazina_servicekit.testing import envelope, with_jetstream


@pytest.fixture
def running(
    database_url: str, nats_url: str, mint: Any, tmp_path: Path
) -> Iterator[tuple[Container, TestClient]]:
    settings = OriginationSettings(
        database_url=database_url, nats_url=nats_url, run_workers=True, uploads_dir=str(tmp_path)
    )
    container = build(
        settings,
        verifier=TokenVerifier(mint.jwks, issuer="hazina-identity", min_refresh_seconds=0),
    )
    try:
        with TestClient(container.service.http_app(), raise_server_exceptions=False) as http:
            yield container, http
    finally:
        container.close()


def _publish(nats_url: str, events: list[ContractEvent]) -> dict[str, uuid.UUID]:
    async def main(js: JetStreamContext) -> dict[str, uuid.UUID]:
        ids = {}
        for event in events:
            await ensure_stream(js, event.STREAM)
            sent = envelope(event, correlation_id="workers-test")
            await js.publish(sent.subject, sent.to_bytes())
            ids[event.TYPE] = sent.event_id
        return ids

    return with_jetstream(nats_url, main)


def test_the_api_process_runs_every_consumer(
    running: tuple[Container, TestClient], nats_url: str, mint: Any
) -> None:
    container, http = running
    now = datetime.now(UTC)
    officer_id, client_id, loan_id = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    ids = _publish(
        nats_url,
        [
            identity.UserCreated(
                occurred_at=now,
                user_id=officer_id,
                username="wanjiru",
                name="Wanjiru Mwangi",
                role="loan_officer",
            ),
            ledger.LoanAccountOpened(
                occurred_at=now,
                loan_id=loan_id,
                client_id=client_id,
                principal_cents=1_000_000,
                total_interest_cents=200_000,
                total_fees_cents=0,
                instalments=4,
                disbursed_on=now.date(),
                maturity_on=now.date(),
            ),
            ledger.SavingsBalanceChanged(
                occurred_at=now,
                client_id=client_id,
                balance_cents=50_000,
                change_cents=50_000,
                reason="deposit",
                transaction_id="SAV1",
            ),
            payments.DisbursementFailed(
                occurred_at=now,
                disbursement_id=uuid.uuid4(),
                loan_id=loan_id,
                amount_cents=1_000_000,
                result_code="2001",
                result_description="The initiator information is invalid.",
                retryable=False,
            ),
        ],
    )
    expected = {
        ("origination-staff", ids["UserCreated"]),
        ("origination-loan-balances", ids["LoanAccountOpened"]),
        ("origination-ledger", ids["SavingsBalanceChanged"]),
        ("origination-payments", ids["DisbursementFailed"]),
    }
    deadline = time.monotonic() + 20
    seen: set[tuple[str, uuid.UUID]] = set()
    while time.monotonic() < deadline and not expected <= seen:
        time.sleep(0.2)
        with container.pool.connection() as conn:
            seen = {
                (row[0], row[1])
                for row in conn.execute("SELECT consumer, event_id FROM processed_messages")
            }
    assert expected <= seen, seen
    token = mint.token(uuid.uuid4(), "initiator_admin")
    officers = http.get("/api/loan-officers", headers={"Authorization": f"Bearer {token}"})
    assert [o["name"] for o in officers.json()] == ["Wanjiru Mwangi"]
    with container.pool.connection() as conn:
        balance = conn.execute(
            "SELECT total_due_cents, outstanding_cents FROM loan_balances WHERE loan_id = %s",
            (loan_id,),
        ).fetchone()
    assert balance == (1_200_000, 1_200_000)
