"""An event in the store is forever: what earlier releases stored, today's code still reads.

Every stored class pins a topic that does not depend on its module path; the events earlier
releases stored (``fixtures/stored_events``, written by ``write_stored_events.py``) are loaded
into a fresh store and read back through the repository and the relay's contract mapping, and
their topics still resolve even if every module moved.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from hazina_contracts.events import ussd
from hazina_servicekit.promises import StoredEventsPromise
from hazina_servicekit.stored_events import (
    fixture_files,
    load_fixture,
    published,
    read_back,
)
from hazina_ussd.adapters.contract_mapping import to_contract
from hazina_ussd.bootstrap import Container
from hazina_ussd.domain.access import BorrowerAccess
from hazina_ussd.domain.requests import LoanApplication, RepaymentPrompt

FIXTURES = fixture_files(Path(__file__).parent / "fixtures" / "stored_events")


class TestStoredEvents(StoredEventsPromise):
    package = "hazina_ussd"
    prefix = "hazina.ussd"
    fixtures = FIXTURES
    some_stored_classes = {"BorrowerAccess", "BorrowerAccess.Locked", "LoanApplication.Requested"}


@pytest.mark.parametrize("fixture", FIXTURES, ids=lambda path: path.stem)
def test_events_stored_by_an_earlier_release_are_read_by_todays_code(
    container: Container, fixture: Path
) -> None:
    app = container.ussd
    aggregates = read_back(app, load_fixture(app, fixture))
    accesses = [a for a in aggregates if isinstance(a, BorrowerAccess)]
    assert any(a.locks == 1 and not a.locked and a.language == "sw" for a in accesses)
    assert any(isinstance(a, LoanApplication) for a in aggregates)
    assert any(isinstance(a, RepaymentPrompt) for a in aggregates)
    assert {type(c) for c in published(app, to_contract)} == {
        ussd.LoanApplicationRequested,
        ussd.RepaymentPromptRequested,
    }
