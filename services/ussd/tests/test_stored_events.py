"""What earlier releases of ussd stored, read back by today's code through the repository and the
relay's contract mapping (the promise: ``hazina_servicekit.promises.StoredEventsPromise``).
"""

from __future__ import annotations

from pathlib import Path

from hazina_contracts.events import ussd
from hazina_servicekit.promises import StoredEventsPromise, each_release, release_fixtures
from hazina_servicekit.stored_events import (
    published,
    read_release,
)
from hazina_ussd.adapters.contract_mapping import to_contract
from hazina_ussd.bootstrap import Container
from hazina_ussd.domain.access import BorrowerAccess
from hazina_ussd.domain.requests import LoanApplication, RepaymentPrompt

FIXTURES = release_fixtures(__file__)


class TestStoredEvents(StoredEventsPromise):
    package = "hazina_ussd"
    prefix = "hazina.ussd"
    fixtures = FIXTURES
    some_stored_classes = {"BorrowerAccess", "BorrowerAccess.Locked", "LoanApplication.Requested"}


@each_release(FIXTURES)
def test_events_stored_by_an_earlier_release_are_read_by_todays_code(
    container: Container, fixture: Path
) -> None:
    app = container.ussd
    aggregates = read_release(app, fixture)
    accesses = [a for a in aggregates if isinstance(a, BorrowerAccess)]
    assert any(a.locks == 1 and not a.locked and a.language == "sw" for a in accesses)
    assert any(isinstance(a, LoanApplication) for a in aggregates)
    assert any(isinstance(a, RepaymentPrompt) for a in aggregates)
    assert {type(c) for c in published(app, to_contract)} == {
        ussd.LoanApplicationRequested,
        ussd.RepaymentPromptRequested,
    }
