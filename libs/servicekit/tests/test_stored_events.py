"""The checks that keep stored events readable catch what they promise to catch.

A package of aggregates written here on disk stands in for a service's domain: an event without a
pinned topic is reported, an inherited topic is reported, topics stored before pinning resolve
after every module moved only through an alias, and a fixture round-trips byte for byte through
a real PostgreSQL store.
"""

from __future__ import annotations

import itertools
import os
import sys
import textwrap
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from eventsourcing.application import Application

from hazina_servicekit.database import ensure_schema
from hazina_servicekit.eventstore import postgres_env
from hazina_servicekit.stored_events import (
    load_fixture,
    read_back,
    read_fixture,
    stored_classes,
    stored_rows,
    stored_topics,
    unpinned_topics,
    unresolvable_if_moved,
    write_fixture,
)

_names = itertools.count()

PINNED = """
from eventsourcing.domain import Aggregate, event
from eventsourcing.utils import register_topic


class Till(Aggregate):
    TOPIC = "hazina.test.Till"

    class Created(Aggregate.Created):
        TOPIC = "hazina.test.Till.Created"

    @event("Opened", topic="hazina.test.Till.Opened")
    def __init__(self, *, cashier: str) -> None:
        self.cashier = cashier
        self.cash_cents = 0

    @event("CashCounted", topic="hazina.test.Till.CashCounted")
    def count(self, cash_cents: int) -> None:
        self.cash_cents = cash_cents
"""


@pytest.fixture
def package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[str], str]]:
    """Write a one-module package importable here and in subprocesses; returns its name.

    Topics are registered once per process, so each package gets a fresh name, and its topics
    ``hazina.test...`` become ``hazina.<name>...`` (and ``PACKAGE`` the package's name).
    """
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(tmp_path), *sys.path]))
    written: list[str] = []

    def write(source: str) -> str:
        name = f"hazina_topics_test_{next(_names)}_{uuid.uuid4().hex[:6]}"
        (tmp_path / name).mkdir()
        (tmp_path / name / "__init__.py").write_text("")
        source = textwrap.dedent(source).replace('"hazina.test', f'"hazina.{name}')
        source = source.replace("PACKAGE", name)
        (tmp_path / name / "tills.py").write_text(source)
        written.append(name)
        return name

    yield write
    for name in written:
        for module in [m for m in sys.modules if m == name or m.startswith(f"{name}.")]:
            del sys.modules[module]


def test_a_fully_pinned_package_passes_and_every_stored_class_is_seen(
    package: Callable[[str], str],
) -> None:
    name = package(PINNED)
    assert unpinned_topics(name, f"hazina.{name}") == []
    assert [cls.__qualname__ for cls in stored_classes(name)] == [
        "Till",
        "Till.CashCounted",
        "Till.Created",
        "Till.Opened",
    ]


def test_an_event_without_a_pinned_topic_is_reported(package: Callable[[str], str]) -> None:
    name = package(
        PINNED
        + textwrap.dedent(
            """

            class Safe(Aggregate):
                pass


            class Vault(Aggregate):
                @event("Sealed")
                def __init__(self) -> None:
                    pass
            """
        )
    )
    problems = unpinned_topics(name, f"hazina.{name}")
    # Safe and its Created; Vault, its Created and Sealed. Till is pinned.
    assert len(problems) == 5, problems
    assert f"{name}.tills:Vault.Sealed has topic '{name}.tills:Vault.Sealed', not one pinned" in (
        " ".join(problems)
    )
    assert not any(".tills:Till" in p for p in problems)


def test_a_topic_outside_the_services_name_or_inherited_is_reported(
    package: Callable[[str], str],
) -> None:
    source = PINNED.replace('TOPIC = "hazina.test.Till"', 'TOPIC = "till"') + textwrap.dedent(
        """

        class Opened(Till.Opened):
            pass
        """
    )
    name = package(source)
    problems = unpinned_topics(name, f"hazina.{name}")
    assert len(problems) == 2, problems
    assert f"{name}.tills:Till has topic 'till', not one pinned" in problems[1]
    assert f"{name}.tills:Opened has topic 'hazina.{name}.Till.Opened', which names" in problems[0]


def test_old_topics_resolve_after_every_module_moved_only_through_an_alias(
    package: Callable[[str], str],
) -> None:
    plain = package(PINNED)
    old = [f"{plain}.tills:Till", f"{plain}.tills:Till.Opened"]
    assert unresolvable_if_moved(plain, {*old, f"hazina.{plain}.Till.Opened"}) == [
        f"{topic}: Failed to resolve topic '{topic}': {plain} has moved" for topic in old
    ]

    aliased = package(PINNED + '\n\nregister_topic("PACKAGE.tills:Till", Till)\n')
    old = [f"{aliased}.tills:Till", f"{aliased}.tills:Till.Opened", f"{aliased}.tills:Till.Created"]
    assert unresolvable_if_moved(aliased, {*old, f"hazina.{aliased}.Till.CashCounted"}) == []


def test_a_fixture_round_trips_byte_for_byte_through_postgresql(
    package: Callable[[str], str], database_url: str, tmp_path: Path
) -> None:
    import importlib

    name = package(PINNED)
    tills = importlib.import_module(f"{name}.tills")

    def app(schema: str) -> Application:
        ensure_schema(database_url, schema)
        return Application(env=postgres_env(database_url, schema, pool_size=1))

    source, target = app("till_source"), app("till_target")
    try:
        till = tills.Till(cashier="Achieng")
        till.count(cash_cents=1_250_050)
        source.save(till)
        path = write_fixture(source, tmp_path / "fixtures", release="r1", service="test")
        with pytest.raises(FileExistsError):
            write_fixture(source, tmp_path / "fixtures", release="r1", service="test")

        assert load_fixture(target, path) == [till.id]
        assert stored_rows(target) == stored_rows(source) == read_fixture(path)
        [copy] = read_back(target, [till.id])
        assert (copy.cashier, copy.cash_cents, copy.version) == ("Achieng", 1_250_050, 2)
        assert stored_topics(read_fixture(path)) == {
            f"hazina.{name}.Till",
            f"hazina.{name}.Till.Opened",
            f"hazina.{name}.Till.CashCounted",
        }
    finally:
        source.close()
        target.close()


def test_servicekits_own_stored_classes_pin_their_topics() -> None:
    assert unpinned_topics("hazina_servicekit", "hazina.servicekit") == []
