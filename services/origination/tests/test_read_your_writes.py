"""Reads with the read models left to their follower (woken by every commit, holding its lock):
a GET shows them as last committed and never does the follower's work, so it never queues behind
it under load; a write through the API answers only once the read models include it, so every
read after it shows it."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg

from hazina_origination.application.commands import Actor, CreateGroup
from hazina_servicekit.database import conninfo_for


@contextmanager
def follower_listening(container: Any) -> Iterator[None]:
    """Hold the lock a listening follower holds (``Projection.follow``)."""
    with psycopg.connect(conninfo_for(container.settings.database_url), autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (container.projection.follower_key,))
        yield


def test_a_group_created_through_the_api_is_in_the_read_right_after_it(
    world: Any, container: Any, officer: Any
) -> None:
    with follower_listening(container):
        group = world.group(officer, approve=False)
        found = world.http.get(f"/api/groups/{group['_id']}", headers=officer.headers)
        assert found.status_code == 200, found.text
        assert found.json()["name"] == group["name"]


def test_a_read_leaves_what_was_not_written_through_the_api_to_the_follower(
    world: Any, container: Any, officer: Any
) -> None:
    actor = Actor(user_id=officer.user_id, role=officer.role)
    with follower_listening(container):
        group = container.app.create_group(
            CreateGroup(
                name=f"Upendo {uuid.uuid4().hex[:6]}",
                meeting_day="Wednesday",
                meeting_time="10:00",
                loan_officer_id=None,
                branch_id=None,
                region=None,
            ),
            actor,
        )
        url = f"/api/groups/{group.id}"
        assert world.http.get(url, headers=officer.headers).status_code == 404  # not yet applied
    # No follower any more: the read brings the read models up to date itself.
    assert world.http.get(url, headers=officer.headers).status_code == 200
