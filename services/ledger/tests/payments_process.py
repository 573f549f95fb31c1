"""A ledger process for ``test_crash_mid_batch.py``: the service's workers, no HTTP.

    python payments_process.py [--hold-after BATCHES --signal-fd FD]

Settings come from the environment (``DATABASE_URL``, ``NATS_URL``, ``LEDGER_*``) as in a
deployment. With ``--hold-after N`` the process stops inside its N-th batch of payments, after the
ledger committed the batch's postings and before the consumer's transaction (its processed-message
records) commits and the batch is acknowledged, the worst moment to die, and writes one line to
``FD`` so the test can SIGKILL it there. Not collected by pytest (no ``test_`` prefix).
"""

from __future__ import annotations

import argparse
import os
import threading
from collections.abc import Sequence
from typing import Any

from hazina_ledger.bootstrap import build
from hazina_ledger.settings import LedgerSettings


class NoTokens:
    """This process serves no HTTP."""


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--hold-after", type=int, default=0)
    parser.add_argument("--signal-fd", type=int, default=-1)
    args = parser.parse_args(argv)
    container = build(LedgerSettings(), verifier=NoTokens())  # type: ignore[arg-type]
    if args.hold_after:
        receive = container.ledger.receive_payments
        batches = 0

        def receive_then_hold(commands: Any) -> Any:
            nonlocal batches
            answers = receive(commands)  # committed: the postings are durable now
            batches += 1
            if batches == args.hold_after:
                os.write(args.signal_fd, f"holding {len(commands)}\n".encode())
                threading.Event().wait()  # until the test kills this process
            return answers

        container.ledger.receive_payments = receive_then_hold  # type: ignore[method-assign]
    try:
        container.service.run_without_http()
    finally:
        container.close()


if __name__ == "__main__":
    main()
