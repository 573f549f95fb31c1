"""A ledger process killed (SIGKILL) in the middle of a batch of payments, over real PostgreSQL
and NATS: after a restart every receipt is posted exactly once.

The process is held inside a batch at the worst moment: the ledger has committed the batch's
postings, but the consumer's transaction (its processed-message records) has not committed and
nothing is acknowledged. JetStream delivers the batch again to the restarted process, which finds
every receipt already posted and changes nothing.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hazina_contracts.subjects import Stream
from hazina_ledger.bootstrap import Container
from hazina_ledger.cli import replay
from hazina_servicekit.testing import eventually, publish

PROCESS = Path(__file__).with_name("payments_process.py")
REPAYMENT = "hazina.ledger.LoanAccount.RepaymentPosted"
DEPOSIT = "hazina.ledger.SavingsAccount.Deposited"


@pytest.fixture
def environment(database_url: str, nats_url: str) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": database_url,
        "NATS_URL": nats_url,
        "LEDGER_CONSUMER_BATCH_SIZE": "50",
        "LEDGER_CONSUMER_ACK_WAIT_SECONDS": "2",  # the killed process's batch comes back soon
        "LEDGER_PARKED_RETRY_INTERVAL_SECONDS": "3600",
    }


@pytest.fixture
def processes() -> Iterator[list[subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    try:
        yield started
    finally:
        for process in started:
            if process.poll() is None:
                process.kill()
                process.wait(timeout=30)


def posted(container: Container) -> dict[str, int]:
    """How many postings (repayments and deposits) each receipt has in the event store."""
    with container.pool.connection() as conn:
        rows = conn.execute(
            "SELECT convert_from(state, 'UTF8')::jsonb ->> 'receipt', count(*) FROM ledger_events "
            "WHERE topic = ANY(%s) GROUP BY 1",
            ([REPAYMENT, DEPOSIT],),
        ).fetchall()
    return {row[0]: row[1] for row in rows}


def processed(container: Container) -> int:
    with container.pool.connection() as conn:
        row = conn.execute(
            "SELECT count(*) FROM processed_messages WHERE consumer = 'ledger-payments'"
        ).fetchone()
    return int(row[0]) if row else 0


def test_a_ledger_killed_mid_batch_posts_each_receipt_once_after_restart(
    container: Container,
    environment: dict[str, str],
    processes: list[subprocess.Popen[bytes]],
    nats_url: str,
    h: Any,
) -> None:
    loans = [h.open_loan(container)[0] for _ in range(4)]
    saver = uuid.uuid4()
    envelopes = [
        h.envelope(
            h.payment_received(f"KILL{n:04d}", 100, client_id=saver, target="savings")
            if n % 5 == 0
            else h.payment_received(f"KILL{n:04d}", 100, loan_id=loans[n % 4])
        )
        for n in range(400)
    ]
    publish(nats_url, envelopes, streams=[Stream.PAYMENTS])

    # The first process: held inside its third batch, then killed there.
    read_end, write_end = os.pipe()
    first = subprocess.Popen(
        [sys.executable, str(PROCESS), "--hold-after", "3", "--signal-fd", str(write_end)],
        env=environment,
        pass_fds=(write_end,),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    processes.append(first)
    os.close(write_end)
    with os.fdopen(read_end) as signals:
        line = signals.readline()  # blocks until the process holds mid-batch (or dies: "")
    assert line.startswith("holding"), "the ledger process ended before its third batch"
    first.send_signal(signal.SIGKILL)
    assert first.wait(timeout=30) == -signal.SIGKILL

    # Killed mid-batch: the batch's postings are stored, its messages not yet recorded as done.
    counts = posted(container)
    assert 0 < len(counts) < 400
    assert set(counts.values()) == {1}
    assert processed(container) < len(counts)

    # Restarted: the unacknowledged batch comes again and everything else follows.
    second = subprocess.Popen(
        [sys.executable, str(PROCESS)],
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    processes.append(second)
    eventually(lambda: processed(container) == 400, "every message processed")
    second.send_signal(signal.SIGTERM)
    assert second.wait(timeout=60) == 0

    counts = posted(container)
    assert sorted(counts) == sorted(f"KILL{n:04d}" for n in range(400))
    assert set(counts.values()) == {1}  # each receipt posted exactly once
    container.projection.catch_up()
    report = replay(container, quiet=True)  # every entry balances; replay equals live
    assert report.ok, report.checks
