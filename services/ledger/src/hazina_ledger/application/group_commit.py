"""Group commit: many money commands, one transaction, as TigerBeetle batches transfers.

Callers hand a command to the writer and wait. The writer thread takes every command waiting,
runs them one after another against a shared unit of work (aggregates it already holds stay in
memory), and saves all their events in ONE ``save()``: one lock, one commit. Each caller is
answered only after that commit, so an acknowledged command is durable.

If the batch cannot commit (another process changed one of its aggregates first: an optimistic
version conflict), nothing of it is stored; the writer forgets what it held and runs each command
again on its own, re-reading and retrying, so no command is ever lost.
"""

from __future__ import annotations

import queue
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

import structlog
from eventsourcing.application import Application
from psycopg_pool import ConnectionPool

from hazina_ledger.application.unit_of_work import AggregateCache, UnitOfWork
from hazina_ledger.domain.errors import LedgerError

log = structlog.get_logger(__name__)


@dataclass
class Job:
    """A command as the writer runs it, with the ids it will read (fetched for the batch at once)."""

    run: Callable[[UnitOfWork], Any]
    loan_ids: Iterable[uuid.UUID] = ()
    receipt_ids: Iterable[uuid.UUID] = ()
    future: Future[Any] = field(default_factory=Future)


class GroupCommitWriter:
    def __init__(
        self,
        app: Application[uuid.UUID],
        pool: ConnectionPool,
        direct: Callable[[Job], Any],
        commit: Callable[[UnitOfWork], None],
        *,
        max_batch: int = 500,
        cache_size: int = 50_000,
        linger_seconds: float = 0.002,
    ) -> None:
        self.app = app
        self.pool = pool
        self.direct = direct
        self.commit = commit
        self.max_batch = max_batch
        self.linger_seconds = linger_seconds
        self.cache = AggregateCache(cache_size)
        self._queue: queue.Queue[Job | list[Job] | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self.batches = 0
        self.commands = 0
        self.fallbacks = 0

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        if self.running:
            return
        self._thread = threading.Thread(target=self._loop, name="ledger-group-commit", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._thread is None:
            return
        self._queue.put(None)
        self._thread.join(timeout=10)
        self._thread = None

    def submit(self, job: Job) -> Future[Any]:
        self._queue.put(job)
        return job.future

    def submit_many(self, jobs: Sequence[Job]) -> list[Future[Any]]:
        """Jobs that go into one batch together (with whatever else waits): one commit."""
        self._queue.put(list(jobs))
        return [job.future for job in jobs]

    def _loop(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            jobs = list(first) if isinstance(first, list) else [first]
            stopping = self._gather(jobs)
            if not stopping and 1 < len(jobs) < self.max_batch and self.linger_seconds > 0:
                # Under load, callers answered by the last commit are about to send again:
                # a moment's wait lets them join this commit instead of forming a half batch.
                time.sleep(self.linger_seconds)
                stopping = self._gather(jobs)
            try:
                self._run_batch(jobs)
            except Exception as exc:  # never leave a caller waiting
                log.exception("group_commit_failed", error=str(exc))
                for job in jobs:
                    if not job.future.done():
                        job.future.set_exception(exc)

    def _gather(self, jobs: list[Job]) -> bool:
        """Take what is waiting, up to a full batch; True when asked to stop."""
        while len(jobs) < self.max_batch:
            try:
                nxt = self._queue.get_nowait()
            except queue.Empty:
                return False
            if nxt is None:
                self._queue.put(None)  # stop after this batch
                return True
            if isinstance(nxt, list):
                jobs.extend(nxt)  # a consumer's batch stays whole
            else:
                jobs.append(nxt)
        return False

    def _run_batch(self, jobs: list[Job]) -> None:
        uow = UnitOfWork(self.app, self.cache)
        outcomes: list[tuple[Job, Any, Exception | None]] = []
        try:
            uow.preload(self.pool, (i for job in jobs for i in job.loan_ids), build=True)
            uow.preload(self.pool, (i for job in jobs for i in job.receipt_ids), build=False)
            for job in jobs:
                uow.begin_command()
                try:
                    value = job.run(uow)
                except LedgerError as error:
                    if uow.command_changed_anything():
                        raise _PoisonedBatchError from error
                    outcomes.append((job, None, error))
                    continue
                outcomes.append((job, value, uow.deferred_error))
                uow.deferred_error = None
            self.commit(uow)
        except Exception as exc:
            self.cache.evict(uow.seen)
            self.fallbacks += 1
            # Never silent: counted (the bench prints it) and logged with its cause.
            log.warning(
                "group_commit_fallback",
                commands=len(jobs),
                reason=type(exc).__name__,
                error=str(exc)[:300],
            )
            for job in jobs:
                self._run_alone(job)
            return
        for aggregate in uow.seen.values():
            if type(aggregate).__name__ != "Receipt":
                self.cache.put(aggregate)
        self.batches += 1
        self.commands += len(jobs)
        for job, value, failure in outcomes:
            if failure is not None:
                job.future.set_exception(failure)
            else:
                job.future.set_result(value)

    def _run_alone(self, job: Job) -> None:
        try:
            job.future.set_result(self.direct(job))
        except Exception as exc:
            job.future.set_exception(exc)


class _PoisonedBatchError(Exception):
    """A command failed after changing an aggregate: the batch cannot be trusted, run one by one."""
