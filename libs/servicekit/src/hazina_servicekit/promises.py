"""Checks every service makes of itself, written once: a service's test subclasses one.

pytest collects a ``Test...`` class in a service's tests that subclasses one of these, so each
check runs once per service against that service's own data (its package, its fixtures, its
roles); only the data is written in the service.
"""

from __future__ import annotations

import inspect
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from eventsourcing.domain import BaseAggregate

from hazina_servicekit.matrix_rows import Row
from hazina_servicekit.stored_events import (
    fixture_files,
    read_fixture,
    read_release,
    stored_classes,
    stored_topics,
    unpinned_topics,
    unresolvable_if_moved,
)
from hazina_servicekit.testing import assert_matrix_covers, check_route


def release_fixtures(test_file: str) -> list[Path]:
    """The stored-event fixtures of earlier releases: ``fixtures/stored_events/*.json`` beside a
    service's ``test_stored_events.py`` (written by its ``write_stored_events.py``)."""
    return fixture_files(Path(test_file).parent / "fixtures" / "stored_events")


class StoredEventsPromise:
    """The checks every service makes of its stored events, as a base for its test class.

    An event in the store is forever: what earlier releases stored, today's code still reads.
    Every stored class pins a topic that does not depend on its module path; the events earlier
    releases stored (``release_fixtures``) are loaded into a fresh store and read back by the
    service's own code, and their topics still resolve even if every module moved.

    A service's ``tests/test_stored_events.py`` subclasses this as ``TestStoredEvents`` and sets
    its package, topic prefix and a few class names it must find (its fixtures are the
    ``release_fixtures`` beside that file unless it names others); pytest runs
    these checks there, once per service. Each release's fixture is read back in the service's
    ``container`` fixture, built on an empty store (the class overrides it where the conftest's
    is not empty); what today's code must make of it differs by service: its ``check_read_back``.
    """

    package: str
    prefix: str
    fixtures: list[Path]
    some_stored_classes: set[str]

    def __init_subclass__(cls) -> None:
        super().__init_subclass__()
        if "fixtures" not in vars(cls):
            cls.fixtures = release_fixtures(inspect.getfile(cls))

    def pytest_generate_tests(self, metafunc: pytest.Metafunc) -> None:
        """A test asking for ``fixture`` runs once per release fixture, named by the file."""
        if "fixture" in metafunc.fixturenames:
            metafunc.parametrize("fixture", self.fixtures, ids=lambda path: path.stem)

    def check_read_back(
        self, container: Any, aggregates: list[BaseAggregate[uuid.UUID]], fixture: Path
    ) -> None:
        """What the service makes of one release's events, read back as ``aggregates``."""
        raise NotImplementedError

    def test_events_stored_by_an_earlier_release_are_read_by_todays_code(
        self, container: Any, fixture: Path
    ) -> None:
        self.check_read_back(container, read_release(container.service.app, fixture), fixture)

    def test_every_stored_class_pins_a_stable_topic(self) -> None:
        assert unpinned_topics(self.package, self.prefix) == []
        names = {cls.__qualname__ for cls in stored_classes(self.package)}
        assert self.some_stored_classes <= names

    def test_there_are_stored_events_of_an_earlier_release(self) -> None:
        assert self.fixtures, "fixtures/stored_events is empty: run write_stored_events.py"

    def test_their_topics_resolve_even_if_every_module_moved(self) -> None:
        topics = set().union(*(stored_topics(read_fixture(path)) for path in self.fixtures))
        assert unresolvable_if_moved(self.package, topics) == []


@dataclass(frozen=True)
class MatrixCaller:
    """How a service's role matrix calls one route: through ``http``, with setups handed
    ``world`` (and the owning officer), as loan officers ``officers`` (A and B), each request
    signed by ``headers(role, officer)`` (``officer`` None: any staff member of that role)."""

    http: Any
    world: Any
    officers: tuple[Any, Any]
    headers: Callable[[str, Any], dict[str, str]]


class RoleMatrixPromise:
    """The role x route x ownership matrix every service keeps, as a base for its test class.

    A service's ``tests/test_role_matrix.py`` subclasses this as ``TestRoleMatrix`` with its
    ``matrix`` (a row per route: who may call it, and the setup making its request) and the
    fixture ``matrix_caller``, a ``MatrixCaller``. Each route is then called as every role
    (``check_route``). ``served_app``, the app whose every route must have a row, is the app of
    the service's ``client`` fixture (a ``TestClient``) unless the class gives its own.
    """

    matrix: Mapping[str, Row]

    @pytest.fixture
    def served_app(self, client: Any) -> Any:
        return client.app

    def pytest_generate_tests(self, metafunc: pytest.Metafunc) -> None:
        """A test asking for ``route`` runs once per row of the matrix."""
        if "route" in metafunc.fixturenames:
            metafunc.parametrize("route", sorted(self.matrix))

    def test_the_matrix_has_a_row_for_every_route_the_service_serves(self, served_app: Any) -> None:
        assert_matrix_covers(served_app, self.matrix)

    def test_every_role_against_the_route(self, route: str, matrix_caller: MatrixCaller) -> None:
        access, setup = self.matrix[route]
        caller = matrix_caller
        check_route(
            caller.http,
            route,
            access,
            lambda officer: setup(caller.world, officer),
            officers=caller.officers,
            headers=caller.headers,
        )
