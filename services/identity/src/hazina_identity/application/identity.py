"""Identity's use cases: staff users, login with throttling, refresh-token rotation, passwords."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.persistence import IntegrityError

from hazina_identity.application.commands import CreateUser, LogIn, UpdateUser
from hazina_identity.application.ports import (
    AccessToken,
    Clock,
    LoginAttempts,
    PasswordHasher,
    SessionStore,
    TokenSigner,
)
from hazina_identity.domain.errors import IdentityError, UserInactiveError
from hazina_identity.domain.login_throttle import ThrottlePolicy
from hazina_identity.domain.password_policy import check_password
from hazina_identity.domain.roles import Role, parse_role
from hazina_identity.domain.staff_user import VOIDS_ACCESS_TOKENS, StaffUser, normalise_username

INVALID_CREDENTIALS = "Invalid username or password"


class UsernameTakenError(IdentityError):
    pass


class UserNotFoundError(IdentityError):
    pass


class InvalidCredentialsError(IdentityError):
    pass


class InvalidRefreshTokenError(IdentityError):
    pass


class ConcurrentChangeError(IdentityError):
    pass


class WrongCurrentPasswordError(IdentityError):
    pass


class LockedOutError(IdentityError):
    def __init__(self, until: datetime, now: datetime) -> None:
        self.retry_after_seconds = max(1, int((until - now).total_seconds()) + 1)
        minutes = max(1, round(self.retry_after_seconds / 60))
        super().__init__(
            f"Too many failed sign-in attempts. Try again in about {minutes} minute"
            f"{'s' if minutes != 1 else ''}."
        )


@dataclass(frozen=True)
class Session:
    user: StaffUser
    access: AccessToken
    refresh_token: str


class Identity(Application):
    """The event store of staff users, and the use cases that change them."""

    name = "identity"

    def __init__(
        self,
        env: dict[str, str],
        *,
        hasher: PasswordHasher,
        clock: Clock,
        sessions: SessionStore,
        attempts: LoginAttempts,
        signer: TokenSigner,
        user_throttle: ThrottlePolicy,
        address_throttle: ThrottlePolicy,
    ) -> None:
        super().__init__(env=env)
        self.hasher = hasher
        self.clock = clock
        self.sessions = sessions
        self.attempts = attempts
        self.signer = signer
        self.user_throttle = user_throttle
        self.address_throttle = address_throttle
        # A real hash to verify against when the username is unknown, so both paths take as long.
        self._decoy_hash = hasher.hash(secrets.token_urlsafe(16))

    # Users

    def get_user(self, user_id: uuid.UUID) -> StaffUser:
        try:
            user: StaffUser = self.repository.get(user_id)
        except AggregateNotFoundError:
            raise UserNotFoundError("User not found") from None
        return user

    def find_by_username(self, username: str) -> StaffUser | None:
        try:
            user: StaffUser = self.repository.get(StaffUser.create_id(username))
        except AggregateNotFoundError:
            return None
        return user

    def create_user(self, cmd: CreateUser) -> StaffUser:
        role = parse_role(cmd.role)
        username = normalise_username(cmd.username)
        check_password(cmd.password, username=username)
        if self.find_by_username(username) is not None:
            raise UsernameTakenError(f"Username '{username}' already exists")
        user = StaffUser(
            username=username,
            name=cmd.name,
            role=role.value,
            regions=list(cmd.regions),
            branch_id=cmd.branch_id,
            national_id=cmd.national_id,
            phone=cmd.phone,
            password_hash=self.hasher.hash(cmd.password),
            created_by=cmd.actor_id,
            correlation_id=cmd.correlation_id,
        )
        try:
            self.save(user)
        except IntegrityError:  # a concurrent request created the same username first
            raise UsernameTakenError(f"Username '{username}' already exists") from None
        return user

    def update_user(self, cmd: UpdateUser) -> StaffUser:
        user = self.get_user(cmd.user_id)
        role = parse_role(cmd.role) if cmd.role is not None else user.role
        regions = list(cmd.regions) if cmd.regions is not None else user.regions
        branch_id = cmd.branch_id if cmd.branch_given else user.branch_id
        user.change_access(
            role=role,
            regions=regions,
            branch_id=branch_id,
            by=cmd.actor_id,
            correlation_id=cmd.correlation_id,
        )
        deactivated = False
        if cmd.active is False:
            deactivated = user.deactivate(by=cmd.actor_id, correlation_id=cmd.correlation_id)
        elif cmd.active is True:
            user.reactivate(by=cmd.actor_id, correlation_id=cmd.correlation_id)
        self._save(user)
        if deactivated:
            self.sessions.revoke_user(user.id, self.clock.now())
        return user

    def reset_password(
        self,
        user_id: uuid.UUID,
        new_password: str | None,
        *,
        actor_id: uuid.UUID,
        correlation_id: str | None,
    ) -> tuple[StaffUser, str | None]:
        """Set a new password (or generate one, returned once); every session of the user ends."""
        user = self.get_user(user_id)
        generated = None
        if new_password is None:
            generated = new_password = generate_password()
        check_password(new_password, username=user.username)
        user.reset_password(
            password_hash=self.hasher.hash(new_password),
            reset_by=actor_id,
            correlation_id=correlation_id,
        )
        self._save(user)
        self.sessions.revoke_user(user.id, self.clock.now())
        return user, generated

    def change_password(
        self,
        user_id: uuid.UUID,
        current: str,
        new: str,
        confirm: str,
        *,
        correlation_id: str | None,
    ) -> StaffUser:
        user = self.get_user(user_id)
        if not self.hasher.verify(user.password_hash, current):
            raise WrongCurrentPasswordError("Current password is incorrect")
        if new != confirm:
            raise WrongCurrentPasswordError("New password and confirmation do not match")
        if new == current:
            raise WrongCurrentPasswordError("New password must differ from the current one")
        check_password(new, username=user.username)
        user.change_password(password_hash=self.hasher.hash(new), correlation_id=correlation_id)
        self._save(user)
        self.sessions.revoke_user(user.id, self.clock.now())
        return user

    def ensure_super_admin(
        self, *, username: str, password: str, national_id: str | None, phone: str | None
    ) -> StaffUser | None:
        """Create the first super admin once; returns None when the account already exists."""
        if self.find_by_username(username) is not None:
            return None
        try:
            return self.create_user(
                CreateUser(
                    username=username,
                    password=password,
                    role=Role.SUPER_ADMIN.value,
                    regions=[],
                    name="Super Admin",
                    branch_id=None,
                    national_id=national_id,
                    phone=phone,
                    actor_id=None,
                    correlation_id="seed",
                )
            )
        except UsernameTakenError:
            return None

    # Sessions

    def log_in(self, cmd: LogIn) -> Session:
        now = self.clock.now()
        username = normalise_username(cmd.username)
        keys = [f"user:{username}", f"address:{cmd.client_address}"]
        until = self.attempts.locked_until(keys, now)
        if until is not None:
            raise LockedOutError(until, now)
        user = self.find_by_username(username) if username else None
        if user is None:
            self.hasher.verify(self._decoy_hash, cmd.password)
            self._failed(keys, None, "unknown_user", cmd, now)
            raise InvalidCredentialsError(INVALID_CREDENTIALS)
        if not self.hasher.verify(user.password_hash, cmd.password):
            self._failed(keys, user, "wrong_password", cmd, now)
            raise InvalidCredentialsError(INVALID_CREDENTIALS)
        if not user.active:
            user.record_login_failed(
                at=now,
                reason="inactive",
                client_address=cmd.client_address,
                correlation_id=cmd.correlation_id,
            )
            self.save(user)
            raise UserInactiveError("This account has been deactivated; contact your administrator")
        if self.hasher.needs_rehash(user.password_hash):
            user.rehash_password(password_hash=self.hasher.hash(cmd.password))
        user.record_login_succeeded(
            at=now, client_address=cmd.client_address, correlation_id=cmd.correlation_id
        )
        self.save(user)
        self.attempts.clear(keys[0])
        return self._start_session(user, now)

    def _failed(
        self, keys: list[str], user: StaffUser | None, reason: str, cmd: LogIn, now: datetime
    ) -> None:
        failures = self.attempts.record_failure(keys, now)
        user_until = self.user_throttle.locked_until(failures.get(keys[0], []), now)
        address_until = self.address_throttle.locked_until(failures.get(keys[1], []), now)
        if user_until:
            self.attempts.lock(keys[0], user_until)
        if address_until:
            self.attempts.lock(keys[1], address_until)
        if user is not None:
            user.record_login_failed(
                at=now,
                reason=reason,
                client_address=cmd.client_address,
                correlation_id=cmd.correlation_id,
            )
            if user_until:
                user.record_locked_out(until=user_until, correlation_id=cmd.correlation_id)
            self.save(user)

    def refresh(self, refresh_token: str) -> Session:
        """A new access token with the user's current role, regions and branch, in the same session."""
        now = self.clock.now()
        outcome = self.sessions.redeem(refresh_token, now)
        if outcome.reused:
            if outcome.user_id is not None and outcome.family_id is not None:
                session_id = outcome.family_id
                self._change_user(
                    outcome.user_id, lambda u: u.record_refresh_token_reused(session_id=session_id)
                )
            raise InvalidRefreshTokenError("Refresh token was already used; please sign in again")
        if outcome.user_id is None or outcome.family_id is None:
            raise InvalidRefreshTokenError("Invalid or expired refresh token")
        user = self.get_user(outcome.user_id)
        if not user.active:
            self.sessions.revoke_user(user.id, now)
            raise InvalidRefreshTokenError("This account has been deactivated")
        new_refresh = self.sessions.issue(user.id, now, family_id=outcome.family_id)
        return Session(
            user=user,
            access=self._access_token(user, now, outcome.family_id),
            refresh_token=new_refresh,
        )

    def log_out(
        self,
        user_id: uuid.UUID,
        refresh_token: str | None,
        *,
        session_id: str | None = None,
        correlation_id: str | None = None,
    ) -> None:
        """End the session of ``refresh_token`` and of the access token used (``session_id``);
        with no refresh token, end every session of the user (as before sessions were named)."""
        now = self.clock.now()
        if refresh_token is None:
            self._change_user(
                user_id, lambda u: u.sign_out_everywhere(correlation_id=correlation_id)
            )
            self.sessions.revoke_user(user_id, now)
            return
        ended: list[uuid.UUID] = []
        family = self.sessions.revoke_family_of(refresh_token, user_id, now)
        if family is not None:
            ended.append(family)
        current = _uuid_or_none(session_id)
        if current is not None and current != family:
            self.sessions.revoke_family(current, user_id, now)
            ended.append(current)
        for session in ended:
            signed_out = partial(
                StaffUser.record_signed_out, session_id=session, correlation_id=correlation_id
            )
            self._change_user(user_id, signed_out)

    def _start_session(self, user: StaffUser, now: datetime) -> Session:
        """A new session: a refresh-token family, and an access token naming it (``sid``)."""
        session_id = uuid.uuid4()
        refresh = self.sessions.issue(user.id, now, family_id=session_id)
        return Session(
            user=user, access=self._access_token(user, now, session_id), refresh_token=refresh
        )

    def _access_token(self, user: StaffUser, now: datetime, session_id: uuid.UUID) -> AccessToken:
        claims: dict[str, Any] = {
            "sub": str(user.id),
            "role": user.role.value,
            "regions": list(user.regions),
            "branch_id": user.branch_id,
            "username": user.username,
            "sid": str(session_id),
            # The revision of the user's record this token was minted from: a later fact that
            # voids tokens (a demotion, a deactivation...) has a higher one.
            "rev": user.version,
        }
        return self.signer.issue_access_token(claims, now)

    # Saving facts that void access tokens

    def _save(self, user: StaffUser) -> None:
        """Save ``user``; first, if its new events void access tokens, record that for identity's
        own token checks. Recorded first, a failed save costs at worst a spurious revocation."""
        voiding = [e for e in user.pending_events if type(e) in VOIDS_ACCESS_TOKENS]
        if voiding:
            last = voiding[-1]
            self.sessions.revoke_access(
                user.id,
                below_revision=last.originator_version,
                reason=VOIDS_ACCESS_TOKENS[type(last)],
            )
        self.save(user)

    def _change_user(self, user_id: uuid.UUID, change: Callable[[StaffUser], None]) -> StaffUser:
        """Apply ``change`` to the user and save it, again on top of a concurrent write (a sign-in)."""
        for _ in range(5):
            user = self.get_user(user_id)
            change(user)
            try:
                self._save(user)
            except IntegrityError:
                continue
            return user
        raise ConcurrentChangeError("This account is changing too often right now; try again")


def _uuid_or_none(value: str | None) -> uuid.UUID | None:
    try:
        return uuid.UUID(value) if value else None
    except ValueError:
        return None


def generate_password() -> str:
    return secrets.token_urlsafe(15)  # 20 characters, ~120 bits
