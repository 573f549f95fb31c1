"""Where the system ``make run`` started can be reached, for operators' commands run beside it.

``make run`` records its database and NATS URLs in ``<state dir>/stack.json`` (the embedded
PostgreSQL listens on a Unix socket whose directory is only known once it has started) and
removes the record when it stops. ``make replay`` and ``make verify`` read it back through
``python -m hazina_devstack with-running -- <command>``; an explicit ``DATABASE_URL`` wins.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path

STATE_FILE = "stack.json"


class NotRunningError(RuntimeError):
    """No system started by ``make run`` is running (and no DATABASE_URL was given)."""


@dataclass(frozen=True)
class RunningStack:
    pid: int
    database_url: str
    nats_url: str
    url: str

    def environment(self) -> dict[str, str]:
        return {
            "DATABASE_URL": self.database_url,
            "NATS_URL": self.nats_url,
            "HAZINA_URL": self.url,
        }


def record(state_dir: Path, stack: RunningStack) -> Path:
    """Write the record atomically, readable by its owner only (URLs may carry credentials)."""
    state_dir.mkdir(parents=True, exist_ok=True)
    path = state_dir / STATE_FILE
    partial = path.with_suffix(".tmp")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        json.dump(asdict(stack), out)
    partial.replace(path)
    return path


def forget(state_dir: Path, pid: int) -> None:
    """Remove the record, if it is still this process's (a newer ``make run`` may own it)."""
    found = _read(state_dir)
    if found is not None and found.pid == pid:
        (state_dir / STATE_FILE).unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # it exists, under another user
    return True


def _read(state_dir: Path) -> RunningStack | None:
    try:
        data = json.loads((state_dir / STATE_FILE).read_text())
        return RunningStack(
            pid=int(data["pid"]),
            database_url=str(data["database_url"]),
            nats_url=str(data["nats_url"]),
            url=str(data["url"]),
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None


def find(state_dir: Path) -> RunningStack | None:
    """The running system's record; None when there is none or its process has gone."""
    found = _read(state_dir)
    if found is None or not _alive(found.pid):
        return None
    return found


def environment_for(state_dir: Path, environ: Mapping[str, str]) -> dict[str, str]:
    """The variables an operator's command needs to reach the running system.

    An explicit ``DATABASE_URL`` is used as it is (any system, not only a local one); otherwise
    the running system's record supplies it, and the command fails clearly when there is none.
    """
    if environ.get("DATABASE_URL"):
        return {"DATABASE_URL": environ["DATABASE_URL"]}
    found = find(state_dir)
    if found is None:
        stale = (state_dir / STATE_FILE).exists()
        raise NotRunningError(
            "No Hazina system is running"
            + (" (the record of one that stopped was found)" if stale else "")
            + f": start it with `make run` (state in {state_dir}), or set DATABASE_URL"
        )
    return found.environment()
