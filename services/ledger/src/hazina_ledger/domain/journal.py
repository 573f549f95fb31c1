"""Journal entries: every entry's debits equal its credits, checked before anything is stored.

A posting's amount is signed: debits positive, credits negative, in integer cents. Entries are
never edited; a correction is a new entry (a reversal mirrors every leg of the original).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from hazina_ledger.domain.accounts import account_class
from hazina_ledger.domain.errors import EntryNotBalancedError

MAX_LEG_CENTS = 10**15


@dataclass(frozen=True)
class Posting:
    account_id: str
    amount_cents: int  # debit > 0, credit < 0


@dataclass(frozen=True)
class JournalEntry:
    """A balanced set of postings (at least two legs, every amount a non-zero integer)."""

    postings: tuple[Posting, ...]

    def __post_init__(self) -> None:
        if len(self.postings) < 2:
            raise EntryNotBalancedError("a journal entry needs at least two postings")
        total = 0
        for posting in self.postings:
            account_class(posting.account_id)
            amount = posting.amount_cents
            if not isinstance(amount, int) or isinstance(amount, bool):
                raise EntryNotBalancedError("posting amounts are integer cents")
            if amount == 0 or abs(amount) > MAX_LEG_CENTS:
                raise EntryNotBalancedError(f"posting to {posting.account_id} has amount {amount}")
            total += amount
        if total != 0:
            raise EntryNotBalancedError(
                f"journal entry does not balance: debits - credits = {total}"
            )

    @classmethod
    def of(cls, legs: Iterable[tuple[str, int]]) -> JournalEntry:
        """Net the legs per account (dropping zeros) and check the balance."""
        net: dict[str, int] = defaultdict(int)
        for account, amount in legs:
            net[account] += amount
        return cls(tuple(Posting(a, v) for a, v in net.items() if v != 0))

    @classmethod
    def transfer(cls, debits: Mapping[str, int], credits: Mapping[str, int]) -> JournalEntry:
        """Debit and credit amounts given as positive cents; zero legs are dropped."""
        if any(v < 0 for v in (*debits.values(), *credits.values())):
            raise EntryNotBalancedError("debit and credit amounts must not be negative")
        return cls.of([*debits.items(), *((a, -v) for a, v in credits.items())])

    def reversed(self) -> JournalEntry:
        return JournalEntry(tuple(Posting(p.account_id, -p.amount_cents) for p in self.postings))

    def to_legs(self) -> list[list[str | int]]:
        """The form stored in events: ``[[account id, signed cents], ...]``."""
        return [[p.account_id, p.amount_cents] for p in self.postings]

    @classmethod
    def from_legs(cls, legs: Iterable[Iterable[str | int]]) -> JournalEntry:
        postings = []
        for account, amount in (tuple(leg) for leg in legs):
            postings.append(Posting(str(account), int(amount)))
        return cls(tuple(postings))


def difference(
    after: Iterable[tuple[str, int]], before: Iterable[tuple[str, int]]
) -> JournalEntry | None:
    """The entry that turns the postings ``before`` into ``after`` (None when they are equal).

    Used when a reversal re-folds a loan: later repayments may shift between interest and
    principal, and the adjustment is posted, never an edit.
    """
    legs = [*after, *((a, -v) for a, v in before)]
    net: dict[str, int] = defaultdict(int)
    for account, amount in legs:
        net[account] += amount
    if all(v == 0 for v in net.values()):
        return None
    return JournalEntry.of(net.items())
