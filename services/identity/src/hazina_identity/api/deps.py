"""FastAPI dependencies: what the routes need, read from the app's state (set by ``create_app``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends

from hazina_identity.application.branches import BranchDirectory, Branches
from hazina_identity.application.identity import Identity
from hazina_identity.application.ports import StaffDirectory
from hazina_identity.domain.roles import Role
from hazina_servicekit.auth import Principal, require_roles
from hazina_servicekit.http import api_getters
from hazina_servicekit.parking import ParkingLot
from hazina_servicekit.projection import Projection

SUPER_ADMIN = "super_admin"
# Every role identity issues: who may read branches and the loan officers (docs/roles.md).
ALL_STAFF = tuple(role.value for role in Role)
# Optional contact fields as the staff pages send them: blank, or a phone number / an address.
PHONE_OR_BLANK = r"^\s*(\+?[0-9 ]{9,15})?\s*$"
EMAIL_OR_BLANK = r"^\s*([^@\s]+@[^@\s]+\.[^@\s]+)?\s*$"


@dataclass(frozen=True)
class IdentityApi:
    """What identity's routes use: the use cases, the directory and its projection."""

    identity: Identity
    directory: StaffDirectory
    directory_projection: Projection
    parking: ParkingLot
    branches: Branches
    branch_directory: BranchDirectory


get_api, get_parking = api_getters(IdentityApi, "identity_api")


ApiDep = Annotated[IdentityApi, Depends(get_api)]
SuperAdminDep = Annotated[Principal, Depends(require_roles(SUPER_ADMIN))]
StaffDep = Annotated[Principal, Depends(require_roles(*ALL_STAFF))]
