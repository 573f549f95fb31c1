"""Stored events are forever: checks that keep every service able to read what it once wrote.

The event store keeps, for each event, its class's *topic*, and for each aggregate (in its first
event's ``originator_topic``) the aggregate class's topic. By default a topic is the module path
(``hazina_x.domain.loan:Loan.Approved``), so moving or renaming a module would make stored events
unreadable. Every stored class therefore pins a stable topic (``hazina.<service>.<Aggregate>``,
``hazina.<service>.<Aggregate>.<Event>``); topics stored before pinning stay readable through
aliases the domain registers with ``register_topic``.

- ``unpinned_topics(package, prefix)``: the stored classes of a package whose topic would come
  from the module path (a test per service fails on any).
- ``write_fixture`` / ``load_fixture``: a release's stored rows, committed as JSON, loaded into a
  fresh store by a test that reads them with today's code.
- ``unresolvable_if_moved(package, topics)``: the stored topics that would no longer resolve if
  every module of the package moved (checked in a fresh interpreter, so nothing is cached).
"""

from __future__ import annotations

import importlib
import json
import pkgutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from eventsourcing.application import Application
from eventsourcing.domain import BaseAggregate, CanMutateAggregate, DomainEvent
from eventsourcing.persistence import StoredEvent
from eventsourcing.utils import construct_topic, resolve_topic

FIXTURE_NOTE = (
    "Events as the release named here stored them. This file is the promise that today's code "
    "still reads them: never edit or regenerate it; a new release adds its own file."
)


def import_package(package: str) -> None:
    """Import every module of ``package`` (not ``__main__``), so all its classes exist."""
    root = importlib.import_module(package)
    for module in pkgutil.walk_packages(root.__path__, prefix=f"{package}."):
        if not module.name.endswith(".__main__"):
            importlib.import_module(module.name)


def _subclasses(base: type) -> Iterator[type]:
    sub: type
    for sub in base.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def _in(package: str, cls: type) -> bool:
    return cls.__module__ == package or cls.__module__.startswith(f"{package}.")


def stored_classes(package: str) -> list[type]:
    """Aggregate classes and domain event classes of ``package``: what the store names.

    Each aggregate class (its topic is stored in its first event), every event class it holds
    (``Loan.Approved``, and the ``Created`` class the library defines on each aggregate even
    when ``__init__`` records another event), and event classes defined outside aggregates.
    An aggregate's ``Event`` base class is left out: it is never stored (the library refuses
    to trigger it on an aggregate with a pinned topic).
    """
    import_package(package)
    found: dict[type, None] = {}
    for aggregate in _subclasses(BaseAggregate):
        if not _in(package, aggregate):
            continue
        found[aggregate] = None
        for name, value in vars(aggregate).items():
            if (
                isinstance(value, type)
                and issubclass(value, CanMutateAggregate)
                and name != "Event"
            ):
                found[value] = None
    for base in (CanMutateAggregate, DomainEvent):
        for cls in _subclasses(base):
            if _in(package, cls) and "." not in cls.__qualname__:
                found[cls] = None
    return sorted(found, key=lambda cls: (cls.__module__, cls.__qualname__))


def unpinned_topics(package: str, prefix: str) -> list[str]:
    """Why each stored class of ``package`` lacks a stable topic under ``prefix``; empty is good.

    A class's topic must be pinned (``TOPIC``, or ``@event(..., topic=...)``), not its module
    path; it must be under ``prefix`` and must name that very class (a ``TOPIC`` inherited from
    another stored class would name the other one).
    """
    problems: list[str] = []
    for cls in stored_classes(package):
        name = f"{cls.__module__}:{cls.__qualname__}"
        topic = construct_topic(cls)  # what the store would write, without registering it
        if ":" in topic or not topic.startswith(f"{prefix}."):
            problems.append(f"{name} has topic {topic!r}, not one pinned under {prefix!r}")
        elif (named := resolve_topic(topic)) is not cls:
            problems.append(f"{name} has topic {topic!r}, which names {named!r}")
    return problems


def stored_rows(app: Application[uuid.UUID]) -> list[dict[str, Any]]:
    """Every stored event of ``app`` in notification order, as JSON-ready rows."""
    rows: list[dict[str, Any]] = []
    start = 1
    while notifications := app.recorder.select_notifications(start=start, limit=500):
        for n in notifications:
            rows.append(
                {
                    "notification_id": n.id,
                    "originator_id": str(n.originator_id),
                    "originator_version": n.originator_version,
                    "topic": n.topic,
                    # The mapper's JSON, byte for byte (no cipher or compressor is configured).
                    "state": n.state.decode("utf-8"),
                }
            )
        start = notifications[-1].id + 1
    return rows


def release_of(source: Path) -> str:
    """``<commit date>-<commit>`` of the code in ``source``, which must have no uncommitted change."""

    def git(*args: str) -> str:
        return subprocess.run(  # noqa: S603 - fixed git arguments
            ["git", *args],  # noqa: S607 - git from PATH, as the developer runs it
            cwd=source,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()

    if git("status", "--porcelain", "--", "."):
        raise RuntimeError(f"{source} has uncommitted changes: a fixture names committed code")
    return git("log", "-1", "--format=%cs-%h")


def write_fixture(app: Application[uuid.UUID], folder: Path, *, release: str, service: str) -> Path:
    """Write ``app``'s stored events to ``folder/<release>.json``; never over an existing file."""
    path = folder / f"{release}.json"
    if path.exists():
        raise FileExistsError(f"{path} exists: a release's stored events are never rewritten")
    rows = stored_rows(app)
    if not rows:
        raise ValueError("nothing is stored: drive the service before writing its fixture")
    folder.mkdir(parents=True, exist_ok=True)
    body = {"service": service, "release": release, "note": FIXTURE_NOTE, "events": rows}
    path.write_text(json.dumps(body, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


def fixture_files(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.json"))


def read_fixture(path: Path) -> list[dict[str, Any]]:
    return list(json.loads(path.read_text(encoding="utf-8"))["events"])


def load_fixture(app: Application[uuid.UUID], path: Path) -> list[uuid.UUID]:
    """Insert a fixture's rows, as stored, into ``app``'s (empty) store; returns the aggregate ids."""
    rows = read_fixture(path)
    app.recorder.insert_events(
        [
            StoredEvent(
                originator_id=uuid.UUID(row["originator_id"]),
                originator_version=int(row["originator_version"]),
                topic=str(row["topic"]),
                state=str(row["state"]).encode("utf-8"),
            )
            for row in rows
        ]
    )
    return list(dict.fromkeys(uuid.UUID(row["originator_id"]) for row in rows))


def read_release(app: Application[uuid.UUID], path: Path) -> list[BaseAggregate[uuid.UUID]]:
    """A release's fixture loaded into ``app``'s fresh store and read back (``read_back``)."""
    return read_back(app, load_fixture(app, path))


def read_back(app: Application[uuid.UUID], ids: list[uuid.UUID]) -> list[BaseAggregate[uuid.UUID]]:
    """Every aggregate rebuilt from its events, and every stored event decoded, by today's code.

    Returns the aggregates; fails if one cannot be rebuilt or stops short of its last event.
    """
    last: dict[uuid.UUID, int] = {}
    start = 1
    while notifications := app.recorder.select_notifications(start=start, limit=500):
        for n in notifications:
            app.mapper.to_domain_event(n)
            key = uuid.UUID(str(n.originator_id))
            last[key] = max(last.get(key, 0), n.originator_version)
        start = notifications[-1].id + 1
    aggregates: list[BaseAggregate[uuid.UUID]] = [app.repository.get(i) for i in ids]
    short = [a.id for a in aggregates if a.version != last[a.id]]
    if short:
        raise AssertionError(f"aggregates rebuilt short of their last stored event: {short}")
    return aggregates


def stored_topics(rows: list[dict[str, Any]]) -> set[str]:
    """Every topic the rows name: each event's own, and each aggregate's ``originator_topic``."""
    topics = {str(row["topic"]) for row in rows}
    for row in rows:
        originator = json.loads(row["state"]).get("originator_topic")
        if originator:
            topics.add(str(originator))
    return topics


_MOVED = """
import json, sys
from hazina_servicekit.stored_events import import_package
package, topics = sys.argv[1], json.loads(sys.stdin.read())
import_package(package)
for name in [m for m in sys.modules if m == package or m.startswith(package + ".")]:
    del sys.modules[name]

class Moved:
    def find_spec(self, name, path=None, target=None):
        if name == package or name.startswith(package + "."):
            raise ImportError(f"{name} has moved")
        return None

sys.meta_path.insert(0, Moved())
from eventsourcing.utils import resolve_topic
failed = []
for topic in topics:
    try:
        resolve_topic(topic)
    except Exception as error:
        failed.append(f"{topic}: {error}")
print(json.dumps(failed))
"""


def unresolvable_if_moved(package: str, topics: set[str]) -> list[str]:
    """Stored topics that would not resolve had every module of ``package`` moved elsewhere.

    A fresh interpreter imports the package (registering pinned topics and aliases), then
    forgets its modules and refuses to import them again, and resolves each topic: only what
    the classes registered themselves can answer.
    """
    done = subprocess.run(  # noqa: S603 - our own interpreter, a fixed script
        [sys.executable, "-c", _MOVED, package],
        input=json.dumps(sorted(topics)),
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"checking {package} as if moved failed:\n{done.stderr}")
    return list(json.loads(done.stdout.strip().splitlines()[-1]))


def published(app: Application[uuid.UUID], to_contract: Any) -> list[Any]:
    """Every stored event of ``app`` as its relay would publish it (``None``s, the unpublished, left out)."""
    notifications = app.recorder.select_notifications(start=1, limit=10_000)
    contracts = (to_contract(app.mapper.to_domain_event(n)) for n in notifications)
    return [contract for contract in contracts if contract is not None]
