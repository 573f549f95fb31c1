"""What earlier releases of ledger stored, read back by today's code through the repository, the
relay's contract mapping and a full replay of the read models (rebuilt, audited, and compared
with the live projection) (the promise: ``hazina_servicekit.promises.StoredEventsPromise``).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from hazina_ledger.adapters.contract_mapping import to_contract
from hazina_ledger.cli import replay
from hazina_ledger.domain.loan_account import LoanAccount
from hazina_ledger.domain.receipt import Receipt
from hazina_ledger.domain.savings_account import SavingsAccount
from hazina_servicekit.promises import StoredEventsPromise, each_release, release_fixtures
from hazina_servicekit.stored_events import (
    published,
    read_release,
)

FIXTURES = release_fixtures(__file__)


class TestStoredEvents(StoredEventsPromise):
    package = "hazina_ledger"
    prefix = "hazina.ledger"
    fixtures = FIXTURES
    some_stored_classes = {
        "LoanAccount",
        "LoanAccount.TermsRecorded",
        "Receipt.Created",
        "SavingsAccount",
    }


@each_release(FIXTURES)
def test_events_stored_by_an_earlier_release_are_read_by_todays_code(
    container: Any, fixture: Path
) -> None:
    app = container.ledger
    aggregates = read_release(app, fixture)

    loans = [a for a in aggregates if isinstance(a, LoanAccount)]
    assert Counter(loan.status for loan in loans) == {
        "repaid": 1,
        "written_off": 1,
        "current": 1,
        "approved": 1,
    }
    [repaid] = [loan for loan in loans if loan.status == "repaid"]
    assert repaid.principal_cents == 2_000_000
    [savings] = [a for a in aggregates if isinstance(a, SavingsAccount)]
    assert savings.balance_cents == 400_000
    assert sum(isinstance(a, Receipt) for a in aggregates) >= 5

    report = replay(container, quiet=True)
    assert report.ok, report.details

    assert {c.TYPE for c in published(app, to_contract)} >= {
        "LoanAccountOpened",
        "RepaymentPosted",
        "RepaymentReversed",
        "LoanRepaid",
        "SavingsBalanceChanged",
    }
