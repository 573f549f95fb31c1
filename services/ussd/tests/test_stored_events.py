"""What earlier releases of ussd stored, as today's code must read it: the aggregates and the
relay's contract mapping.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hazina_contracts.events import ussd
from hazina_servicekit.promises import StoredEventsPromise
from hazina_servicekit.stored_events import published
from hazina_ussd.adapters.contract_mapping import to_contract
from hazina_ussd.bootstrap import Container
from hazina_ussd.domain.access import BorrowerAccess
from hazina_ussd.domain.requests import LoanApplication, RepaymentPrompt


class TestStoredEvents(StoredEventsPromise):
    package = "hazina_ussd"
    prefix = "hazina.ussd"
    some_stored_classes = {"BorrowerAccess", "BorrowerAccess.Locked", "LoanApplication.Requested"}

    def check_read_back(self, container: Container, aggregates: list[Any], fixture: Path) -> None:
        accesses = [a for a in aggregates if isinstance(a, BorrowerAccess)]
        assert any(a.locks == 1 and not a.locked and a.language == "sw" for a in accesses)
        assert any(isinstance(a, LoanApplication) for a in aggregates)
        assert any(isinstance(a, RepaymentPrompt) for a in aggregates)
        assert {type(c) for c in published(container.ussd, to_contract)} == {
            ussd.LoanApplicationRequested,
            ussd.RepaymentPromptRequested,
        }
