"""FastAPI dependencies: what the routes need, read from the app's state (set by ``create_app``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends

from hazina_servicekit.auth import Principal, require_roles
from hazina_servicekit.http import api_getters
from hazina_servicekit.ownership import OwnershipBook
from hazina_servicekit.parking import ParkingLot
from hazina_ussd.application.ports import SmsLog
from hazina_ussd.application.ussd import Ussd

SUPER_ADMIN = "super_admin"
INITIATOR_ADMIN = "initiator_admin"
APPROVER_ADMIN = "approver_admin"
LOAN_OFFICER = "loan_officer"
ADMINS = (SUPER_ADMIN, INITIATOR_ADMIN, APPROVER_ADMIN)
STAFF = (*ADMINS, LOAN_OFFICER)


@dataclass(frozen=True)
class UssdApi:
    ussd: Ussd
    sms: SmsLog
    parking: ParkingLot
    ownership: OwnershipBook


get_api, get_parking = api_getters(UssdApi, "ussd_api")


ApiDep = Annotated[UssdApi, Depends(get_api)]
AdminDep = Annotated[Principal, Depends(require_roles(*ADMINS))]
StaffDep = Annotated[Principal, Depends(require_roles(*STAFF))]
