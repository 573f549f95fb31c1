"""A service's ``python -m`` entry runs the one command asked for and always closes its container;
processes of one service starting together make their tables one at a time (real PostgreSQL)."""

from __future__ import annotations

import argparse
import gc
import threading
from dataclasses import dataclass, field

import psycopg
import pytest

from hazina_servicekit.cli import (
    YOUNG_COLLECTION_THRESHOLD,
    Command,
    service_main,
    settle_garbage_collector,
)
from hazina_servicekit.database import conninfo_for
from hazina_servicekit.testing import eventually


@dataclass
class Settings:
    database_url: str
    log_level: str = "INFO"
    log_json: bool = False
    port: int = 1


@dataclass
class Service:
    ran: list[str]

    def run_without_http(self) -> None:
        self.ran.append("workers")


@dataclass
class Container:
    command: str
    ran: list[str] = field(default_factory=list)
    closed: bool = False

    @property
    def service(self) -> Service:
        return Service(self.ran)

    def close(self) -> None:
        self.closed = True


def _run(url: str, argv: list[str], built: list[Container], *, fail: bool = False) -> int:
    def rebuild(container: Container) -> None:
        container.ran.append("rebuild")
        if fail:
            raise RuntimeError("the rebuild failed")

    def build(settings: Settings, command: str) -> Container:
        built.append(Container(command))
        return built[-1]

    def load(container: Container, args: argparse.Namespace) -> int:
        container.ran.append(f"load {args.file} dry={args.dry_run}")
        return 1 if args.dry_run else 0

    def load_arguments(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("file")
        parser.add_argument("--dry-run", action="store_true")

    return service_main(
        argv,
        name="example",
        settings=lambda: Settings(url),
        build=build,
        http_app=lambda _container: pytest.fail("no HTTP app is asked for"),
        commands={"rebuild": rebuild, "load": Command(run=load, arguments=load_arguments)},
    )


def test_a_command_runs_once_on_a_container_built_for_it_then_closed(database_url: str) -> None:
    built: list[Container] = []
    assert _run(database_url, ["rebuild"], built) == 0
    [container] = built
    assert (container.command, container.ran, container.closed) == ("rebuild", ["rebuild"], True)


def test_the_container_is_closed_when_the_command_fails(database_url: str) -> None:
    built: list[Container] = []
    with pytest.raises(RuntimeError, match="rebuild failed"):
        _run(database_url, ["rebuild"], built, fail=True)
    assert built[0].closed


def test_an_unknown_command_builds_nothing(database_url: str) -> None:
    built: list[Container] = []
    with pytest.raises(SystemExit) as exit_:
        _run(database_url, ["sweep"], built)
    assert exit_.value.code == 2 and built == []


def test_a_command_with_arguments_of_its_own_gets_them_and_gives_the_exit_status(
    database_url: str,
) -> None:
    built: list[Container] = []
    assert _run(database_url, ["load", "rows.csv"], built) == 0
    assert _run(database_url, ["load", "rows.csv", "--dry-run"], built) == 1
    assert [c.ran for c in built] == [["load rows.csv dry=False"], ["load rows.csv dry=True"]]
    assert all(c.closed for c in built)


def test_arguments_a_command_does_not_take_are_refused_before_anything_is_built(
    database_url: str,
) -> None:
    built: list[Container] = []
    for argv in (["rebuild", "extra"], ["load"], ["load", "rows.csv", "--force"]):
        with pytest.raises(SystemExit) as exit_:
            _run(database_url, argv, built)
        assert exit_.value.code == 2
    assert built == []


def test_workers_runs_the_service_s_background_work_without_http(database_url: str) -> None:
    built: list[Container] = []
    assert _run(database_url, ["workers"], built) == 0
    [container] = built
    assert (container.command, container.ran, container.closed) == ("workers", ["workers"], True)


def test_a_second_process_of_the_service_builds_only_once_the_first_has_built(
    database_url: str,
) -> None:
    """Its API and its workers start together: their DDL never races."""
    key = "hazina start example"
    with psycopg.connect(conninfo_for(database_url), autocommit=True) as first:
        first.execute("SELECT pg_advisory_lock(hashtext(%s))", (key,))  # the first one, building
        built: list[Container] = []
        second = threading.Thread(target=_run, args=(database_url, ["rebuild"], built))
        second.start()

        def waiting() -> bool:
            row = first.execute(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
            ).fetchone()
            return bool(row and row[0])

        eventually(waiting, "the second process waits for the first")
        assert built == []
        first.execute("SELECT pg_advisory_unlock(hashtext(%s))", (key,))
        second.join(timeout=120)
    assert [c.ran for c in built] == [["rebuild"]]


def test_a_long_running_command_starts_with_its_start_up_objects_frozen() -> None:
    """What start-up made is not walked by every collection, and the young generation is
    collected less often (measured in bench/README.md: ~10% less CPU per C2B confirmation)."""
    threshold = gc.get_threshold()
    try:
        settle_garbage_collector()
        assert gc.get_freeze_count() > 0
        assert gc.get_threshold() == (YOUNG_COLLECTION_THRESHOLD, *threshold[1:])
    finally:
        gc.unfreeze()
        gc.set_threshold(*threshold)
