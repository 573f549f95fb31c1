"""Events the identity service publishes on the IDENTITY stream. No secret ever travels here."""

from __future__ import annotations

from typing import ClassVar, Literal
from uuid import UUID

from pydantic import AwareDatetime, Field

from hazina_contracts.events.base import ContractEvent
from hazina_contracts.subjects import Stream

# The roles identity issued before issue 11 (what UserCreated v1 and UserRoleChanged v1/v2 carry).
StaffRoleV1 = Literal["super_admin", "initiator_admin", "approver_admin", "loan_officer"]
# Every role identity issues (docs/roles.md): ``admin`` is the general branch administrator,
# ``accountant`` records money and nothing else.
StaffRole = Literal[
    "super_admin", "admin", "initiator_admin", "approver_admin", "loan_officer", "accountant"
]


class _IdentityEvent(ContractEvent):
    STREAM: ClassVar[Stream] = Stream.IDENTITY
    AGGREGATE: ClassVar[str] = "user"

    user_id: UUID
    occurred_at: AwareDatetime


class UserCreated(_IdentityEvent):
    TYPE: ClassVar[str] = "UserCreated"
    VERSION: ClassVar[int] = 1
    EVENT: ClassVar[str] = "created"

    username: str
    name: str | None = None
    role: StaffRoleV1
    regions: list[str] = Field(default_factory=list)
    branch_id: str | None = None
    created_by: UUID | None = None


class UserRoleChanged(_IdentityEvent):
    TYPE: ClassVar[str] = "UserRoleChanged"
    VERSION: ClassVar[int] = 1
    EVENT: ClassVar[str] = "role_changed"

    role: StaffRoleV1
    regions: list[str]
    branch_id: str | None = None
    changed_by: UUID


class UserDeactivated(_IdentityEvent):
    TYPE: ClassVar[str] = "UserDeactivated"
    VERSION: ClassVar[int] = 1
    EVENT: ClassVar[str] = "deactivated"

    deactivated_by: UUID


class UserReactivated(_IdentityEvent):
    TYPE: ClassVar[str] = "UserReactivated"
    VERSION: ClassVar[int] = 1
    EVENT: ClassVar[str] = "reactivated"

    reactivated_by: UUID


class PasswordReset(_IdentityEvent):
    TYPE: ClassVar[str] = "PasswordReset"
    VERSION: ClassVar[int] = 1
    EVENT: ClassVar[str] = "password_reset"

    reset_by: UUID


class PasswordChanged(_IdentityEvent):
    TYPE: ClassVar[str] = "PasswordChanged"
    VERSION: ClassVar[int] = 1
    EVENT: ClassVar[str] = "password_changed"


class LoginSucceeded(_IdentityEvent):
    TYPE: ClassVar[str] = "LoginSucceeded"
    VERSION: ClassVar[int] = 1
    EVENT: ClassVar[str] = "login_succeeded"

    username: str


class LoginFailed(_IdentityEvent):
    TYPE: ClassVar[str] = "LoginFailed"
    VERSION: ClassVar[int] = 1
    EVENT: ClassVar[str] = "login_failed"

    username: str
    reason: Literal["wrong_password", "inactive"]


class LockedOut(_IdentityEvent):
    """Too many failed sign-ins for this user from one address: the user may not sign in from
    that address until ``locked_until``; other addresses the user normally uses are unaffected."""

    TYPE: ClassVar[str] = "LockedOut"
    VERSION: ClassVar[int] = 1
    EVENT: ClassVar[str] = "locked_out"

    username: str
    locked_until: AwareDatetime


class LockoutLifted(_IdentityEvent):
    """A super admin lifted the user's sign-in locks at every address."""

    TYPE: ClassVar[str] = "LockoutLifted"
    VERSION: ClassVar[int] = 1
    EVENT: ClassVar[str] = "lockout_lifted"

    username: str
    lifted_by: UUID


class AddressLockedOut(ContractEvent):
    """One client address failed to sign in too often across usernames (spraying): nobody may
    sign in from it until ``locked_until``."""

    TYPE: ClassVar[str] = "AddressLockedOut"
    VERSION: ClassVar[int] = 1
    STREAM: ClassVar[Stream] = Stream.IDENTITY
    AGGREGATE: ClassVar[str] = "address"
    EVENT: ClassVar[str] = "locked_out"

    address_id: UUID
    client_address: str
    failures: int
    locked_until: AwareDatetime
    occurred_at: AwareDatetime


# Facts that void access tokens. Every service's token verifier follows them
# (hazina_servicekit.revocation). ``revision`` is the version of the user's record the fact
# produced: an access token carries the revision it was minted from (claim ``rev``), and a token
# minted from an older revision than a voiding fact no longer works. Revisions, unlike clocks,
# order a token against a concurrent change exactly. Version 2 of the four user events below
# adds ``revision``; each extends its version 1, so a reader of version 1 reads version 2 unchanged.


class UserRoleChangedV2(UserRoleChanged):
    """Any change of role, regions or branch: tokens minted before it carry the old access."""

    TYPE: ClassVar[str] = "UserRoleChanged"
    VERSION: ClassVar[int] = 2

    revision: int = Field(ge=1)


class UserDeactivatedV2(UserDeactivated):
    TYPE: ClassVar[str] = "UserDeactivated"
    VERSION: ClassVar[int] = 2

    revision: int = Field(ge=1)


class PasswordResetV2(PasswordReset):
    TYPE: ClassVar[str] = "PasswordReset"
    VERSION: ClassVar[int] = 2

    revision: int = Field(ge=1)


class PasswordChangedV2(PasswordChanged):
    TYPE: ClassVar[str] = "PasswordChanged"
    VERSION: ClassVar[int] = 2

    revision: int = Field(ge=1)


# Version 2 of UserCreated and version 3 of UserRoleChanged carry every role of ``StaffRole``
# (``admin`` and ``accountant`` added); otherwise they are the version before.


class UserCreatedV2(UserCreated):
    TYPE: ClassVar[str] = "UserCreated"
    VERSION: ClassVar[int] = 2

    role: StaffRole  # type: ignore[assignment]  # wider than version 1's, on purpose


class UserRoleChangedV3(UserRoleChangedV2):
    TYPE: ClassVar[str] = "UserRoleChanged"
    VERSION: ClassVar[int] = 3

    role: StaffRole  # type: ignore[assignment]  # wider than version 2's, on purpose


class SignedOutEverywhere(_IdentityEvent):
    """The user signed out of every session: tokens minted before this revision stop working."""

    TYPE: ClassVar[str] = "SignedOutEverywhere"
    VERSION: ClassVar[int] = 1
    EVENT: ClassVar[str] = "signed_out_everywhere"

    revision: int = Field(ge=1)


class SessionRevoked(_IdentityEvent):
    """The user signed out of one session: its access tokens (claim ``sid``) stop working."""

    TYPE: ClassVar[str] = "SessionRevoked"
    VERSION: ClassVar[int] = 1
    EVENT: ClassVar[str] = "session_revoked"

    session_id: UUID


class TokenFamilyRevoked(_IdentityEvent):
    """A refresh token was presented a second time (likely stolen): its whole session ends."""

    TYPE: ClassVar[str] = "TokenFamilyRevoked"
    VERSION: ClassVar[int] = 1
    EVENT: ClassVar[str] = "token_family_revoked"

    session_id: UUID


# Branches: the offices staff and clients belong to. Identity owns them (staff are assigned to a
# branch); origination and the ledger keep a copy of the names to show beside groups and clients.


class _BranchEvent(ContractEvent):
    STREAM: ClassVar[Stream] = Stream.IDENTITY
    AGGREGATE: ClassVar[str] = "branch"

    branch_id: UUID
    occurred_at: AwareDatetime


class BranchOpened(_BranchEvent):
    TYPE: ClassVar[str] = "BranchOpened"
    VERSION: ClassVar[int] = 1
    EVENT: ClassVar[str] = "opened"

    name: str = Field(min_length=1, max_length=120)
    code: str = Field(min_length=1, max_length=20, description="upper case, unique")
    location: str | None = None
    address: str | None = None
    phone: str | None = None
    email: str | None = None
    opened_by: UUID


class BranchDetailsChanged(_BranchEvent):
    """The branch's details as they now are (every field, not only those that changed)."""

    TYPE: ClassVar[str] = "BranchDetailsChanged"
    VERSION: ClassVar[int] = 1
    EVENT: ClassVar[str] = "details_changed"

    name: str = Field(min_length=1, max_length=120)
    code: str = Field(min_length=1, max_length=20)
    location: str | None = None
    address: str | None = None
    phone: str | None = None
    email: str | None = None
    changed_by: UUID
