"""Checks every service makes of itself, written once: a service's test subclasses one.

pytest collects a ``Test...`` class in a service's tests that subclasses one of these, so each
check runs once per service against that service's own data (its package, its fixtures, its
roles); only the data is written in the service.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from hazina_servicekit.stored_events import (
    fixture_files,
    read_fixture,
    stored_classes,
    stored_topics,
    unpinned_topics,
    unresolvable_if_moved,
)


def release_fixtures(test_file: str) -> list[Path]:
    """The stored-event fixtures of earlier releases: ``fixtures/stored_events/*.json`` beside a
    service's ``test_stored_events.py`` (written by its ``write_stored_events.py``)."""
    return fixture_files(Path(test_file).parent / "fixtures" / "stored_events")


def each_release(fixtures: list[Path]) -> pytest.MarkDecorator:
    """Run a test once per release fixture, as its ``fixture`` argument, named by the file."""
    return pytest.mark.parametrize("fixture", fixtures, ids=lambda path: path.stem)


class StoredEventsPromise:
    """The checks every service makes of its stored events, as a base for its test class.

    An event in the store is forever: what earlier releases stored, today's code still reads.
    Every stored class pins a topic that does not depend on its module path; the events earlier
    releases stored (``release_fixtures``) are loaded into a fresh store and read back by the
    service's own test (``each_release``, ``read_release``), and their topics still resolve even
    if every module moved.

    A service's ``tests/test_stored_events.py`` subclasses this as ``TestStoredEvents`` and sets
    its package, topic prefix, fixture folder and a few class names it must find; pytest runs
    these checks there, once per service. What today's code reads back from each fixture differs
    by service and stays in the service's own test.
    """

    package: str
    prefix: str
    fixtures: list[Path]
    some_stored_classes: set[str]

    def test_every_stored_class_pins_a_stable_topic(self) -> None:
        assert unpinned_topics(self.package, self.prefix) == []
        names = {cls.__qualname__ for cls in stored_classes(self.package)}
        assert self.some_stored_classes <= names

    def test_there_are_stored_events_of_an_earlier_release(self) -> None:
        assert self.fixtures, "fixtures/stored_events is empty: run write_stored_events.py"

    def test_their_topics_resolve_even_if_every_module_moved(self) -> None:
        topics = set().union(*(stored_topics(read_fixture(path)) for path in self.fixtures))
        assert unresolvable_if_moved(self.package, topics) == []
