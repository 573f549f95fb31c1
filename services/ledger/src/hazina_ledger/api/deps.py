"""FastAPI dependencies: the container's parts the routes use, and who may do what."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends

from hazina_ledger.application.ledger import Ledger
from hazina_ledger.application.ports import Analytics, Inbox, Projector, ReadModels
from hazina_ledger.domain.errors import NotFoundError
from hazina_servicekit.auth import Principal, require_roles
from hazina_servicekit.http import api_getters, reading_by_method
from hazina_servicekit.ownership import OwnershipBook, officer_scope
from hazina_servicekit.parking import ParkingLot

# Who may do what: docs/roles.md (issue 11). Deny unless a role is listed.
READERS = (
    "super_admin",
    "admin",
    "initiator_admin",
    "approver_admin",
    "loan_officer",
    "accountant",
)
RECORDERS = ("super_admin", "initiator_admin", "approver_admin")
# A manual repayment: the two halves of maker-checker and the accountant; never super_admin
# (segregation of duties), never a loan officer.
REPAYMENT_RECORDERS = ("initiator_admin", "approver_admin", "accountant")
# Savings deposits and deductions (the frontend's "adjust savings").
SAVINGS_KEEPERS = ("super_admin", "admin", "initiator_admin", "approver_admin", "accountant")
# Analytics span every officer's portfolio: administrators only, not loan officers or accountants.
ANALYSTS = ("super_admin", "admin", "initiator_admin", "approver_admin")
APPROVERS = ("super_admin", "approver_admin")


@dataclass(frozen=True)
class LedgerApi:
    ledger: Ledger
    views: ReadModels
    projection: Projector
    inbox: Inbox
    parking: ParkingLot
    ownership: OwnershipBook
    analytics: Analytics
    # A read (GET) leaves the read side to its follower when one is listening (the workers
    # process, woken by every commit): it shows the views as last committed, never queueing
    # behind the follower. Without a follower it brings them up to date itself. A write always
    # does, and its answer leaves only once the views include it (``WritesVisibleFirst``), so
    # every read after a write shows it (read your own writes).
    reading: bool = False

    def fresh(self) -> ReadModels:
        """Views that include every event written so far (read your own writes)."""
        self.projection.catch_up(unless_followed=self.reading)
        return self.views


_get_api, get_parking = api_getters(LedgerApi, "ledger_api")
get_api = reading_by_method(_get_api)


ApiDep = Annotated[LedgerApi, Depends(get_api)]
ReaderDep = Annotated[Principal, Depends(require_roles(*READERS))]
RecorderDep = Annotated[Principal, Depends(require_roles(*RECORDERS))]
RepaymentRecorderDep = Annotated[Principal, Depends(require_roles(*REPAYMENT_RECORDERS))]
SavingsKeeperDep = Annotated[Principal, Depends(require_roles(*SAVINGS_KEEPERS))]
AnalystDep = Annotated[Principal, Depends(require_roles(*ANALYSTS))]
ApproverDep = Annotated[Principal, Depends(require_roles(*APPROVERS))]
# The operations queue of parked events spans every officer's loans: not a loan officer's.
OperationsDep = Annotated[Principal, Depends(require_roles(*RECORDERS))]

# Officer scoping (origination's rule, see hazina_servicekit.ownership): a loan officer sees only
# their own clients, loans and money; another officer's record answers 404 with the very message
# a missing one gets, so an id never tells whether it exists.
scope_of = officer_scope


def check_loan_visible(api: LedgerApi, principal: Principal, loan_id: uuid.UUID) -> None:
    if not api.ownership.may_see_loan(principal, loan_id):
        raise NotFoundError("Loan not found in the ledger")


def check_client_visible(api: LedgerApi, principal: Principal, client_id: uuid.UUID) -> None:
    if not api.ownership.may_see_client(principal, client_id):
        raise NotFoundError("Client not found")
