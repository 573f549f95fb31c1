"""Which stored user events become which public IDENTITY events. Password hashes never leave.

Facts that void access tokens carry ``revision`` (the event's version in the user's record),
which every service's token verifier compares with a token's ``rev`` claim.
"""

from __future__ import annotations

import uuid

from eventsourcing.domain import DomainEventProtocol

from hazina_contracts.events import identity as contract
from hazina_contracts.events.base import ContractEvent
from hazina_identity.domain.branch import Branch
from hazina_identity.domain.sign_in_address import SignInAddress
from hazina_identity.domain.staff_user import StaffUser


def to_contract(event: DomainEventProtocol[uuid.UUID]) -> ContractEvent | None:
    if isinstance(event, SignInAddress.LockedOut):
        return contract.AddressLockedOut(
            address_id=event.originator_id,
            client_address=event.client_address,
            failures=event.failures,
            locked_until=event.until,
            occurred_at=event.timestamp,
        )
    if isinstance(event, Branch.Opened):
        return contract.BranchOpened(
            branch_id=event.originator_id,
            occurred_at=event.timestamp,
            name=event.name,
            code=event.code,
            location=event.location,
            address=event.address,
            phone=event.phone,
            email=event.email,
            opened_by=event.opened_by,
        )
    if isinstance(event, Branch.DetailsChanged):
        return contract.BranchDetailsChanged(
            branch_id=event.originator_id,
            occurred_at=event.timestamp,
            name=event.name,
            code=event.code,
            location=event.location,
            address=event.address,
            phone=event.phone,
            email=event.email,
            changed_by=event.changed_by,
        )
    if not isinstance(event, StaffUser.Event):
        return None  # private: SignInAddress.Noted
    common = {"user_id": event.originator_id, "occurred_at": event.timestamp}
    match event:
        case StaffUser.Created():
            return contract.UserCreatedV2(
                **common,
                username=event.username.strip().lower(),
                name=event.name,
                role=event.role,
                regions=list(event.regions),
                branch_id=event.branch_id,
                created_by=event.created_by,
            )
        case StaffUser.AccessChanged():
            return contract.UserRoleChangedV3(
                **common,
                role=event.role,
                regions=list(event.regions),
                branch_id=event.branch_id,
                changed_by=event.changed_by,
                revision=event.originator_version,
            )
        case StaffUser.Deactivated():
            return contract.UserDeactivatedV2(
                **common, deactivated_by=event.deactivated_by, revision=event.originator_version
            )
        case StaffUser.Reactivated():
            return contract.UserReactivated(**common, reactivated_by=event.reactivated_by)
        case StaffUser.PasswordReset():
            return contract.PasswordResetV2(
                **common, reset_by=event.reset_by, revision=event.originator_version
            )
        case StaffUser.PasswordChanged():
            return contract.PasswordChangedV2(**common, revision=event.originator_version)
        case StaffUser.SignedOutEverywhere():
            return contract.SignedOutEverywhere(**common, revision=event.originator_version)
        case StaffUser.SignedOut():
            return contract.SessionRevoked(**common, session_id=event.session_id)
        case StaffUser.RefreshTokenReused():
            return contract.TokenFamilyRevoked(**common, session_id=event.session_id)
        case StaffUser.LoginSucceeded():
            return contract.LoginSucceeded(**common, username=event.username)
        case StaffUser.LoginFailed():
            return contract.LoginFailed(**common, username=event.username, reason=event.reason)
        case StaffUser.LockedOut():
            return contract.LockedOut(**common, username=event.username, locked_until=event.until)
        case StaffUser.LockoutLifted():
            return contract.LockoutLifted(
                **common, username=event.username, lifted_by=event.lifted_by
            )
    return None  # private: PasswordRehashed and anything added later until it is mapped
