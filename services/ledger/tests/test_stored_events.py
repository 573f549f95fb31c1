"""What earlier releases of ledger stored, as today's code must read it: the aggregates, the
relay's contract mapping and a full replay of the read models (rebuilt, audited, and compared
with the live projection).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from hazina_ledger.adapters.contract_mapping import to_contract
from hazina_ledger.bootstrap import Container
from hazina_ledger.cli import replay
from hazina_ledger.domain.loan_account import LoanAccount
from hazina_ledger.domain.receipt import Receipt
from hazina_ledger.domain.savings_account import SavingsAccount
from hazina_servicekit.promises import StoredEventsPromise
from hazina_servicekit.stored_events import published


class TestStoredEvents(StoredEventsPromise):
    package = "hazina_ledger"
    prefix = "hazina.ledger"
    some_stored_classes = {
        "LoanAccount",
        "LoanAccount.TermsRecorded",
        "LoanAccount.Cancelled",
        "Receipt.Created",
        "SavingsAccount",
    }

    def check_read_back(self, container: Container, aggregates: list[Any], fixture: Path) -> None:
        loans = [a for a in aggregates if isinstance(a, LoanAccount)]
        # Releases from 2026-12-01 also stored a loan origination cancelled (LoanAccount.Cancelled).
        cancelled = {"cancelled": 1} if fixture.name >= "2026-12-01" else {}
        assert Counter(loan.status for loan in loans) == {
            "repaid": 1,
            "written_off": 1,
            "current": 1,
            "approved": 1,
            **cancelled,
        }
        [repaid] = [loan for loan in loans if loan.status == "repaid"]
        assert repaid.principal_cents == 2_000_000
        [savings] = [a for a in aggregates if isinstance(a, SavingsAccount)]
        assert savings.balance_cents == 400_000
        assert sum(isinstance(a, Receipt) for a in aggregates) >= 5

        report = replay(container, quiet=True)
        assert report.ok, report.details

        assert {c.TYPE for c in published(container.ledger, to_contract)} >= {
            "LoanAccountOpened",
            "RepaymentPosted",
            "RepaymentReversed",
            "LoanRepaid",
            "SavingsBalanceChanged",
        }
