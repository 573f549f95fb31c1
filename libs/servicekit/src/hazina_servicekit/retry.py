"""Optimistic concurrency: load, decide, save, and on a conflict do it all again."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import TypeVar

from eventsourcing.persistence import IntegrityError

T = TypeVar("T")


def retry_on_conflict(
    attempt: Callable[[], T], *, attempts: int = 8, jitter_seconds: float = 0.0
) -> T:
    """Run ``attempt`` (load-decide-save) again while another writer saved the same aggregate
    first; the last attempt's conflict is raised. ``jitter_seconds`` spreads busy writers apart
    (a random pause up to that long times the attempt number)."""
    for tried in range(1, attempts):
        try:
            return attempt()
        except IntegrityError:
            if jitter_seconds:
                time.sleep(random.uniform(0, jitter_seconds * tried))  # noqa: S311 - jitter, not security
    return attempt()
