"""Environment for an ``eventsourcing`` application stored in PostgreSQL, derived from DATABASE_URL."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from eventsourcing.application import Application, ProcessingEvent
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import InterfaceError, OperationalError, Recording, StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder
from eventsourcing.utils import retry
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict

from hazina_servicekit.database import identifier


class UnpipelinedRecorder(PostgresApplicationRecorder):
    """The library's application recorder, storing events without psycopg's pipeline mode.

    psycopg's pipeline (3.3.9, and its main branch in 2026) can leave the end of a large pipeline
    unsent: ``pipeline_communicate`` stops once its commands are queued whether or not the last
    ``PQflush`` sent everything, and the results are then awaited without another flush. A save
    of a few megabytes (a group commit of 500 postings, a burst of payments) then waits forever
    on a server that waits for the rest: the client in ``poll(POLLIN)``, the server in
    ``ClientRead`` after the library's ``NOTIFY``. ``tests/test_large_saves.py`` hangs with the
    library's recorder. Here the same statements (insert lock, ``NOTIFY``, one ``INSERT`` of
    every event) go one after the other, each sent in full: two more round trips per save.
    Chosen by the library's own ``APPLICATION_RECORDER_TOPIC`` (``postgres_env``).

    The events go as one array parameter sent in binary (``%b``): psycopg dumps an array of the
    library's composite rows in text in Python, escaping every byte of every state, at ~40 µs an
    event, against ~4 µs in binary (every service's saves pay it; the ledger's group commit of
    hundreds of postings most).
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.insert_events_statement = _binary_parameters(self.insert_events_statement)

    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        notification_ids: Sequence[int] | None = None
        with self.datastore.get_connection() as conn, conn.transaction():
            with conn.cursor() as curs:
                self._insert_events(curs, stored_events, **kwargs)
            if len(stored_events) > 0:
                with conn.cursor() as curs:
                    self._insert_stored_events(curs, stored_events, **kwargs)
                    notification_ids = self._fetch_ids_after_insert_events(
                        curs, stored_events, **kwargs
                    )
        return notification_ids


class EventStoreApplication(Application[uuid.UUID]):
    """The library's ``Application``, saving aggregates without its runtime ``Protocol`` checks.

    ``Application.save`` collects events by ``isinstance`` against runtime-checkable Protocols,
    which on Python 3.11 walk each Protocol's members at every check: 15% of a ledger batch's
    Python time, 4.5% of the gateway's. Given only aggregates (every service's case), ``save``
    collects their events directly and runs the library's own steps (record, snapshots, notify);
    anything else goes to the library's ``save``. The library builds its ``ProcessingEvent``
    inside ``save`` and offers no extension point for this, so a version of the library that
    changes ``save`` must be followed here (its few lines; the services' store, snapshot and
    replay tests fail if a step is missed).
    """

    def save(self, *objs: Any, **kwargs: Any) -> list[Recording[uuid.UUID]]:
        if kwargs or not all(isinstance(obj, Aggregate) for obj in objs):
            return super().save(*objs, **kwargs)
        processing = ProcessingEvent[uuid.UUID]()
        for aggregate in objs:
            processing.events.extend(aggregate.collect_events())
            processing.aggregates[aggregate.id] = aggregate
        recordings = self._record(processing)
        self._take_snapshots(processing)
        self._notify(recordings)
        self.notify(processing.events)  # the library's deprecated hook, kept as save calls it
        return recordings


def _binary_parameters(statement: sql.Composed) -> sql.Composed:
    """``statement`` with its parameters sent in binary (each ``%s`` placeholder as ``%b``)."""
    return sql.Composed([_binary_placeholders(part) for part in statement])


def _binary_placeholders(part: sql.Composable) -> sql.Composable:
    if isinstance(part, sql.Composed):
        return _binary_parameters(part)
    if isinstance(part, sql.SQL):
        return sql.SQL(part.as_string().replace("%s", "%b"))
    return part


def postgres_env(database_url: str, schema: str, *, pool_size: int = 5) -> dict[str, str]:
    """Settings passed as ``Application(env=...)``; never by mutating ``os.environ``.

    The library's default insert lock is kept on purpose: its DB-functions mode lets
    followers skip events under concurrent writers (see shared/docs/eventsourcing.md §1.5).
    """
    params = conninfo_to_dict(database_url)
    return {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "POSTGRES_DBNAME": str(params.get("dbname") or "postgres"),
        "POSTGRES_HOST": str(params.get("host") or "127.0.0.1"),
        "POSTGRES_PORT": str(params.get("port") or "5432"),
        "POSTGRES_USER": str(params.get("user") or "postgres"),
        "POSTGRES_PASSWORD": str(params.get("password") or ""),
        "POSTGRES_SCHEMA": identifier(schema),
        "POSTGRES_POOL_SIZE": str(pool_size),
        "POSTGRES_MAX_OVERFLOW": str(pool_size * 2),
        "POSTGRES_LOCK_TIMEOUT": "10",
        "POSTGRES_ENABLE_DB_FUNCTIONS": "no",
        "APPLICATION_RECORDER_TOPIC": f"{__name__}:{UnpipelinedRecorder.__qualname__}",
        "CREATE_TABLE": "yes",
    }


def events_table(app: Application[uuid.UUID]) -> str:
    """The table ``app`` stores its events in, for the set-based SQL that reads it directly."""
    recorder = app.recorder
    if not isinstance(recorder, PostgresApplicationRecorder):
        raise TypeError(f"{type(app).__name__} is not stored in PostgreSQL (see postgres_env)")
    return recorder.events_table_name
