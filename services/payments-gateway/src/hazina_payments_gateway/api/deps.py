"""FastAPI dependencies: what the routes need, read from the app's state (set by ``create_app``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends

from hazina_payments_gateway.application.gateway import PaymentsGateway
from hazina_payments_gateway.application.ports import (
    CallbackStore,
    DisbursementRows,
    ReadC2B,
    ReadStatement,
    ReconciliationBook,
    StoredCallbacks,
    TransactionPull,
)
from hazina_servicekit.auth import Principal, require_roles
from hazina_servicekit.http import api_getters
from hazina_servicekit.ownership import OwnershipBook, officer_scope
from hazina_servicekit.parking import ParkingLot
from hazina_servicekit.projection import Projection

ALL_STAFF = ("super_admin", "initiator_admin", "approver_admin", "loan_officer")
DISBURSERS = ("super_admin", "approver_admin")  # seed: Disburse -> super_admin / approver_admin
FINANCE = ("super_admin", "initiator_admin", "approver_admin")


@dataclass(frozen=True)
class CallbackPolicy:
    token: str  # MPESA_CALLBACK_TOKEN; empty refuses every callback
    allowed_ips: tuple[str, ...]  # empty: any address
    reject_unknown_references: bool


@dataclass(frozen=True)
class GatewayApi:
    """What the routes use: the use cases, and ports whose adapters bootstrap chooses."""

    app: PaymentsGateway
    projection: Projection
    parking: ParkingLot
    index: DisbursementRows
    inbox_writer: CallbackStore
    inbox: StoredCallbacks
    daraja: TransactionPull
    read_c2b: ReadC2B
    read_statement: ReadStatement
    reconciliation: ReconciliationBook
    callbacks: CallbackPolicy
    pull_window_seconds: float
    ownership: OwnershipBook


get_api, get_parking = api_getters(GatewayApi, "gateway_api")


ApiDep = Annotated[GatewayApi, Depends(get_api)]
StaffDep = Annotated[Principal, Depends(require_roles(*ALL_STAFF))]
DisburserDep = Annotated[Principal, Depends(require_roles(*DISBURSERS))]
FinanceDep = Annotated[Principal, Depends(require_roles(*FINANCE))]

# Officer scoping (origination's rule, see hazina_servicekit.ownership): a loan officer sees only
# the disbursements of their own loans; another officer's answers 404 like a missing one.
scope_of = officer_scope
