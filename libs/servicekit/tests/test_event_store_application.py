"""Every service's application saves through ``EventStoreApplication``: what the library's own
``save`` does (record, snapshots, what followers are told) still happens, against real
PostgreSQL, without its runtime ``Protocol`` checks."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar

import pytest
from eventsourcing.domain import Aggregate

from hazina_servicekit.database import ensure_schema
from hazina_servicekit.eventstore import EventStoreApplication, postgres_env

pytestmark = pytest.mark.integration


class Tally(Aggregate):
    TOPIC = "hazina.test.Tally"

    class Created(Aggregate.Created):
        TOPIC = "hazina.test.Tally.Created"

    class Counted(Aggregate.Event):
        TOPIC = "hazina.test.Tally.Counted"
        by: int

        def apply(self, aggregate: Any) -> None:
            aggregate.total += self.by

    def __init__(self) -> None:
        self.total = 0

    def count(self, by: int) -> None:
        self.trigger_event(self.Counted, by=by)


class Tallies(EventStoreApplication):
    name = "tallies"
    snapshotting_intervals: ClassVar[dict[type[Any], int]] = {Tally: 3}

    def __init__(self, env: dict[str, str]) -> None:
        super().__init__(env=env)
        self.told: list[int] = []

    def _notify(self, recordings: Any) -> None:
        super()._notify(recordings)
        self.told.append(len(recordings))


@pytest.fixture
def tallies(database_url: str) -> Iterator[Tallies]:
    ensure_schema(database_url, "tallies")
    app = Tallies(env={**postgres_env(database_url, "tallies"), "IS_SNAPSHOTTING_ENABLED": "y"})
    try:
        yield app
    finally:
        app.close()


def test_aggregates_are_recorded_snapshotted_and_announced_as_the_library_does(
    tallies: Tallies,
) -> None:
    first, second = Tally(), Tally()
    for by in (1, 2, 3):
        first.count(by)
    second.count(10)
    recordings = tallies.save(first, second)
    assert [r.notification.originator_version for r in recordings] == [1, 2, 3, 4, 1, 2]
    assert tallies.told == [6]
    assert tallies.repository.get(first.id).total == 6
    assert tallies.repository.get(second.id).total == 10
    assert tallies.snapshots is not None
    snapshots = list(tallies.snapshots.get(first.id))
    assert [s.originator_version for s in snapshots] == [3]  # every third event of Tally


def test_anything_but_aggregates_goes_through_the_library_save(tallies: Tallies) -> None:
    tally = Tally()
    tally.count(5)
    assert tallies.save(None) == []
    (created, counted) = tally.collect_events()
    recordings = tallies.save(created, counted)  # events, not an aggregate
    assert [r.notification.originator_version for r in recordings] == [1, 2]
    assert tallies.repository.get(tally.id).total == 5
