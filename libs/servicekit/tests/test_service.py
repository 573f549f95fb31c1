"""The service declaration: prefixed settings, the one retry idiom, jobs one process runs at a time."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from eventsourcing.persistence import IntegrityError
from psycopg_pool import ConnectionPool

from hazina_servicekit.database import ensure_schema, open_pool
from hazina_servicekit.retry import retry_on_conflict
from hazina_servicekit.service import Job, run_job_once
from hazina_servicekit.settings import ServiceSettings, service_config


class ShopSettings(ServiceSettings):
    model_config = service_config("SHOP_")

    port: int = 8199
    db_schema: str = "shop"


def test_own_settings_are_read_with_the_prefix_and_shared_ones_without(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://db/shop")
    monkeypatch.setenv("NATS_URL", "nats://broker:4222")
    monkeypatch.setenv("SHOP_PORT", "9001")
    monkeypatch.setenv("PORT", "1")  # not the service's: ignored

    settings = ShopSettings()

    assert settings.port == 9001
    assert settings.db_schema == "shop"
    assert settings.database_url == "postgresql://db/shop"
    assert settings.nats_url == "nats://broker:4222"


def test_keyword_arguments_may_be_spelt_as_the_variable_and_win_over_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SHOP_PORT", "9001")

    assert ShopSettings(DATABASE_URL="x", SHOP_PORT=9002).port == 9002
    assert ShopSettings(database_url="x", port=9003).port == 9003


def test_a_conflict_is_decided_again_until_it_goes_through() -> None:
    tries: list[int] = []

    def attempt() -> str:
        tries.append(1)
        if len(tries) < 3:
            raise IntegrityError("another writer saved first")
        return "saved"

    assert retry_on_conflict(attempt, attempts=5) == "saved"
    assert len(tries) == 3


def test_the_last_conflict_is_raised_when_every_attempt_lost() -> None:
    tries: list[int] = []

    def attempt() -> str:
        tries.append(1)
        raise IntegrityError("always second")

    with pytest.raises(IntegrityError):
        retry_on_conflict(attempt, attempts=4)
    assert len(tries) == 4


@pytest.fixture
def pool(database_url: str) -> Iterator[ConnectionPool]:
    ensure_schema(database_url, "jobs")
    opened = open_pool(database_url, "jobs")
    yield opened
    opened.close()


def test_a_job_runs_in_one_process_at_a_time(pool: ConnectionPool) -> None:
    inside = threading.Event()
    release = threading.Event()
    runs: list[str] = []

    def slow() -> None:
        runs.append("first")
        inside.set()
        release.wait(timeout=60)

    first = threading.Thread(target=run_job_once, args=(pool, "shop", Job("tally", 1.0, slow)))
    first.start()
    assert inside.wait(timeout=60)

    # A second process's round finds the job running and leaves it.
    assert run_job_once(pool, "shop", Job("tally", 1.0, lambda: runs.append("second"))) is False
    # Another job, or the same job of another service, is not held up.
    assert run_job_once(pool, "shop", Job("restock", 1.0, lambda: runs.append("other"))) is True
    assert run_job_once(pool, "till", Job("tally", 1.0, lambda: runs.append("till"))) is True

    release.set()
    first.join(timeout=60)
    assert run_job_once(pool, "shop", Job("tally", 1.0, lambda: runs.append("later"))) is True
    assert runs == ["first", "other", "till", "later"]


def test_a_failing_job_lets_go_of_its_lock(pool: ConnectionPool) -> None:
    def broken() -> None:
        raise RuntimeError("the till is jammed")

    with pytest.raises(RuntimeError):
        run_job_once(pool, "shop", Job("tally", 1.0, broken))
    assert run_job_once(pool, "shop", Job("tally", 1.0, lambda: None)) is True
