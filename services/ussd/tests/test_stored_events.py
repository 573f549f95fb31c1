"""An event in the store is forever: what earlier releases stored, today's code still reads.

Every stored class pins a topic that does not depend on its module path; the events earlier
releases stored (``fixtures/stored_events``, written by ``write_stored_events.py``) are loaded
into a fresh store and read back through the repository and the relay's contract mapping, and
their topics still resolve even if every module moved.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from hazina_contracts.events import ussd
from hazina_servicekit.stored_events import (
    fixture_files,
    load_fixture,
    read_back,
    read_fixture,
    stored_classes,
    stored_topics,
    unpinned_topics,
    unresolvable_if_moved,
)
from hazina_ussd.adapters.contract_mapping import to_contract
from hazina_ussd.bootstrap import Container
from hazina_ussd.domain.access import BorrowerAccess
from hazina_ussd.domain.requests import LoanApplication, RepaymentPrompt

FIXTURES = fixture_files(Path(__file__).parent / "fixtures" / "stored_events")


def test_every_stored_class_pins_a_stable_topic() -> None:
    assert unpinned_topics("hazina_ussd", "hazina.ussd") == []
    names = {cls.__qualname__ for cls in stored_classes("hazina_ussd")}
    assert {"BorrowerAccess", "BorrowerAccess.Locked", "LoanApplication.Requested"} <= names


def test_there_are_stored_events_of_an_earlier_release() -> None:
    assert FIXTURES, "fixtures/stored_events is empty: run write_stored_events.py"


def test_their_topics_resolve_even_if_every_module_moved() -> None:
    topics = set().union(*(stored_topics(read_fixture(path)) for path in FIXTURES))
    assert unresolvable_if_moved("hazina_ussd", topics) == []


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
    published = [to_contract(app.mapper.to_domain_event(n)) for n in _notifications(app)]
    assert {type(c) for c in published if c} == {
        ussd.LoanApplicationRequested,
        ussd.RepaymentPromptRequested,
    }


def _notifications(app: Any) -> list[Any]:
    return list(app.recorder.select_notifications(start=1, limit=10_000))
