"""FastAPI dependencies: the use cases, the read models, and who may call what."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from hazina_origination.api.upload_links import UploadLinks
from hazina_origination.application.commands import Actor
from hazina_origination.application.origination import Origination
from hazina_origination.application.ports import ImportFileReader, PhotoFiles, ReadModelQueries
from hazina_origination.domain.roles import (
    ADMIN,
    ALL_STAFF,
    APPROVER_ADMIN,
    BRANCH_ADMINS,
    CHECKERS,
    INITIATOR_ADMIN,
    LOAN_OFFICER,
    RECORD_APPROVERS,
    SUPER_ADMIN,
)
from hazina_servicekit.auth import Principal, require_roles
from hazina_servicekit.http import api_getters, correlation_id, reading_by_method
from hazina_servicekit.parking import ParkingLot
from hazina_servicekit.projection import Projection


@dataclass(frozen=True)
class OriginationApi:
    app: Origination
    read_models: ReadModelQueries
    projection: Projection
    parking: ParkingLot
    photos: PhotoFiles
    read_import_file: ImportFileReader
    links: UploadLinks
    # A read (GET) leaves the read models to their follower when one is listening (woken by
    # every commit): it shows them as last committed, never queueing behind the follower nor
    # doing its work. Without a follower it brings them up to date itself. A write always does,
    # and its answer leaves only once they include it (``WritesVisibleFirst``): read your own writes.
    reading: bool = False

    def fresh(self) -> ReadModelQueries:
        """The read models with every event so far applied (read your own writes)."""
        self.projection.catch_up(unless_followed=self.reading)
        return self.read_models


_get_api, get_parking = api_getters(OriginationApi, "origination_api")
get_api = reading_by_method(_get_api)


ApiDep = Annotated[OriginationApi, Depends(get_api)]


def _role_dep(*roles: str) -> object:
    return Depends(require_roles(*roles))


# The role x route matrix (docs/roles.md). Approving and disbursing are the checkers' alone, and
# never on a loan the same person initiated or approved (the loan's own maker-checker rule).
# Edits are open to every staff role; which fields a role may change is the use case's rule
# (an accountant: contact details only).
Staff = Annotated[Principal, _role_dep(*ALL_STAFF)]
RecordEditor = Annotated[Principal, _role_dep(*ALL_STAFF)]
GroupCreator = Annotated[Principal, _role_dep(LOAN_OFFICER, SUPER_ADMIN)]
RecordApprover = Annotated[Principal, _role_dep(*RECORD_APPROVERS)]
SignatorySetter = Annotated[Principal, _role_dep(LOAN_OFFICER, ADMIN, SUPER_ADMIN)]
Onboarder = Annotated[Principal, _role_dep(LOAN_OFFICER, SUPER_ADMIN)]
ProductAdmin = Annotated[Principal, _role_dep(SUPER_ADMIN)]
LoanInitiator = Annotated[
    Principal, _role_dep(ADMIN, INITIATOR_ADMIN, APPROVER_ADMIN, LOAN_OFFICER)
]
GuarantorRecorder = Annotated[
    Principal, _role_dep(ADMIN, INITIATOR_ADMIN, APPROVER_ADMIN, LOAN_OFFICER)
]
Assessor = Annotated[Principal, _role_dep(*BRANCH_ADMINS, LOAN_OFFICER)]
LoanApprover = Annotated[Principal, _role_dep(*CHECKERS)]
Disburser = Annotated[Principal, _role_dep(*CHECKERS)]
LoanAdmin = Annotated[Principal, _role_dep(*BRANCH_ADMINS)]
HistoryReader = Annotated[Principal, _role_dep(*BRANCH_ADMINS)]
OfficerOnly = Annotated[Principal, _role_dep(LOAN_OFFICER)]
Importer = Annotated[Principal, _role_dep(SUPER_ADMIN)]


def actor(principal: Principal, request: Request) -> Actor:
    return Actor(
        user_id=principal.user_id, role=principal.role, correlation_id=correlation_id(request)
    )


def scope_of(principal: Principal) -> uuid.UUID | None:
    """A loan officer sees only their own groups, clients and loans; admins see everything."""
    return principal.user_id if principal.role == LOAN_OFFICER else None
