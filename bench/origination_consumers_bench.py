"""Origination's LEDGER consumers, one message per transaction against batch mode, on this machine.

N SavingsBalanceChanged through the "ledger" consumer, then N RepaymentPosted through the
"loan-balances" consumer, each way: one by one (what servicekit does per message: a transaction,
the processed-message record, the handler, the commit) and in batches of ``--batch`` (one
transaction, one processed-message statement, the batch handler). NATS is left out (the fetch
and the ack are the same either way); the envelopes are decoded once, before timing.

Prints, for each, the client process's CPU (this Python process: psycopg, pydantic, the
handlers) and the wall time (which includes PostgreSQL's work on the one connection), per
message. Figures only: nothing is asserted.

Usage: DATABASE_URL=postgresql://... uv run python bench/origination_consumers_bench.py [--n N]
       [--batch B]
"""

from __future__ import annotations

import argparse
import os
import time
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from nats.js import JetStreamContext

from hazina_contracts.envelope import EventEnvelope
from hazina_contracts.events import ledger
from hazina_origination.adapters.consumers import (
    ledger_batch_handler,
    ledger_handler,
    loan_balances_batch_handler,
    loan_balances_handler,
)
from hazina_origination.adapters.read_models import LOAN_BALANCES_DDL, SAVINGS_DDL
from hazina_origination.application.origination import Origination
from hazina_servicekit.consumer import DurableConsumer
from hazina_servicekit.database import database_url_with_name, drop_database, ensure_database
from hazina_servicekit.database import open_pool as open_db_pool
from hazina_servicekit.testing import envelope

NO_APP = cast(Origination, None)  # savings and loan figures never reach the loan aggregate
NO_NATS = cast(JetStreamContext, None)


def savings(n: int, t0: datetime) -> list[EventEnvelope]:
    clients = [uuid.uuid4() for _ in range(max(1, n // 4))]
    return [
        envelope(
            ledger.SavingsBalanceChanged(
                occurred_at=t0 + timedelta(seconds=i),
                client_id=clients[i % len(clients)],
                balance_cents=1_000 * (i + 1),
                change_cents=1_000,
                reason="deposit",
                transaction_id=f"QBX{i:07d}",
            )
        )
        for i in range(n)
    ]


def repayments(n: int, t0: datetime) -> list[EventEnvelope]:
    loans = [(uuid.uuid4(), uuid.uuid4()) for _ in range(max(1, n // 4))]
    out = []
    for i in range(n):
        loan_id, client_id = loans[i % len(loans)]
        out.append(
            envelope(
                ledger.RepaymentPosted(
                    occurred_at=t0 + timedelta(seconds=i),
                    loan_id=loan_id,
                    client_id=client_id,
                    receipt=f"QRP{i:07d}",
                    amount_cents=1_000,
                    interest_cents=250,
                    principal_cents=750,
                    suspense_cents=0,
                    outstanding_cents=10_000_000 - i,
                    payment_method="mpesa",
                )
            )
        )
    return out


def timed(work: Callable[[], None]) -> tuple[float, float]:
    cpu, wall = time.process_time(), time.perf_counter()
    work()
    return time.process_time() - cpu, time.perf_counter() - wall


def measure(
    pool: Any,
    label: str,
    handler: Any,
    batch_handler: Any,
    make: Callable[[int, datetime], list[EventEnvelope]],
    n: int,
    batch: int,
) -> None:
    def consumer(mode: str, batched: bool) -> DurableConsumer:
        return DurableConsumer(
            js=NO_NATS,
            pool=pool,
            service="bench",
            name=f"{label}-{mode}",
            stream="LEDGER",
            subjects=["ledger.>"],
            handler=handler,
            batch_handler=batch_handler if batched else None,
        )

    t0 = datetime.now(UTC)
    alone, batched = consumer("alone", False), consumer("batched", True)
    one = make(n, t0)
    many = make(n, t0)

    def one_by_one() -> None:
        for env in one:
            alone._apply(env)

    def in_batches() -> None:
        for start in range(0, len(many), batch):
            chunk: Sequence[EventEnvelope] = many[start : start + batch]
            batched._apply_batch(chunk)

    rows = []
    for mode, work in (("one by one", one_by_one), (f"batches of {batch}", in_batches)):
        cpu, wall = timed(work)
        rows.append((mode, cpu, wall))
    print(f"\n{n} {label}")
    for mode, cpu, wall in rows:
        print(
            f"  {mode:>16}: client CPU {cpu * 1000 / n:6.3f} ms/msg ({cpu:5.2f} s), "
            f"wall {wall * 1000 / n:6.3f} ms/msg ({wall:5.2f} s)"
        )
    (_, cpu1, wall1), (_, cpu2, wall2) = rows
    print(f"  {'ratio':>16}: client CPU x{cpu1 / cpu2:.1f}, wall x{wall1 / wall2:.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--batch", type=int, default=100)
    args = parser.parse_args()
    server = os.environ["DATABASE_URL"]
    name = f"bench_orig_{uuid.uuid4().hex[:8]}"
    ensure_database(server, name)
    try:
        pool = open_db_pool(database_url_with_name(server, name), "origination", max_size=1)
        try:
            with pool.connection() as conn:
                conn.execute("CREATE SCHEMA IF NOT EXISTS origination")
                conn.execute(SAVINGS_DDL)
                conn.execute(LOAN_BALANCES_DDL)
            measure(
                pool,
                "SavingsBalanceChanged (ledger consumer)",
                ledger_handler(NO_APP),
                ledger_batch_handler(NO_APP),
                savings,
                args.n,
                args.batch,
            )
            measure(
                pool,
                "RepaymentPosted (loan-balances consumer)",
                loan_balances_handler(),
                loan_balances_batch_handler(),
                repayments,
                args.n,
                args.batch,
            )
        finally:
            pool.close()
    finally:
        drop_database(server, name)


if __name__ == "__main__":
    main()
