"""One worker's share of ``hazina-ledger replay``'s rebuild, split by aggregate.

``replay`` applies share 0 itself and starts ``python -m hazina_ledger.replay_share JOB`` for each
other: this module imports only what applying the read side needs (not the API or the CLI), so
a worker starts in about a second. A started worker prints ``progress <position> <events>`` as
it goes and ``done <events> <peak RSS MiB>`` at the end on stdout.
"""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import json
import resource
import subprocess
import sys
import tempfile
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import cast

import psycopg
from eventsourcing.application import Application
from eventsourcing.persistence import Mapper, Notification
from eventsourcing.postgres import PostgresApplicationRecorder
from psycopg import sql
from psycopg_pool import ConnectionPool

from hazina_ledger.adapters.read_models import read_side_share
from hazina_ledger.application.clock import SystemClock
from hazina_ledger.application.ledger import Ledger
from hazina_servicekit.database import open_pool
from hazina_servicekit.eventstore import postgres_env


def peak_rss_mib() -> float:
    """Peak resident memory of this process so far (Linux VmHWM: ru_maxrss would include the
    memory of the parent this process was forked from before it exec'd)."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@contextlib.contextmanager
def rare_collections(young: int = 100_000) -> Iterator[None]:
    """Run Python's cycle collector rarely while a rebuild runs.

    A rebuild makes millions of short-lived objects (decoded events, rows held for a page), which
    reference counting frees; the cycle collector still ran every 700 of them and, in its older
    generations, scanned the page held in memory each time: about 40% of the CPU of applying the
    changes. Here what exists before is frozen (never scanned) and a young generation is collected
    every ``young`` net allocations, so garbage cycles are still collected and memory stays flat.
    """
    thresholds = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(young, thresholds[1], thresholds[2])
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)
        gc.unfreeze()


class LogShare:
    """One worker's share of the ledger's log, read as a projection reads its app's log: the
    events up to ``stop`` of the aggregates whose id falls to ``worker`` of ``workers`` (by the
    id's last byte, which PostgreSQL reads off the stored uuid without decoding the event).

    Its own connection reads the events table in notification id order through its index only:
    the planner, guessing the share's filter far too selective, would otherwise sort everything
    left to find each page."""

    def __init__(
        self,
        app: Application[uuid.UUID],
        database_url: str,
        *,
        worker: int,
        workers: int,
        stop: int,
    ) -> None:
        recorder = app.recorder
        if not isinstance(recorder, PostgresApplicationRecorder):  # pragma: no cover
            raise TypeError("the ledger is stored in PostgreSQL")
        self.mapper: Mapper[uuid.UUID] = app.mapper
        self.recorder = self
        self._conn = psycopg.connect(database_url, autocommit=True)
        for setting in ("enable_sort", "enable_bitmapscan", "enable_seqscan"):
            self._conn.execute(sql.SQL("SET {} = off").format(sql.Identifier(setting)))
        self._statement = sql.SQL(
            "SELECT notification_id, originator_id, originator_version, topic, state FROM {}.{} "
            "WHERE notification_id > %s AND notification_id <= %s "
            "AND mod(get_byte(uuid_send(originator_id), 15), %s) = %s ORDER BY notification_id LIMIT %s"
        ).format(
            sql.Identifier(recorder.datastore.schema), sql.Identifier(recorder.events_table_name)
        )
        self._share = (workers, worker)
        self._stop = stop

    def select_notifications(
        self, start: int | None, limit: int, *, inclusive_of_start: bool = True
    ) -> list[Notification]:
        after = (start or 0) - (1 if inclusive_of_start and start else 0)
        rows = self._conn.execute(
            self._statement, (after, self._stop, *self._share, limit), prepare=True
        ).fetchall()
        return [
            Notification(
                id=notification_id,
                originator_id=originator_id,
                originator_version=version,
                topic=topic,
                state=bytes(state),
            )
            for notification_id, originator_id, version, topic, state in rows
        ]

    def close(self) -> None:
        self._conn.close()


@dataclass(frozen=True)
class ShareJob:
    """What one worker of a split rebuild is told (it opens its own connections)."""

    database_url: str
    live_schema: str
    scratch: str
    worker: int
    workers: int
    stop: int
    page_size: int


def rebuild_share(
    job: ShareJob,
    ledger: Application[uuid.UUID],
    pool: ConnectionPool,
    progress: Callable[[int, int], None],
) -> int:
    """Apply ``job``'s share of ``ledger``'s log into the scratch schema of ``pool``; returns the
    events read."""
    share = LogShare(
        ledger, job.database_url, worker=job.worker, workers=job.workers, stop=job.stop
    )
    try:
        projection = read_side_share(cast(Application[uuid.UUID], share), pool, job.worker)
        with rare_collections():
            return projection.catch_up(batch_size=job.page_size, progress=progress)
    finally:
        share.close()


class StartedShare:
    """A worker process started for one share, its progress read from its output by a thread."""

    def __init__(self, job: ShareJob) -> None:
        self.job = job
        self.progress = (0, 0)
        self.result: tuple[int, float] | None = None
        self._errors = tempfile.TemporaryFile()  # noqa: SIM115 - closed by wait or stop
        self._process = subprocess.Popen(  # noqa: S603 - this interpreter, this module
            [sys.executable, "-m", __name__, json.dumps(dataclasses.asdict(job))],
            stdout=subprocess.PIPE,
            stderr=self._errors,
            text=True,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        stdout = self._process.stdout
        assert stdout is not None  # noqa: S101 - opened as a pipe above
        with stdout:
            for line in stdout:  # a log line may come between
                kind, *values = line.split() or [""]
                if kind == "progress" and len(values) == 2:
                    self.progress = (int(values[0]), int(values[1]))
                elif kind == "done" and len(values) == 2:
                    self.result = (int(values[0]), float(values[1]))

    def wait(self) -> tuple[int, float]:
        self._reader.join()  # to the end of its output
        self._process.wait()
        with self._errors:
            if self._process.returncode != 0 or self.result is None:
                self._errors.seek(0)
                errors = self._errors.read().decode(errors="replace")
                raise RuntimeError(f"replay worker {self.job.worker} failed: {errors[-4000:]}")
        return self.result

    def stop(self) -> None:
        """End the worker if it is still running (the rebuild failed elsewhere)."""
        if self._process.poll() is None:
            self._process.kill()
            self._process.wait()
        self._reader.join()
        self._errors.close()


def main(argv: list[str]) -> int:
    job = ShareJob(**json.loads(argv[0]))
    pool = open_pool(job.database_url, job.scratch, max_size=2)
    env = postgres_env(job.database_url, job.live_schema, pool_size=1) | {"CREATE_TABLE": "no"}
    ledger = Ledger(env, clock=SystemClock(), pool=pool)

    def progress(position: int, done: int) -> None:
        sys.stdout.write(f"progress {position} {done}\n")
        sys.stdout.flush()

    try:
        count = rebuild_share(job, ledger, pool, progress)
    finally:
        ledger.close()
        pool.close()
    sys.stdout.write(f"done {count} {peak_rss_mib():.1f}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
