"""Throttling guesses: too many failures for one username or one address lock it out for a while."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class ThrottlePolicy:
    max_failures: int = 5
    window: timedelta = timedelta(minutes=15)
    lockout: timedelta = timedelta(minutes=15)

    def locked_until(self, failures: Sequence[datetime], now: datetime) -> datetime | None:
        """When the failures inside the window reach the limit, the lock lasts ``lockout`` from now."""
        recent = [at for at in failures if now - at < self.window]
        if len(recent) >= self.max_failures:
            return now + self.lockout
        return None
