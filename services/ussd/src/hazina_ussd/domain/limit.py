"""The borrower limit: a score from what the ledger told us, shown with its reasons.

    limit = min(savings x SAVINGS_MULTIPLE,                        (origination's savings rule)
                savings x SAVINGS_CREDIT + history credit, PRODUCT_MAXIMUM)
    history credit = ON_TIME_CREDIT x loans repaid on time
                   + LATE_CREDIT x loans repaid after being in arrears
                   - DEFAULT_PENALTY x loans that defaulted or were written off
    limit = 0 while any loan is in arrears, or the history credit is negative;
    rounded down to a whole ROUND_TO.

Every input is a fact from events (savings balance, each loan's repaid / arrears / defaulted
states and days past due); the breakdown lists each term so a loan officer can explain it.
The service README states the same formula with the configured figures.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class LimitPolicy:
    savings_credit: int = 3  # each shilling saved earns this many of credit
    savings_multiple: int = 5  # never more than this times savings (savings >= 20 % of a loan)
    on_time_credit_cents: int = 2_000_00
    late_credit_cents: int = 500_00
    default_penalty_cents: int = 5_000_00
    maximum_cents: int = 50_000_00
    round_to_cents: int = 100_00


@dataclass(frozen=True)
class History:
    """A borrower's record as the ledger's events describe it."""

    savings_cents: int
    repaid_on_time: int
    repaid_late: int
    defaulted: int
    days_in_arrears: int  # the most of any open loan today
    cycles_completed: int


@dataclass(frozen=True)
class LimitTerm:
    name: str
    cents: int


@dataclass(frozen=True)
class BorrowerLimit:
    limit_cents: int
    terms: tuple[LimitTerm, ...]
    capped_by: str | None  # what bounded it: "savings_multiple", "maximum", "arrears", None


def borrower_limit(history: History, policy: LimitPolicy) -> BorrowerLimit:
    savings = max(history.savings_cents, 0)
    terms = (
        LimitTerm("savings", savings * policy.savings_credit),
        LimitTerm("repaid_on_time", history.repaid_on_time * policy.on_time_credit_cents),
        LimitTerm("repaid_late", history.repaid_late * policy.late_credit_cents),
        LimitTerm("defaulted", -history.defaulted * policy.default_penalty_cents),
    )
    history_credit = sum(t.cents for t in terms[1:])
    if history.days_in_arrears > 0:
        return BorrowerLimit(0, terms, "arrears")
    raw = 0 if history_credit < 0 else terms[0].cents + history_credit
    capped_by = None
    bound = savings * policy.savings_multiple
    if raw > bound:
        raw, capped_by = bound, "savings_multiple"
    if raw > policy.maximum_cents:
        raw, capped_by = policy.maximum_cents, "maximum"
    rounded = raw - raw % policy.round_to_cents
    return BorrowerLimit(rounded, terms, capped_by)
