"""What the ledger's use cases need from the outside world."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any, Protocol

from hazina_ledger.application.policies import TenantConventions
from hazina_ledger.domain.arrears import ArrearsPolicy

# Kenya keeps East Africa Time all year (UTC+3, no daylight saving): business dates are EAT dates.
EAT = dt.timezone(dt.timedelta(hours=3), "EAT")


class Clock(Protocol):
    def now(self) -> dt.datetime:
        """The current time, timezone-aware."""


def business_date(moment: dt.datetime) -> dt.date:
    """The date in Nairobi of an instant: a payment at 23:30 UTC is dated the next day."""
    return moment.astimezone(EAT).date()


class ReadModels(Protocol):
    """The ledger's read models as the API queries them (rows are plain dicts)."""

    arrears_policy: ArrearsPolicy

    def client(self, client_id: uuid.UUID) -> dict[str, Any] | None: ...
    def client_accounts(self, client_id: uuid.UUID) -> dict[str, Any]: ...
    def loan(self, loan_id: uuid.UUID) -> dict[str, Any] | None: ...
    def product_terms(self, product_id: uuid.UUID) -> dict[str, Any] | None: ...
    def live_loan_ids(self) -> list[uuid.UUID]: ...
    def instalments(self, loan_id: uuid.UUID) -> list[dict[str, Any]]: ...
    def repayments(self, loan_id: uuid.UUID) -> list[dict[str, Any]]: ...
    def loan_entries(self, loan_id: uuid.UUID) -> list[dict[str, Any]]: ...
    def receipt(self, receipt: str) -> dict[str, Any] | None: ...
    # ``officer_id``: only that loan officer's own records (None: everyone's).
    def receipts(
        self,
        status: str | None,
        limit: int | None,
        offset: int,
        officer_id: uuid.UUID | None = None,
    ) -> tuple[list[dict[str, Any]], int]: ...
    def conflicts(self, officer_id: uuid.UUID | None = None) -> list[dict[str, Any]]: ...
    def disbursement_mismatches(self, status: str | None) -> list[dict[str, Any]]: ...
    def disbursement_mismatch(self, disbursement_id: uuid.UUID) -> dict[str, Any] | None: ...
    def savings_transactions(
        self,
        client_id: uuid.UUID | None,
        group_id: uuid.UUID | None,
        limit: int | None,
        offset: int,
        officer_id: uuid.UUID | None = None,
    ) -> tuple[list[dict[str, Any]], int]: ...
    def withdrawals(
        self,
        status: str | None,
        client_id: uuid.UUID | None,
        officer_id: uuid.UUID | None = None,
    ) -> list[dict[str, Any]]: ...
    def withdrawal(self, withdrawal_id: uuid.UUID) -> dict[str, Any] | None: ...
    def account(
        self,
        account_id: str,
        as_of: dt.date | None,
        position: int | None,
        limit: int | None,
        offset: int,
    ) -> dict[str, Any]: ...
    def trial_balance(
        self, as_of: dt.date | None, position: int | None = None
    ) -> list[dict[str, Any]]: ...
    def portfolio(
        self,
        as_of: dt.date,
        period_from: dt.date,
        period_to: dt.date,
        officer_id: uuid.UUID | None = None,
    ) -> dict[str, Any]: ...


class Projector(Protocol):
    def catch_up(self, *, unless_followed: bool = False) -> int: ...


class Inbox(Protocol):
    """Events from other services that are parked until what they need arrives."""

    conventions: TenantConventions

    def parked(self) -> list[dict[str, Any]]: ...
    def retry_parked(self, *waiting_for: str) -> int: ...


class Analytics(Protocol):
    """The staff analytics figures (``adapters/analytics.py``; definitions in the README)."""

    def overview(self, today: dt.date, period_days: int = 30) -> dict[str, Any]: ...
    def portfolio(self) -> dict[str, Any]: ...
    def demographics(self) -> dict[str, Any]: ...
    def repayments(self, since: dt.date) -> dict[str, Any]: ...
    def loan_performance(self, today: dt.date, months: int) -> dict[str, Any]: ...
    def officers(self, since: dt.date) -> dict[str, Any]: ...
    def risk(self, today: dt.date, since: dt.date) -> dict[str, Any]: ...
