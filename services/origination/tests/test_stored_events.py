"""What earlier releases of origination stored, as today's code must read it: the aggregates, the
read-model projection and the relay's contract mapping.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

from hazina_origination.adapters.contract_mapping import to_contract
from hazina_origination.bootstrap import Container, build
from hazina_origination.domain.client import Client
from hazina_origination.domain.group import Group
from hazina_origination.domain.loan import LegacyLoan, Loan
from hazina_origination.domain.product import LoanProduct
from hazina_origination.settings import OriginationSettings
from hazina_servicekit.auth import TokenVerifier
from hazina_servicekit.promises import StoredEventsPromise
from hazina_servicekit.stored_events import published, read_fixture


class TestStoredEvents(StoredEventsPromise):
    package = "hazina_origination"
    prefix = "hazina.origination"
    some_stored_classes = {
        "Loan",
        "Loan.Initiated",
        "Loan.Cancelled",
        "Loan.Created",
        "Client.Onboarded",
        "LegacyLoan",
    }

    @pytest.fixture
    def container(self, database_url: str, nats_url: str, tmp_path: Path) -> Iterator[Container]:
        """Origination on an empty store (the conftest's is shared by a module's tests)."""
        settings = OriginationSettings(
            database_url=database_url,
            nats_url=nats_url,
            run_workers=False,
            uploads_dir=str(tmp_path),
        )
        with closing(build(settings, verifier=TokenVerifier(dict, issuer="nobody"))) as built:
            yield built

    def check_read_back(self, container: Container, aggregates: list[Any], fixture: Path) -> None:
        loans = [a for a in aggregates if isinstance(a, Loan)]
        # Releases from 2026-12-01 also stored a group loan with an outside guarantor, its fee
        # marked paid, then cancelled.
        cancelled = {"cancelled": 1} if fixture.name >= "2026-12-01" else {}
        assert Counter(loan.status for loan in loans) == {
            "repaid": 1,
            "approved": 1,
            "rejected": 1,
            **cancelled,
        }
        [repaid] = [loan for loan in loans if loan.status == "repaid"]
        assert repaid.principal_cents == 2_000_000 and repaid.terms["interest_rate_percent"] == "10"
        assert {c.status for c in aggregates if isinstance(c, Client)} == {"active", "legacy"}
        assert {g.status for g in aggregates if isinstance(g, Group)} == {"active", "legacy"}
        assert sorted(p.revision for p in aggregates if isinstance(p, LoanProduct)) == [1, 1, 2]
        assert sorted(legacy.status for legacy in aggregates if isinstance(legacy, LegacyLoan)) == [
            "repaid",
            "written_off",
        ]

        assert container.projection.catch_up() == len(read_fixture(fixture))
        shown = container.read_models.loan(repaid.id)
        assert shown is not None and (shown["status"], shown["principal_cents"]) == (
            "repaid",
            2_000_000,
        )

        assert {type(c).__name__ for c in published(container.app, to_contract)} >= {
            "ClientOnboarded",
            "LoanInitiated",
            "LoanApproved",
            "LoanDisbursementRequested",
            "LoanRejected",
        }
