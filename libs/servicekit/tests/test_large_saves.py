"""A save of megabytes commits, against real PostgreSQL.

psycopg's pipeline mode left the end of a large pipeline unsent and waited for results forever
(the ledger's group-commit writer hung in a bench: client in ``poll(POLLIN)``, server in
``ClientRead``). Every service's event store uses ``UnpipelinedRecorder``; this saves what hung
the library's recorder at once (4,000 events of 2 kB), several times, and checks that what the
library promises of ``insert_events`` still holds: every event stored, notification ids in
order, a version taken twice refused as the library's ``IntegrityError``.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator

import pytest
from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event
from eventsourcing.persistence import IntegrityError, StoredEvent

from hazina_servicekit.database import ensure_schema
from hazina_servicekit.eventstore import UnpipelinedRecorder, postgres_env

pytestmark = pytest.mark.integration

SAFETY_NET_SECONDS = 300  # a save here takes well under a second; a hang never ends


class Parcel(Aggregate):
    TOPIC = "hazina.test.Parcel"

    class Created(Aggregate.Created):
        TOPIC = "hazina.test.Parcel.Created"

    class Packed(Aggregate.Event):
        TOPIC = "hazina.test.Parcel.Packed"
        contents: str

    @event(Packed)
    def pack(self, contents: str) -> None:
        self.contents = contents


class Parcels(Application[uuid.UUID]):
    name = "parcels"


@pytest.fixture
def parcels(database_url: str) -> Iterator[Parcels]:
    ensure_schema(database_url, "parcels")
    app = Parcels(env=postgres_env(database_url, "parcels"))
    try:
        yield app
    finally:
        app.close()


def saved_within_the_safety_net(app: Parcels, aggregates: list[Parcel]) -> None:
    failure: list[BaseException] = []
    done = threading.Event()

    def save() -> None:
        try:
            app.save(*aggregates)
        except BaseException as exc:  # handed to the test's thread
            failure.append(exc)
        finally:
            done.set()

    threading.Thread(target=save, daemon=True).start()
    assert done.wait(SAFETY_NET_SECONDS), "the save never committed (a pipeline left unsent?)"
    if failure:
        raise failure[0]


def test_saves_of_megabytes_commit_with_every_event_in_order(parcels: Parcels) -> None:
    assert isinstance(parcels.recorder, UnpipelinedRecorder)
    for _ in range(3):
        batch = []
        for _ in range(2_000):
            parcel = Parcel()
            parcel.pack("x" * 2_000)
            batch.append(parcel)
        saved_within_the_safety_net(parcels, batch)
    notifications = parcels.recorder.select_notifications(start=None, limit=20_000)
    assert len(notifications) == 12_000
    ids = [n.id for n in notifications]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    last = parcels.repository.get(batch[-1].id)
    assert last.contents == "x" * 2_000


def test_a_version_taken_twice_is_refused_and_nothing_of_the_save_is_stored(
    parcels: Parcels,
) -> None:
    parcel = Parcel()
    parcels.save(parcel)
    before = parcels.recorder.max_notification_id()
    fresh = StoredEvent(
        originator_id=uuid.uuid4(),
        originator_version=1,
        topic="hazina.test.Parcel.Created",
        state=b"{}",
    )
    taken = StoredEvent(
        originator_id=parcel.id,
        originator_version=parcel.version,  # already stored
        topic="hazina.test.Parcel.Created",
        state=b"{}",
    )
    with pytest.raises(IntegrityError):
        parcels.recorder.insert_events([fresh, taken])
    assert parcels.recorder.max_notification_id() == before
    ids = parcels.recorder.insert_events([fresh])
    assert ids is not None and len(ids) == 1 and ids[0] > (before or 0)


def test_every_byte_of_a_state_and_every_character_of_a_topic_is_stored_as_given(
    parcels: Parcels,
) -> None:
    """The events go as one binary parameter (no text escaping): what is read back is what
    was written, byte for byte, versions beyond a smallint included."""
    written = [
        StoredEvent(
            originator_id=uuid.uuid4(),
            originator_version=version,
            topic=topic,
            state=state,
        )
        for version, topic, state in (
            (1, "hazina.test.Parcel.Created", bytes(range(256))),
            (70_000, "hazina.test.Parcel.Packed 'quoted' \"double\" \\ {braces},", b"\\x00'\"{}"),
            (2**40, "hazina.test.Parcel.Ñ — Kiswahili: Habari", b""),
        )
    ]
    ids = parcels.recorder.insert_events(written)
    assert ids is not None and len(ids) == 3
    for stored in written:
        (read,) = parcels.recorder.select_events(stored.originator_id)
        assert read == stored
