"""What the ledger's use cases need from the outside world."""

from __future__ import annotations

import datetime as dt
from typing import Protocol

# Kenya keeps East Africa Time all year (UTC+3, no daylight saving): business dates are EAT dates.
EAT = dt.timezone(dt.timedelta(hours=3), "EAT")


class Clock(Protocol):
    def now(self) -> dt.datetime:
        """The current time, timezone-aware."""


def business_date(moment: dt.datetime) -> dt.date:
    """The date in Nairobi of an instant: a payment at 23:30 UTC is dated the next day."""
    return moment.astimezone(EAT).date()
