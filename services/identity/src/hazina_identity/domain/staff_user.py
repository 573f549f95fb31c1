"""A staff user: who they are, what role they hold, and the history of their access."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from eventsourcing.domain import Aggregate, event
from eventsourcing.utils import register_topic

from hazina_identity.domain.errors import SelfLockoutError, UserInactiveError
from hazina_identity.domain.roles import Role

USERNAME_NAMESPACE = uuid.UUID("1b7d0f4e-9f3c-4d0e-8a51-3c9f2a6b7e20")

# How many addresses a user's recent successful sign-ins are remembered from (newest kept).
KNOWN_ADDRESSES_KEPT = 5


def normalise_username(username: str) -> str:
    return username.strip().lower()


class StaffUser(Aggregate):
    """One aggregate per username: its id is derived from the name, so a username is taken once."""

    TOPIC = "hazina.identity.StaffUser"

    @staticmethod
    def create_id(username: str, **_: Any) -> uuid.UUID:
        return uuid.uuid5(USERNAME_NAMESPACE, normalise_username(username))

    class Created(Aggregate.Created):
        TOPIC = "hazina.identity.StaffUser.Created"
        username: str
        name: str | None
        role: str
        regions: list[str]
        branch_id: str | None
        national_id: str | None
        phone: str | None
        password_hash: str
        created_by: uuid.UUID | None
        correlation_id: str | None

    @event(Created)
    def __init__(
        self,
        *,
        username: str,
        name: str | None,
        role: str,
        regions: list[str],
        branch_id: str | None,
        national_id: str | None,
        phone: str | None,
        password_hash: str,
        created_by: uuid.UUID | None,
        correlation_id: str | None,
    ) -> None:
        self.username = normalise_username(username)
        self.name = name
        self.role = Role(role)
        self.regions = list(regions)
        self.branch_id = branch_id
        self.national_id = national_id
        self.phone = phone
        self.email: str | None = None  # from DetailsChanged (Created never carried one)
        self.password_hash = password_hash
        self.active = True
        self.last_login_at: datetime | None = None
        # Where the user last signed in successfully: address -> when (bounded, newest kept).
        self.known_addresses: dict[str, datetime] = {}

    # Commands: decide, then record. The decorated private methods only assign state.

    def change_access(
        self,
        *,
        role: Role,
        regions: list[str],
        branch_id: str | None,
        by: uuid.UUID,
        correlation_id: str | None,
    ) -> bool:
        if (role, regions, branch_id) == (self.role, self.regions, self.branch_id):
            return False
        if by == self.id and role != Role.SUPER_ADMIN:
            raise SelfLockoutError("You cannot remove your own super admin role")
        self._access_changed(
            role=role.value,
            regions=list(regions),
            branch_id=branch_id,
            changed_by=by,
            correlation_id=correlation_id,
        )
        return True

    class AccessChanged(Aggregate.Event):
        TOPIC = "hazina.identity.StaffUser.AccessChanged"
        role: str
        regions: list[str]
        branch_id: str | None
        changed_by: uuid.UUID
        correlation_id: str | None

    @event(AccessChanged)
    def _access_changed(
        self,
        role: str,
        regions: list[str],
        branch_id: str | None,
        changed_by: uuid.UUID,
        correlation_id: str | None,
    ) -> None:
        self.role = Role(role)
        self.regions = list(regions)
        self.branch_id = branch_id

    def change_details(
        self,
        *,
        name: str | None,
        email: str | None,
        phone: str | None,
        national_id: str | None,
        by: uuid.UUID,
        correlation_id: str | None,
    ) -> bool:
        """Who the person is (not what they may do): no token is voided by it."""
        details = (name, email, phone, national_id)
        if details == (self.name, self.email, self.phone, self.national_id):
            return False
        self._details_changed(
            name=name,
            email=email,
            phone=phone,
            national_id=national_id,
            changed_by=by,
            correlation_id=correlation_id,
        )
        return True

    class DetailsChanged(Aggregate.Event):
        TOPIC = "hazina.identity.StaffUser.DetailsChanged"
        name: str | None
        email: str | None
        phone: str | None
        national_id: str | None
        changed_by: uuid.UUID
        correlation_id: str | None

    @event(DetailsChanged)
    def _details_changed(
        self,
        name: str | None,
        email: str | None,
        phone: str | None,
        national_id: str | None,
        changed_by: uuid.UUID,
        correlation_id: str | None,
    ) -> None:
        self.name, self.email, self.phone, self.national_id = name, email, phone, national_id

    def deactivate(self, *, by: uuid.UUID, correlation_id: str | None) -> bool:
        if not self.active:
            return False
        if by == self.id:
            raise SelfLockoutError("You cannot deactivate your own account")
        self._deactivated(deactivated_by=by, correlation_id=correlation_id)
        return True

    class Deactivated(Aggregate.Event):
        TOPIC = "hazina.identity.StaffUser.Deactivated"
        deactivated_by: uuid.UUID
        correlation_id: str | None

    @event(Deactivated)
    def _deactivated(self, deactivated_by: uuid.UUID, correlation_id: str | None) -> None:
        self.active = False

    def reactivate(self, *, by: uuid.UUID, correlation_id: str | None) -> bool:
        if self.active:
            return False
        self._reactivated(reactivated_by=by, correlation_id=correlation_id)
        return True

    class Reactivated(Aggregate.Event):
        TOPIC = "hazina.identity.StaffUser.Reactivated"
        reactivated_by: uuid.UUID
        correlation_id: str | None

    @event(Reactivated)
    def _reactivated(self, reactivated_by: uuid.UUID, correlation_id: str | None) -> None:
        self.active = True

    class PasswordReset(Aggregate.Event):
        TOPIC = "hazina.identity.StaffUser.PasswordReset"
        password_hash: str
        reset_by: uuid.UUID
        correlation_id: str | None

    @event(PasswordReset)
    def reset_password(
        self, *, password_hash: str, reset_by: uuid.UUID, correlation_id: str | None
    ) -> None:
        self.password_hash = password_hash

    def change_password(self, *, password_hash: str, correlation_id: str | None) -> None:
        if not self.active:
            raise UserInactiveError("This account has been deactivated")
        self._password_changed(password_hash=password_hash, correlation_id=correlation_id)

    class PasswordChanged(Aggregate.Event):
        TOPIC = "hazina.identity.StaffUser.PasswordChanged"
        password_hash: str
        correlation_id: str | None

    @event(PasswordChanged)
    def _password_changed(self, password_hash: str, correlation_id: str | None) -> None:
        self.password_hash = password_hash

    class PasswordRehashed(Aggregate.Event):
        TOPIC = "hazina.identity.StaffUser.PasswordRehashed"
        password_hash: str

    @event(PasswordRehashed)
    def rehash_password(self, *, password_hash: str) -> None:
        """Private: the same password under stronger hashing parameters."""
        self.password_hash = password_hash

    def record_login_succeeded(
        self, *, at: datetime, client_address: str, correlation_id: str | None
    ) -> None:
        self._login_succeeded(
            username=self.username,
            at=at,
            client_address=client_address,
            correlation_id=correlation_id,
        )

    class LoginSucceeded(Aggregate.Event):
        TOPIC = "hazina.identity.StaffUser.LoginSucceeded"
        username: str
        at: datetime
        client_address: str
        correlation_id: str | None

    @event(LoginSucceeded)
    def _login_succeeded(
        self, username: str, at: datetime, client_address: str, correlation_id: str | None
    ) -> None:
        self.last_login_at = at
        known = dict(self.known_addresses)
        known.pop(client_address, None)
        known[client_address] = at
        newest = sorted(known.items(), key=lambda item: item[1])[-KNOWN_ADDRESSES_KEPT:]
        self.known_addresses = dict(newest)

    def familiar_addresses(self, now: datetime, within: timedelta) -> list[str]:
        """Addresses the user signed in from successfully within that long: where they work."""
        return [address for address, at in self.known_addresses.items() if now - at <= within]

    def record_login_failed(
        self, *, at: datetime, reason: str, client_address: str, correlation_id: str | None
    ) -> None:
        self._login_failed(
            username=self.username,
            at=at,
            reason=reason,
            client_address=client_address,
            correlation_id=correlation_id,
        )

    class LoginFailed(Aggregate.Event):
        TOPIC = "hazina.identity.StaffUser.LoginFailed"
        username: str
        at: datetime
        reason: str
        client_address: str
        correlation_id: str | None

    @event(LoginFailed)
    def _login_failed(
        self,
        username: str,
        at: datetime,
        reason: str,
        client_address: str,
        correlation_id: str | None,
    ) -> None:
        pass

    def record_locked_out(self, *, until: datetime, correlation_id: str | None) -> None:
        self._locked_out(username=self.username, until=until, correlation_id=correlation_id)

    class LockedOut(Aggregate.Event):
        TOPIC = "hazina.identity.StaffUser.LockedOut"
        username: str
        until: datetime
        correlation_id: str | None

    @event(LockedOut)
    def _locked_out(self, username: str, until: datetime, correlation_id: str | None) -> None:
        """Too many failures for this user from one address: that address is locked until then
        (the ``LoginFailed`` just before names it)."""

    def record_lockout_lifted(self, *, by: uuid.UUID, correlation_id: str | None) -> None:
        self._lockout_lifted(username=self.username, lifted_by=by, correlation_id=correlation_id)

    class LockoutLifted(Aggregate.Event):
        TOPIC = "hazina.identity.StaffUser.LockoutLifted"
        username: str
        lifted_by: uuid.UUID
        correlation_id: str | None

    @event(LockoutLifted)
    def _lockout_lifted(
        self, username: str, lifted_by: uuid.UUID, correlation_id: str | None
    ) -> None:
        """A super admin lifted the user's sign-in locks at every address."""

    # Sessions. A session is one sign-in: its refresh-token family, named in its access tokens.

    def record_signed_out(self, *, session_id: uuid.UUID, correlation_id: str | None) -> None:
        self._signed_out(session_id=session_id, correlation_id=correlation_id)

    class SignedOut(Aggregate.Event):
        TOPIC = "hazina.identity.StaffUser.SignedOut"
        session_id: uuid.UUID
        correlation_id: str | None

    @event(SignedOut)
    def _signed_out(self, session_id: uuid.UUID, correlation_id: str | None) -> None:
        pass

    def sign_out_everywhere(self, *, correlation_id: str | None) -> None:
        self._signed_out_everywhere(correlation_id=correlation_id)

    class SignedOutEverywhere(Aggregate.Event):
        TOPIC = "hazina.identity.StaffUser.SignedOutEverywhere"
        correlation_id: str | None

    @event(SignedOutEverywhere)
    def _signed_out_everywhere(self, correlation_id: str | None) -> None:
        pass

    def record_refresh_token_reused(self, *, session_id: uuid.UUID) -> None:
        """A used refresh token came back: whoever holds it may have stolen it."""
        self._refresh_token_reused(session_id=session_id)

    class RefreshTokenReused(Aggregate.Event):
        TOPIC = "hazina.identity.StaffUser.RefreshTokenReused"
        session_id: uuid.UUID

    @event(RefreshTokenReused)
    def _refresh_token_reused(self, session_id: uuid.UUID) -> None:
        pass


# The facts after which the user's access tokens must stop working, and why: any token minted
# from the user's state before one of them (a lower revision, ``StaffUser.version``) carries
# access the user no longer has. Reactivation is not here: an inactive user gets no token.
_VOIDS_ACCESS_TOKENS: dict[str, str] = {
    "AccessChanged": "the account's role, regions or branch changed",
    "Deactivated": "the account was deactivated",
    "PasswordReset": "the password was reset",  # pragma: allowlist secret
    "PasswordChanged": "the password was changed",  # pragma: allowlist secret
    "SignedOutEverywhere": "the user signed out of every session",
}


def access_voided_by(event: object) -> str | None:
    """Why ``event`` voids the user's access tokens minted before it, or None if it does not."""
    kind = type(event)
    if not kind.__qualname__.startswith(f"{StaffUser.__name__}."):
        return None
    return _VOIDS_ACCESS_TOKENS.get(kind.__name__)


# Events stored before topics were pinned name this class (and theirs) by module path.
register_topic("hazina_identity.domain.staff_user:StaffUser", StaffUser)
