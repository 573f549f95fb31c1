"""What identity's use cases need from the outside world, as protocols the adapters implement."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol


class Clock(Protocol):
    def now(self) -> datetime: ...


class PasswordHasher(Protocol):
    def hash(self, password: str) -> str: ...
    def verify(self, password_hash: str, password: str) -> bool: ...
    def needs_rehash(self, password_hash: str) -> bool: ...


@dataclass(frozen=True)
class AccessToken:
    token: str
    expires_in: int


class TokenSigner(Protocol):
    def issue_access_token(self, claims: dict[str, Any], now: datetime) -> AccessToken: ...
    def jwks(self) -> dict[str, Any]: ...


@dataclass(frozen=True)
class RefreshOutcome:
    """What presenting a refresh token found; ``reused`` means its family (whose user and id
    are given) was just revoked because the token had been used before."""

    user_id: uuid.UUID | None
    family_id: uuid.UUID | None
    reused: bool = False


class SessionStore(Protocol):
    """Sessions (refresh-token families) and which access tokens identity itself refuses."""

    def issue(
        self, user_id: uuid.UUID, now: datetime, family_id: uuid.UUID | None = None
    ) -> str: ...
    def redeem(self, token: str, now: datetime) -> RefreshOutcome: ...
    def revoke_family_of(
        self, token: str, user_id: uuid.UUID, now: datetime
    ) -> uuid.UUID | None: ...
    def revoke_family(self, family_id: uuid.UUID, user_id: uuid.UUID, now: datetime) -> bool: ...
    def revoke_user(self, user_id: uuid.UUID, now: datetime) -> int: ...
    def revoke_access(self, user_id: uuid.UUID, *, below_revision: int, reason: str) -> None:
        """Access tokens of the user minted from a revision below ``below_revision`` are void."""
        ...


@dataclass(frozen=True)
class RecentFailures:
    """Failed sign-ins inside the window: this username at this address, and this address at all."""

    pair: list[datetime]
    address: list[datetime]


class LoginAttempts(Protocol):
    """Failed sign-ins and locks, per (username, address) pair and per address."""

    def locked_until(self, username: str, client_address: str, now: datetime) -> datetime | None:
        """The latest lock in force on this pair or on the whole address."""
        ...

    def unfamiliar_failures(
        self, username: str, familiar: list[str], since: datetime
    ) -> list[datetime]:
        """The username's failures since then from addresses other than ``familiar``."""
        ...

    def record_failure(
        self, username: str, client_address: str, now: datetime, since: datetime
    ) -> RecentFailures: ...

    def lock_pair(self, username: str, client_address: str, until: datetime, now: datetime) -> bool:
        """Lock the pair; True only for the request that turned the lock on (one event per lock)."""
        ...

    def lock_address(self, client_address: str, until: datetime, now: datetime) -> bool: ...

    def succeeded(self, username: str, client_address: str) -> None:
        """Forget the pair's failures after a successful sign-in."""
        ...

    def lift(self, username: str, now: datetime) -> int:
        """Remove the username's locks and failures at every address; returns locks in force."""
        ...


@dataclass(frozen=True)
class DirectoryQuery:
    search: str | None = None
    role: str | None = None
    active: bool | None = None
    offset: int = 0
    limit: int | None = None


class StaffDirectory(Protocol):
    """The searchable list of staff, a read model kept from the user events."""

    def search(self, query: DirectoryQuery) -> tuple[list[dict[str, Any]], int]: ...
    def get(self, user_id: uuid.UUID) -> dict[str, Any] | None: ...
