"""Throttling password guesses without locking people out.

Three limits, each aimed at one kind of guessing, none of which lets one person lock out others:

- **One username at one address** (the owner mistyping, or one guesser): ``pair_max_failures``
  in the window lock that pair only. A colleague behind the same NAT address signs in as usual.
- **One address, many usernames** (spraying): ``address_max_failures`` in the window, far above
  one person's, lock the whole address.
- **One username from addresses it does not normally use** (guessing from elsewhere, spread
  over many addresses): after ``unfamiliar_free_failures`` each further attempt from any such
  address must wait twice as long as the last (``backoff_base``, doubling, at most ``lockout``).
  The owner at an address they recently signed in from is not slowed down.

Unknown usernames are throttled exactly as known ones (they have no familiar address), so the
answers never tell a guesser whether an account exists.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class ThrottlePolicy:
    pair_max_failures: int = 5
    address_max_failures: int = 50
    window: timedelta = timedelta(minutes=15)
    lockout: timedelta = timedelta(minutes=15)
    unfamiliar_free_failures: int = 3
    backoff_base: timedelta = timedelta(seconds=1)
    familiar_for: timedelta = timedelta(days=30)

    def __post_init__(self) -> None:
        if min(self.pair_max_failures, self.address_max_failures) < 1:
            raise ValueError("failure limits must be at least 1")
        if self.unfamiliar_free_failures < 0:
            raise ValueError("unfamiliar_free_failures must not be negative")

    def _recent(self, failures: Sequence[datetime], now: datetime) -> list[datetime]:
        return [at for at in failures if now - at < self.window]

    def pair_locked_until(self, failures: Sequence[datetime], now: datetime) -> datetime | None:
        """When this username's failures at this address reach the limit: locked for ``lockout``."""
        if len(self._recent(failures, now)) >= self.pair_max_failures:
            return now + self.lockout
        return None

    def address_locked_until(self, failures: Sequence[datetime], now: datetime) -> datetime | None:
        """When an address's failures (any usernames) reach the spray limit: locked for ``lockout``."""
        if len(self._recent(failures, now)) >= self.address_max_failures:
            return now + self.lockout
        return None

    def unfamiliar_wait_until(self, failures: Sequence[datetime], now: datetime) -> datetime | None:
        """How long an address the user does not normally use must wait before the next try.

        ``failures`` are the username's recent failures from all unfamiliar addresses together, so
        spreading guesses over many addresses does not reset the delay.
        """
        recent = self._recent(failures, now)
        beyond = len(recent) - self.unfamiliar_free_failures
        if beyond < 0:
            return None
        delay = min(self.backoff_base * (2 ** min(beyond, 32)), self.lockout)
        until = max(recent) + delay
        return until if until > now else None
