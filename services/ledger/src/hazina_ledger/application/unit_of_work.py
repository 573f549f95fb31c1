"""A unit of work: the aggregates one command (or one batch of commands) reads and changes.

Everything a command changes is saved in one transaction by the writer; a command that raises
leaves nothing behind, because its unit of work is never committed.
"""

from __future__ import annotations

import uuid
from collections import OrderedDict
from collections.abc import Iterable
from typing import Any, TypeVar

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import StoredEvent
from psycopg_pool import ConnectionPool

from hazina_servicekit.eventstore import events_table

A = TypeVar("A", bound=Aggregate)


def mutate_in_turn(aggregate: Any, domain_events: Iterable[Any]) -> Any:
    """The library's ``project_aggregate`` without its check of each event against a runtime
    ``Protocol``: on Python 3.11 that check was ~3% of the ledger workers' CPU per posting. Our
    aggregates' events are the library's own ``Aggregate.Event`` classes, which all mutate."""
    for domain_event in domain_events:
        aggregate = domain_event.mutate(aggregate)
    return aggregate


class AggregateCache:
    """The writer's own most-recently-used aggregates, valid only as of its last commit."""

    def __init__(self, maxsize: int) -> None:
        self.maxsize = maxsize
        self._items: OrderedDict[uuid.UUID, Aggregate] = OrderedDict()

    def get(self, aggregate_id: uuid.UUID) -> Aggregate | None:
        found = self._items.get(aggregate_id)
        if found is not None:
            self._items.move_to_end(aggregate_id)
        return found

    def put(self, aggregate: Aggregate) -> None:
        if self.maxsize <= 0:
            return
        self._items[aggregate.id] = aggregate
        self._items.move_to_end(aggregate.id)
        while len(self._items) > self.maxsize:
            self._items.popitem(last=False)

    def evict(self, ids: Iterable[uuid.UUID]) -> None:
        for aggregate_id in ids:
            self._items.pop(aggregate_id, None)

    def clear(self) -> None:
        self._items.clear()


class UnitOfWork:
    def __init__(self, app: Application[uuid.UUID], cache: AggregateCache | None = None) -> None:
        self.app = app
        self.cache = cache
        self.seen: dict[uuid.UUID, Aggregate] = {}
        self.absent: set[uuid.UUID] = set()
        self.deferred_error: Exception | None = None
        # The aggregates the current command was handed, with their pending events at that
        # moment: whether a failed command changed anything is a look at these alone, not at
        # every aggregate of the batch (that was O(batch) per command, O(batch²) per batch).
        self._handed: dict[uuid.UUID, int] = {}

    def get(self, cls: type[A], aggregate_id: uuid.UUID) -> A | None:
        found = self.seen.get(aggregate_id)
        if found is None and self.cache is not None:
            found = self.cache.get(aggregate_id)
        if found is None and aggregate_id not in self.absent:
            try:
                found = self.app.repository.get(aggregate_id, projector_func=mutate_in_turn)
            except AggregateNotFoundError:
                self.absent.add(aggregate_id)
        if found is None:
            return None
        if not isinstance(found, cls):
            raise TypeError(f"{aggregate_id} is a {type(found).__name__}, not a {cls.__name__}")
        self.seen[aggregate_id] = found
        if aggregate_id not in self._handed:
            self._handed[aggregate_id] = len(found.pending_events)
        return found

    def add(self, aggregate: Aggregate) -> None:
        self.seen[aggregate.id] = aggregate
        self.absent.discard(aggregate.id)
        self._handed.setdefault(aggregate.id, 0)  # made by this command: all its events are new

    def defer(self, error: Exception) -> None:
        """Raise ``error`` to the caller once what the command recorded (a flag) is committed."""
        self.deferred_error = error

    def begin_command(self) -> None:
        """The next command starts: forget which aggregates the last one was handed."""
        self._handed = {}

    def command_changed_anything(self) -> bool:
        """Whether the current command recorded an event on any aggregate it was handed."""
        return any(len(self.seen[i].pending_events) != n for i, n in self._handed.items())

    def touched(self) -> list[Aggregate]:
        return [a for a in self.seen.values() if a.pending_events]

    def preload(
        self, pool: ConnectionPool, aggregate_ids: Iterable[uuid.UUID], *, build: bool
    ) -> None:
        """Find many aggregates in one query: build them (``build``) or only learn which are absent."""
        wanted = [
            i
            for i in set(aggregate_ids)
            if i not in self.seen
            and i not in self.absent
            and (self.cache is None or self.cache.get(i) is None)
        ]
        if not wanted:
            return
        table = events_table(self.app)
        with pool.connection() as conn:
            if not build:
                rows = conn.execute(
                    f"SELECT DISTINCT originator_id FROM {table} WHERE originator_id = ANY(%s)",  # noqa: S608
                    (wanted,),
                ).fetchall()
                present = {row[0] for row in rows}
                self.absent.update(i for i in wanted if i not in present)
                return
            rows = conn.execute(
                f"SELECT originator_id, originator_version, topic, state FROM {table} "  # noqa: S608
                "WHERE originator_id = ANY(%s) ORDER BY originator_id, originator_version",
                (wanted,),
            ).fetchall()
        events: dict[uuid.UUID, list[Any]] = {}
        for originator_id, version, topic, state in rows:
            stored = StoredEvent(
                originator_id=originator_id,
                originator_version=version,
                topic=topic,
                state=bytes(state),
            )
            events.setdefault(originator_id, []).append(self.app.mapper.to_domain_event(stored))
        for aggregate_id in wanted:
            if aggregate_id in events:
                aggregate = mutate_in_turn(None, events[aggregate_id])
                if aggregate is not None:
                    self.seen[aggregate_id] = aggregate
            else:
                self.absent.add(aggregate_id)
