"""The chart of accounts (lending.md §4.1) and account ids: ``<code>`` or ``<code>:<owner id>``.

GL accounts such as the M-Pesa paybill (1020) are single accounts; sub-ledger accounts exist per
loan (principal, interest, fees), per client (savings, suspense) and per partner (wallet). A
sub-ledger's accounts sum to the GL code's balance, which the trial balance reports.
"""

from __future__ import annotations

import functools
import uuid
from dataclasses import dataclass
from enum import StrEnum

from hazina_ledger.domain.errors import UnknownAccountError


class AccountType(StrEnum):
    ASSET = "asset"
    LIABILITY = "liability"
    EQUITY = "equity"
    INCOME = "income"
    EXPENSE = "expense"


class Owner(StrEnum):
    LOAN = "loan"
    CLIENT = "client"
    PARTNER = "partner"


@dataclass(frozen=True)
class AccountClass:
    code: str
    name: str
    type: AccountType
    owner: Owner | None = None
    contra: bool = False  # a contra-asset's normal side is credit

    @property
    def debit_normal(self) -> bool:
        normally_debit = self.type in (AccountType.ASSET, AccountType.EXPENSE)
        return normally_debit != self.contra


BANK = "1000"
B2C_FLOAT = "1010"
B2C_CHARGES_PAID = "1011"
PAYBILL = "1020"
DISBURSEMENTS_HELD = "1035"
DISBURSEMENTS_TO_RECOVER = "1036"
CASH = "1040"
LOAN_PRINCIPAL = "1100"
INTEREST_RECEIVABLE = "1110"
UNEARNED_INTEREST = "1115"
FEE_RECEIVABLE = "1120"
UNEARNED_FEES = "1125"
CLIENT_SUSPENSE = "2000"
UNALLOCATED_RECEIPTS = "2010"
PARTNER_WALLET = "2100"
SAVINGS = "2200"
INTEREST_INCOME = "4000"
FEE_INCOME = "4100"
RECOVERIES = "4300"
TRANSACTION_CHARGES = "5000"
LOANS_WRITTEN_OFF = "5200"

CHART: dict[str, AccountClass] = {
    c.code: c
    for c in (
        AccountClass(BANK, "Bank (NCBA operating)", AccountType.ASSET),
        AccountClass(B2C_FLOAT, "M-Pesa B2C float (disbursements)", AccountType.ASSET),
        AccountClass(B2C_CHARGES_PAID, "M-Pesa B2C charges-paid account", AccountType.ASSET),
        AccountClass(PAYBILL, "M-Pesa C2B paybill clearing", AccountType.ASSET),
        # A payout whose amount is not the approved principal: the cash left, the loan is not
        # scheduled; it waits here for staff, then becomes principal or an amount to recover.
        AccountClass(
            DISBURSEMENTS_HELD,
            "Disbursements held for review (suspense)",
            AccountType.ASSET,
            Owner.LOAN,
        ),
        AccountClass(
            DISBURSEMENTS_TO_RECOVER, "Disbursements to recover", AccountType.ASSET, Owner.LOAN
        ),
        AccountClass(CASH, "Cash", AccountType.ASSET),
        AccountClass(LOAN_PRINCIPAL, "Loan principal receivable", AccountType.ASSET, Owner.LOAN),
        AccountClass(INTEREST_RECEIVABLE, "Interest receivable", AccountType.ASSET, Owner.LOAN),
        AccountClass(
            UNEARNED_INTEREST,
            "Unearned interest (contra)",
            AccountType.ASSET,
            Owner.LOAN,
            contra=True,
        ),
        AccountClass(FEE_RECEIVABLE, "Fee receivable", AccountType.ASSET, Owner.LOAN),
        AccountClass(
            UNEARNED_FEES, "Unearned fees (contra)", AccountType.ASSET, Owner.LOAN, contra=True
        ),
        AccountClass(
            CLIENT_SUSPENSE, "Client overpayments (suspense)", AccountType.LIABILITY, Owner.CLIENT
        ),
        AccountClass(UNALLOCATED_RECEIPTS, "Unallocated receipts", AccountType.LIABILITY),
        AccountClass(PARTNER_WALLET, "Partner wallet", AccountType.LIABILITY, Owner.PARTNER),
        AccountClass(SAVINGS, "Member savings", AccountType.LIABILITY, Owner.CLIENT),
        AccountClass(INTEREST_INCOME, "Interest income on loans", AccountType.INCOME),
        AccountClass(FEE_INCOME, "Fee income", AccountType.INCOME),
        AccountClass(RECOVERIES, "Recoveries of written-off loans", AccountType.INCOME),
        AccountClass(
            TRANSACTION_CHARGES, "M-Pesa and bank transaction charges", AccountType.EXPENSE
        ),
        AccountClass(LOANS_WRITTEN_OFF, "Loans written off", AccountType.EXPENSE),
    )
}

# Where money comes in from or goes out to, by the payment method staff record.
SOURCE_BY_METHOD = {"mpesa": PAYBILL, "cash": CASH, "bank": BANK}


def account_id(code: str, owner_id: uuid.UUID | str | None = None) -> str:
    """``1020`` or ``1100:<loan id>``; checked against the chart."""
    account = CHART.get(code)
    if account is None:
        raise UnknownAccountError(f"account code {code} is not in the chart of accounts")
    if (account.owner is None) != (owner_id is None):
        raise UnknownAccountError(
            f"account {code} {'needs' if account.owner else 'takes no'} owner id"
        )
    return code if owner_id is None else f"{code}:{owner_id}"


@functools.lru_cache(maxsize=100_000)
def account_class(account: str) -> AccountClass:
    """The chart entry of an account id, validating its shape (cached: every posting asks)."""
    code, _, owner = account.partition(":")
    found = CHART.get(code)
    if found is None:
        raise UnknownAccountError(f"account {account} is not in the chart of accounts")
    if found.owner is not None:
        try:
            uuid.UUID(owner)
        except ValueError:
            raise UnknownAccountError(f"account {account} needs a {found.owner.value} id") from None
    elif owner:
        raise UnknownAccountError(f"account {code} has no sub-accounts")
    return found
