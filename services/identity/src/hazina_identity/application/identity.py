"""Identity's use cases: staff users, login with throttling, refresh-token rotation, passwords."""

from __future__ import annotations

import contextlib
import math
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any

from eventsourcing.application import AggregateNotFoundError
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
from hazina_identity.domain.password_policy import STAFF_PAGES_INITIAL_PASSWORD, check_password
from hazina_identity.domain.roles import Role, parse_role
from hazina_identity.domain.sign_in_address import SignInAddress
from hazina_identity.domain.staff_user import StaffUser, access_voided_by, normalise_username
from hazina_servicekit.eventstore import EventStoreApplication
from hazina_servicekit.retry import retry_on_conflict

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
    """The same answer for a lock and a delay, for known and unknown usernames alike."""

    def __init__(self, until: datetime, now: datetime) -> None:
        self.retry_after_seconds = max(1, math.ceil((until - now).total_seconds()))
        if self.retry_after_seconds < 60:
            wait = _plural(self.retry_after_seconds, "second")
        else:
            wait = "about " + _plural(max(1, round(self.retry_after_seconds / 60)), "minute")
        super().__init__(f"Too many failed sign-in attempts. Try again in {wait}.")


def _plural(count: int, unit: str) -> str:
    return f"{count} {unit}{'' if count == 1 else 's'}"


@dataclass(frozen=True)
class Session:
    user: StaffUser
    access: AccessToken
    refresh_token: str


class Identity(EventStoreApplication):
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
        throttle: ThrottlePolicy,
    ) -> None:
        super().__init__(env=env)
        self.hasher = hasher
        self.clock = clock
        self.sessions = sessions
        self.attempts = attempts
        self.signer = signer
        self.throttle = throttle
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
        if not (cmd.from_staff_pages and cmd.password == STAFF_PAGES_INITIAL_PASSWORD):
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
        if cmd.email and cmd.actor_id is not None:
            user.change_details(
                name=user.name,
                email=cmd.email,
                phone=user.phone,
                national_id=user.national_id,
                by=cmd.actor_id,
                correlation_id=cmd.correlation_id,
            )
        try:
            self.save(user)
        except IntegrityError:  # a concurrent request created the same username first
            raise UsernameTakenError(f"Username '{username}' already exists") from None
        return user

    def update_user(self, cmd: UpdateUser) -> StaffUser:
        user = self.get_user(cmd.user_id)
        if cmd.details is not None:
            user.change_details(
                name=cmd.details.name,
                email=cmd.details.email,
                phone=cmd.details.phone,
                national_id=cmd.details.national_id,
                by=cmd.actor_id,
                correlation_id=cmd.correlation_id,
            )
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
        address = cmd.client_address
        user = self.find_by_username(username) if username else None
        self._refuse_while_throttled(user, username, address, now)
        if user is None:
            self.hasher.verify(self._decoy_hash, cmd.password)
            self._failed(username, None, "unknown_user", cmd, now)
            raise InvalidCredentialsError(INVALID_CREDENTIALS)
        if not self.hasher.verify(user.password_hash, cmd.password):
            self._failed(username, user, "wrong_password", cmd, now)
            raise InvalidCredentialsError(INVALID_CREDENTIALS)
        if not user.active:
            self._change_user(
                user.id,
                lambda u: u.record_login_failed(
                    at=now,
                    reason="inactive",
                    client_address=address,
                    correlation_id=cmd.correlation_id,
                ),
            )
            raise UserInactiveError("This account has been deactivated; contact your administrator")
        checked_hash = user.password_hash
        rehashed = (
            self.hasher.hash(cmd.password) if self.hasher.needs_rehash(checked_hash) else None
        )

        def succeeded(current: StaffUser) -> None:
            # The password was checked against this hash: if it changed meanwhile (the settings
            # page), the new one is what signs in now.
            if current.password_hash != checked_hash:
                raise InvalidCredentialsError(INVALID_CREDENTIALS)
            if rehashed is not None:
                current.rehash_password(password_hash=rehashed)
            current.record_login_succeeded(
                at=now, client_address=address, correlation_id=cmd.correlation_id
            )

        # Saved on top of a concurrent write to the same user (a password change, another sign-in).
        user = self._change_user(user.id, succeeded)
        self.attempts.succeeded(username, address)
        return self._start_session(user, now)

    def _refuse_while_throttled(
        self, user: StaffUser | None, username: str, address: str, now: datetime
    ) -> None:
        """429 while the pair or the address is locked, or while an unfamiliar address must wait.

        An unknown username has no familiar address, exactly like a known one being guessed from
        elsewhere, so the answer does not tell whether the account exists.
        """
        policy = self.throttle
        until = self.attempts.locked_until(username, address, now)
        familiar = user.familiar_addresses(now, policy.familiar_for) if user is not None else []
        if address not in familiar:
            failures = self.attempts.unfamiliar_failures(username, familiar, now - policy.window)
            wait = policy.unfamiliar_wait_until(failures, now)
            if wait is not None and (until is None or wait > until):
                until = wait
        if until is not None:
            raise LockedOutError(until, now)

    def _failed(
        self, username: str, user: StaffUser | None, reason: str, cmd: LogIn, now: datetime
    ) -> None:
        policy = self.throttle
        address = cmd.client_address
        failures = self.attempts.record_failure(username, address, now, now - policy.window)
        pair_until = policy.pair_locked_until(failures.pair, now)
        pair_locked = pair_until is not None and self.attempts.lock_pair(
            username, address, pair_until, now
        )
        address_until = policy.address_locked_until(failures.address, now)
        if address_until is not None and self.attempts.lock_address(address, address_until, now):
            self._record_address_locked(address, address_until, len(failures.address), cmd)
        if user is not None:

            def note(current: StaffUser) -> None:
                current.record_login_failed(
                    at=now,
                    reason=reason,
                    client_address=address,
                    correlation_id=cmd.correlation_id,
                )
                if pair_locked and pair_until is not None:
                    current.record_locked_out(until=pair_until, correlation_id=cmd.correlation_id)

            # Saved on top of a concurrent write to the same user: never a 500 for a sign-in.
            self._change_user(user.id, note)
        # An unknown username's lock is not recorded: there is no account, and what people type
        # as a username is sometimes their password, which must never reach the store.

    def _record_address_locked(
        self, address: str, until: datetime, failures: int, cmd: LogIn
    ) -> None:
        def attempt() -> None:
            try:
                place: SignInAddress = self.repository.get(SignInAddress.create_id(address))
            except AggregateNotFoundError:
                place = SignInAddress(client_address=address)
            place.record_locked_out(
                until=until, failures=failures, correlation_id=cmd.correlation_id
            )
            self.save(place)

        # Once more on top of another request that noted the address first; if a third noted it
        # meanwhile, its record of the lock stands (the lock itself is the attempts store's).
        with contextlib.suppress(IntegrityError):
            retry_on_conflict(attempt, attempts=2)

    def lift_lockout(
        self, user_id: uuid.UUID, *, actor_id: uuid.UUID, correlation_id: str | None
    ) -> bool:
        """Clear the user's sign-in locks and failures at every address; True when a lock was lifted.

        Only a lift of a lock in force is recorded (``LockoutLifted``), so the history says who
        let whom back in, and asking twice records it once.
        """
        lifted = self.attempts.lift(self.get_user(user_id).username, self.clock.now())
        if lifted:
            self._change_user(
                user_id,
                lambda user: user.record_lockout_lifted(by=actor_id, correlation_id=correlation_id),
            )
        return lifted > 0

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
        voiding = [(e, why) for e in user.pending_events if (why := access_voided_by(e))]
        if voiding:
            last, reason = voiding[-1]
            self.sessions.revoke_access(
                user.id, below_revision=last.originator_version, reason=reason
            )
        self.save(user)

    def _change_user(self, user_id: uuid.UUID, change: Callable[[StaffUser], None]) -> StaffUser:
        """Apply ``change`` to the user and save it, again on top of a concurrent write (a sign-in)."""

        def attempt() -> StaffUser:
            user = self.get_user(user_id)
            change(user)
            self._save(user)
            return user

        try:
            return retry_on_conflict(attempt, attempts=5)
        except IntegrityError:
            raise ConcurrentChangeError(
                "This account is changing too often right now; try again"
            ) from None


def _uuid_or_none(value: str | None) -> uuid.UUID | None:
    try:
        return uuid.UUID(value) if value else None
    except ValueError:
        return None


def generate_password() -> str:
    return secrets.token_urlsafe(15)  # 20 characters, ~120 bits
