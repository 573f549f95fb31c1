"""What earlier releases of payments-gateway stored, as today's code must read it: the
aggregates, the read-model projection and the relay's contract mapping.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
from payments_harness import DarajaSim, gateway_settings

from hazina_payments_gateway.bootstrap import Container, build
from hazina_payments_gateway.domain.callback_review import CallbackReview
from hazina_payments_gateway.domain.disbursement import Disbursement
from hazina_payments_gateway.domain.payment import Payment
from hazina_payments_gateway.domain.stk_prompt import StkPrompt
from hazina_servicekit.promises import StoredEventsPromise
from hazina_servicekit.stored_events import published, read_fixture


class TestStoredEvents(StoredEventsPromise):
    package = "hazina_payments_gateway"
    prefix = "hazina.payments"
    some_stored_classes = {
        "Disbursement",
        "Disbursement.Requested",
        "Payment.Created",
        "StkPrompt.Sent",
    }

    @pytest.fixture
    def container(self, database_url: str, nats_url: str, daraja: DarajaSim) -> Iterator[Container]:
        """A gateway on an empty store; nothing runs beside it, so nothing is sent anywhere."""
        with closing(
            build(gateway_settings(database_url, nats_url, daraja, "http://127.0.0.1:9"))
        ) as built:
            yield built

    def check_read_back(self, container: Container, aggregates: list[Any], fixture: Path) -> None:
        disbursements = [a for a in aggregates if isinstance(a, Disbursement)]
        assert Counter(d.status.value for d in disbursements) == {"completed": 7}
        assert all(d.amount_cents == 500_000 and d.receipt for d in disbursements)
        [payment] = [a for a in aggregates if isinstance(a, Payment) and a.conflicts]
        assert (payment.amount_cents, payment.conflicts[0][0]) == (50_000, 90_000)
        [prompt] = [a for a in aggregates if isinstance(a, StkPrompt)]
        assert (prompt.status.value, prompt.amount_cents) == ("paid", 150_000)
        reviews = [a for a in aggregates if isinstance(a, CallbackReview)]
        assert sorted(r.decisions[0][0] for r in reviews) == ["dismiss", "retry"]

        assert container.projection.catch_up() == len(read_fixture(fixture))
        rows, total = container.index.list_disbursements(
            status="completed", loan_id=None, offset=0, limit=None
        )
        assert total == 7
        assert {row["disbursement_id"] for row in rows} == {d.id for d in disbursements}

        assert {type(c).__name__ for c in published(container.app, container.to_contract)} >= {
            "DisbursementCompleted",
            "DisbursementFailed",
            "PaymentReceived",
        }
