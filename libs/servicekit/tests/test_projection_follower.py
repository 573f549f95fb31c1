"""The read-side follower is woken by commits from any process, and a read never queues behind it.

Real PostgreSQL. A second application object with a pool of its own stands for another process
(the service's API storing events while its workers follow them).
"""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event

from hazina_servicekit.database import conninfo_for, ensure_schema, open_pool
from hazina_servicekit.eventstore import postgres_env
from hazina_servicekit.parking import ParkingLot
from hazina_servicekit.projection import Projection
from hazina_servicekit.testing import eventually

pytestmark = pytest.mark.integration

SCHEMA = "followed"
DDL = "CREATE TABLE IF NOT EXISTS chama_names (chama_id uuid PRIMARY KEY, name text NOT NULL)"


class Chama(Aggregate):
    @event("Registered")
    def __init__(self, name: str) -> None:
        self.name = name


class Chamas(Application):
    name = "chamas"


def apply_chama(domain_event: Any, conn: psycopg.Connection[Any]) -> None:
    if isinstance(domain_event, Chama.Registered):
        conn.execute(
            "INSERT INTO chama_names (chama_id, name) VALUES (%s, %s)",
            (domain_event.originator_id, domain_event.name),
        )


def names(pool: Any) -> set[uuid.UUID]:
    with pool.connection() as conn:
        return {row[0] for row in conn.execute("SELECT chama_id FROM chama_names").fetchall()}


@pytest.fixture
def follower_side(database_url: str) -> Iterator[tuple[Chamas, Any, Projection]]:
    ensure_schema(database_url, SCHEMA)
    pool = open_pool(database_url, SCHEMA)
    app = Chamas(env=postgres_env(database_url, SCHEMA))
    projection = Projection(
        app, pool, "chama_names", apply_chama, DDL, parking=ParkingLot(pool, app)
    )
    try:
        yield app, pool, projection
    finally:
        app.close()
        pool.close()


@pytest.fixture
def other_process(database_url: str, follower_side: Any) -> Iterator[Chamas]:
    app = Chamas(env=postgres_env(database_url, SCHEMA))
    try:
        yield app
    finally:
        app.close()


def test_a_commit_in_another_process_wakes_the_follower_not_its_timer(
    follower_side: Any, other_process: Chamas
) -> None:
    """The follower's timer is an hour: the event is applied because its commit woke it."""
    _, pool, projection = follower_side

    async def scenario() -> None:
        stop = asyncio.Event()
        task = asyncio.create_task(projection.follow(stop, interval_seconds=3600))
        try:
            await asyncio.to_thread(eventually, lambda: projection.position() == 0, "first round")
            chama = Chama("Upendo")
            await asyncio.to_thread(other_process.save, chama)
            await asyncio.to_thread(
                eventually, lambda: chama.id in names(pool), "the follower applied it"
            )
        finally:
            stop.set()
            await task

    asyncio.run(scenario())


def _hold_the_position(database_url: str) -> psycopg.Connection[Any]:
    """Another caller in the middle of applying events: it holds the projection's position."""
    conn = psycopg.connect(conninfo_for(database_url, options=f"-c search_path={SCHEMA}"))
    conn.execute(
        "SELECT notification_id FROM projection_positions WHERE projection = 'chama_names' "
        "FOR UPDATE"
    )
    return conn


def test_a_read_leaves_the_work_to_a_listening_follower_and_does_it_when_there_is_none(
    database_url: str, follower_side: Any, other_process: Chamas
) -> None:
    _, pool, projection = follower_side
    assert not projection.followed()

    async def scenario() -> None:
        stop = asyncio.Event()
        task = asyncio.create_task(projection.follow(stop, interval_seconds=3600))
        try:
            await asyncio.to_thread(eventually, projection.followed, "the follower listens")
            busy = await asyncio.to_thread(_hold_the_position, database_url)  # mid-batch
            try:
                early = Chama("Amani")
                await asyncio.to_thread(other_process.save, early)
                # A read now: it neither queues behind the follower nor does its work.
                read = asyncio.to_thread(projection.catch_up, unless_followed=True)
                assert await asyncio.wait_for(read, timeout=120) == 0  # the bound: never a hang
                assert early.id not in names(pool)  # the views as last committed
            finally:
                busy.rollback()
                busy.close()
            await asyncio.to_thread(
                eventually, lambda: early.id in names(pool), "the follower applied it"
            )
        finally:
            stop.set()
            await task

    asyncio.run(scenario())
    eventually(lambda: not projection.followed(), "the follower's lock goes with it")
    chama = Chama("Tumaini")
    other_process.save(chama)
    assert projection.catch_up(unless_followed=True) == 1  # nobody follows: the read does it
    assert chama.id in names(pool)


def test_a_write_waits_for_the_follower_so_its_answer_includes_it(
    database_url: str, follower_side: Any, other_process: Chamas
) -> None:
    _, pool, projection = follower_side
    chama = Chama("Baraka")
    other_process.save(chama)
    holder = _hold_the_position(database_url)
    done: list[int] = []
    writer = threading.Thread(target=lambda: done.append(projection.catch_up()))
    try:
        writer.start()

        def waiting_for_the_lock() -> bool:
            with psycopg.connect(conninfo_for(database_url), autocommit=True) as conn:
                row = conn.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                    "AND query LIKE '%%projection_positions%%FOR UPDATE'"
                ).fetchone()
            return bool(row and row[0])

        eventually(waiting_for_the_lock, "the write's catch-up waits for the lock")
        assert done == [] and chama.id not in names(pool)
    finally:
        holder.rollback()
        holder.close()
    writer.join(timeout=120)
    assert done == [1] and chama.id in names(pool)
