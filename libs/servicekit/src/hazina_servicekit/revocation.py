"""Refusing revoked access tokens in every process of every service, within seconds.

Identity publishes every fact that voids access tokens on its stream (see
``hazina_contracts.events.identity``): per user, "tokens minted from a revision older than R no
longer work" (deactivation, a change of role, regions or branch, a password change or reset,
signing out everywhere); per session, "tokens of session S no longer work" (signing out, a
refresh token used twice). Each service process keeps those facts in memory (``RevocationList``)
and its token verifier looks every token up there: two dictionary reads, no call to identity.

``RevocationFeed`` fills the list from an ephemeral JetStream consumer on the IDENTITY stream,
filtered to those subjects. On start it replays the facts of the last ``horizon`` seconds, so
a restarted process refuses what it refused before; afterwards new facts arrive as identity's
outbox publishes them (well under a second). Facts older than the horizon are dropped: the
tokens they voided have expired, because the verifier refuses any token whose lifetime is
longer than the horizon.

Fail closed: until the feed has reached the end of the stream once, a request with a token waits
up to ``startup_wait`` seconds, then gets a 503 (never a 401, which would sign the user out for
nothing). If NATS becomes unreachable the process keeps judging tokens by what it already knows
for ``max_staleness`` seconds, then answers 503 until the feed is back and caught up: a fact
published meanwhile is applied within ``max_staleness`` seconds or not at all.

Tokens are ordered against facts by the user record's revision (claim ``rev``), not by clocks:
a token minted from a read that raced a change carries the older revision and is void.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog
from fastapi import FastAPI
from nats.aio.msg import Msg
from nats.errors import TimeoutError as NatsTimeoutError
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from pydantic import ValidationError

from hazina_contracts.envelope import EventEnvelope
from hazina_contracts.events import identity
from hazina_contracts.subjects import Stream
from hazina_servicekit.auth import Principal, TokenVerifier
from hazina_servicekit.errors import ServiceUnavailable, Unauthorized
from hazina_servicekit.health import add_readiness_check
from hazina_servicekit.messaging import ensure_stream
from hazina_servicekit.runtime import NatsLink, running_workers
from hazina_servicekit.settings import ServiceSettings

log = structlog.get_logger(__name__)

# Why a user's tokens were voided, by the type of the event that voided them (every version).
USER_REVOCATIONS: dict[str, str] = {
    identity.UserDeactivated.TYPE: "the account was deactivated",
    identity.UserRoleChanged.TYPE: "the account's role, regions or branch changed",
    identity.PasswordReset.TYPE: "the password was reset",
    identity.PasswordChanged.TYPE: "the password was changed",
    identity.SignedOutEverywhere.TYPE: "the user signed out of every session",
}
SESSION_REVOCATIONS: dict[str, str] = {
    identity.SessionRevoked.TYPE: "the session was signed out",
    identity.TokenFamilyRevoked.TYPE: "the session's refresh token was used twice",
}
REVOCATION_SUBJECTS: tuple[str, ...] = tuple(
    sorted(
        {
            identity.UserDeactivated.subject(),
            identity.UserRoleChanged.subject(),
            identity.PasswordReset.subject(),
            identity.PasswordChanged.subject(),
            identity.SignedOutEverywhere.subject(),
            identity.SessionRevoked.subject(),
            identity.TokenFamilyRevoked.subject(),
        }
    )
)

# A token without ``rev`` was minted before revisions existed; a version 1 fact (no revision)
# voids exactly those tokens of its user.
LEGACY_TOKEN_REVISION = -1
LEGACY_FACT_REVISION = 0

# Kept beyond the horizon: the verifier's expiry leeway, clock skew between hosts, commit delays.
MARGIN = timedelta(minutes=5)


@dataclass(frozen=True)
class _UserEntry:
    revision: int  # tokens minted from an older revision are void
    reason: str
    at: datetime  # when the latest fact happened; forgotten a horizon after it


@dataclass(frozen=True)
class _SessionEntry:
    reason: str
    at: datetime


class RevocationList:
    """One process's deny state. Applying a fact twice, or facts out of order, changes nothing:
    each entry only ever takes the maximum."""

    def __init__(
        self,
        *,
        horizon_seconds: float,
        max_staleness_seconds: float,
        startup_wait_seconds: float,
    ) -> None:
        self.horizon = timedelta(seconds=horizon_seconds)
        self.max_staleness = max_staleness_seconds
        self.startup_wait = startup_wait_seconds
        self._users: dict[uuid.UUID, _UserEntry] = {}
        self._sessions: dict[str, _SessionEntry] = {}
        self._caught_up = threading.Event()
        self._synced_at = float("-inf")
        self._lock = threading.Lock()  # writers only; readers see whole entries

    # Fed by RevocationFeed (or by a test)

    def revoke_user(self, user_id: uuid.UUID, *, revision: int, reason: str, at: datetime) -> bool:
        """Tokens of ``user_id`` minted from a revision below ``revision`` are void; True if new."""
        with self._lock:
            known = self._users.get(user_id)
            entry = (
                _UserEntry(revision, reason, at)
                if known is None
                else _UserEntry(
                    max(known.revision, revision),
                    reason if revision > known.revision else known.reason,
                    max(known.at, at),
                )
            )
            if entry == known:
                return False
            self._users[user_id] = entry
            return True

    def revoke_session(self, session_id: str, *, reason: str, at: datetime) -> bool:
        """Every token of ``session_id`` is void; True if that changed anything."""
        with self._lock:
            known = self._sessions.get(session_id)
            entry = (
                _SessionEntry(reason, at)
                if known is None
                else _SessionEntry(known.reason, max(known.at, at))
            )
            if entry == known:
                return False
            self._sessions[session_id] = entry
            return True

    def apply(self, envelope: EventEnvelope) -> bool:
        """Apply one published fact; False when it was not a revocation or changed nothing."""
        if envelope.type in USER_REVOCATIONS:
            fact = _read(envelope)
            if fact is None:
                return False
            user_id, data = fact
            revision = data.get("revision", LEGACY_FACT_REVISION)
            if not isinstance(revision, int):
                log.error("revocation_unreadable", event_type=envelope.type, error="revision")
                return False
            return self.revoke_user(
                user_id,
                revision=revision,
                reason=USER_REVOCATIONS[envelope.type],
                at=envelope.occurred_at,
            )
        if envelope.type in SESSION_REVOCATIONS:
            fact = _read(envelope)
            if fact is None or "session_id" not in fact[1]:
                return False
            return self.revoke_session(
                str(uuid.UUID(str(fact[1]["session_id"]))),
                reason=SESSION_REVOCATIONS[envelope.type],
                at=envelope.occurred_at,
            )
        return False

    def synced(self, as_of: float) -> None:
        """Every fact published before ``as_of`` (``time.monotonic()``) has been applied."""
        self._synced_at = max(self._synced_at, as_of)
        self._caught_up.set()

    def prune(self, now: datetime | None = None) -> int:
        """Forget facts older than the horizon (the tokens they voided have all expired)."""
        cutoff = (now or datetime.now(UTC)) - self.horizon - MARGIN
        with self._lock:
            users = {k: v for k, v in self._users.items() if v.at >= cutoff}
            sessions = {k: v for k, v in self._sessions.items() if v.at >= cutoff}
            dropped = len(self._users) - len(users) + len(self._sessions) - len(sessions)
            self._users, self._sessions = users, sessions
        return dropped

    # Asked by the verifier

    @property
    def caught_up(self) -> bool:
        return self._caught_up.is_set()

    def current(self) -> bool:
        """Caught up once, and in touch with the stream within the last ``max_staleness`` seconds."""
        return self.caught_up and time.monotonic() - self._synced_at <= self.max_staleness

    async def ready(self) -> bool:
        return self.current()

    def check(self, principal: Principal) -> None:
        if not self._caught_up.is_set() and not self._caught_up.wait(self.startup_wait):
            raise ServiceUnavailable(
                "This service is still loading revoked sign-ins and cannot check your token yet;"
                " try again in a few seconds",
                code="revocations_loading",
                headers={"Retry-After": "2"},
            )
        if not self.current():
            raise ServiceUnavailable(
                "This service cannot check tokens against revoked sign-ins right now (messaging"
                " is unavailable); try again shortly",
                code="revocations_unavailable",
                headers={"Retry-After": "5"},
            )
        if principal.expires_at - principal.issued_at > self.horizon.total_seconds():
            raise Unauthorized(
                "Token lifetime is longer than this service accepts; sign in again",
                code="token_revoked",
            )
        if principal.session_id is not None:
            session = self._sessions.get(principal.session_id)
            if session is not None:
                raise Unauthorized(
                    f"Token has been revoked ({session.reason}); sign in again",
                    code="token_revoked",
                )
        user = self._users.get(principal.user_id)
        if user is not None:
            minted_from = (
                principal.revision if principal.revision is not None else LEGACY_TOKEN_REVISION
            )
            if minted_from < user.revision:
                raise Unauthorized(
                    f"Token has been revoked ({user.reason}); sign in again",
                    code="token_revoked",
                )


def _read(envelope: EventEnvelope) -> tuple[uuid.UUID, dict[str, Any]] | None:
    """The fact's user and fields: validated against its version, or read leniently when this
    build does not know the version yet (identity deployed first), so a new version still voids."""
    try:
        event = envelope.event()
        data = event.model_dump()
    except LookupError:
        log.warning("revocation_version_unknown", event_type=envelope.type, v=envelope.version)
        data = dict(envelope.data)
    except ValidationError as exc:
        log.error("revocation_unreadable", event_type=envelope.type, error=str(exc))
        return None
    try:
        return uuid.UUID(str(data["user_id"])), data
    except (KeyError, ValueError):
        log.error("revocation_unreadable", event_type=envelope.type, error="user_id")
        return None


class RevocationFeed:
    """Follows identity's revocation facts on JetStream into one process's ``RevocationList``.

    An ephemeral pull consumer (no acks, memory only, gone a minute after the process) filtered
    to the revocation subjects; on any failure it is recreated from the next stream sequence.
    """

    STREAM = Stream.IDENTITY

    def __init__(
        self,
        revocations: RevocationList,
        link: NatsLink,
        *,
        duplicate_window_seconds: int = 3600,
        fetch_timeout: float = 1.0,
        batch_size: int = 256,
        prune_interval_seconds: float = 60.0,
    ) -> None:
        self.revocations = revocations
        self.link = link
        self.duplicate_window_seconds = duplicate_window_seconds
        # An idle round lasts one fetch timeout; keep it well inside the staleness allowed.
        self.fetch_timeout = min(fetch_timeout, revocations.max_staleness / 4)
        self.batch_size = batch_size
        self.prune_interval = prune_interval_seconds
        self.last_sequence = 0  # the stream sequence of the last message applied
        self.applied = 0

    async def run(self, stop: asyncio.Event) -> None:
        js = await self.link.wait(stop)
        if js is None:
            return
        while not stop.is_set():
            try:
                await self._follow(js, stop)
            except Exception as exc:
                log.warning("revocation_feed_interrupted", error=f"{type(exc).__name__}: {exc}")
                await _pause(stop, 1.0)

    def _config(self, name: str) -> ConsumerConfig:
        common: dict[str, Any] = {
            "name": name,
            "ack_policy": AckPolicy.NONE,
            "filter_subjects": list(REVOCATION_SUBJECTS),
            "inactive_threshold": 60.0,
            "mem_storage": True,
        }
        if self.last_sequence:
            return ConsumerConfig(
                deliver_policy=DeliverPolicy.BY_START_SEQUENCE,
                opt_start_seq=self.last_sequence + 1,
                **common,
            )
        since = datetime.now(UTC) - self.revocations.horizon - MARGIN
        return ConsumerConfig(
            deliver_policy=DeliverPolicy.BY_START_TIME, opt_start_time=since, **common
        )

    async def _follow(self, js: JetStreamContext, stop: asyncio.Event) -> None:
        stream = self.STREAM.value
        await ensure_stream(js, self.STREAM, duplicate_window_seconds=self.duplicate_window_seconds)
        info = await js.stream_info(stream)
        if info.state.last_seq < self.last_sequence:
            self.last_sequence = 0  # the stream was recreated: replay the horizon it holds
        name = f"revocations-{uuid.uuid4().hex}"
        await js.add_consumer(stream, self._config(name))
        subscription = await js.pull_subscribe_bind(consumer=name, stream=stream)
        log.info("revocation_feed_started", from_sequence=self.last_sequence + 1)
        pruned_at = time.monotonic()
        try:
            while not stop.is_set():
                started = time.monotonic()
                messages = await self._fetch(subscription, stop)
                if messages is None:
                    return
                for msg in messages:
                    self._apply(msg)
                pending: int | None
                if messages:
                    pending = messages[-1].metadata.num_pending
                else:  # a server round trip: an idle feed proves it is still connected
                    pending = (await subscription.consumer_info()).num_pending
                if pending == 0:
                    self.revocations.synced(started)
                if time.monotonic() - pruned_at > self.prune_interval:
                    self.revocations.prune()
                    pruned_at = time.monotonic()
        finally:
            with contextlib.suppress(Exception):
                await subscription.unsubscribe()
            with contextlib.suppress(Exception):
                await js.delete_consumer(stream, name)

    async def _fetch(self, subscription: Any, stop: asyncio.Event) -> list[Msg] | None:
        """The next messages, [] when none came within the timeout, None when told to stop."""
        fetch = asyncio.ensure_future(
            subscription.fetch(self.batch_size, timeout=self.fetch_timeout)
        )
        stopping = asyncio.ensure_future(stop.wait())
        try:
            await asyncio.wait({fetch, stopping}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopping.cancel()
        if not fetch.done():
            fetch.cancel()
            with contextlib.suppress(BaseException):
                await fetch
            return None
        try:
            return list(fetch.result())
        except (TimeoutError, NatsTimeoutError):
            return []

    def _apply(self, msg: Msg) -> None:
        self.last_sequence = msg.metadata.sequence.stream
        try:
            envelope = EventEnvelope.from_bytes(msg.data)
        except ValidationError as exc:
            log.error("revocation_unreadable", subject=msg.subject, errors=exc.error_count())
            return
        if self.revocations.apply(envelope):
            self.applied += 1
            log.info("token_revocation_applied", event_type=envelope.type, subject=msg.subject)


async def _pause(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)


def follow_revocations(app: FastAPI, link: NatsLink, settings: ServiceSettings) -> RevocationList:
    """Make ``app`` refuse revoked tokens: the one call a service's app factory makes.

    The app's verifier (``app.state.token_verifier``) is given a fresh deny state, the feed that
    fills it runs for the app's lifetime in every process (``HAZINA_RUN_WORKERS`` or not), and
    ``/ready`` fails until it is caught up.
    """
    revocations = RevocationList(
        horizon_seconds=settings.revocation_horizon_seconds,
        max_staleness_seconds=settings.revocation_max_staleness_seconds,
        startup_wait_seconds=settings.revocation_startup_wait_seconds,
    )
    verifier: TokenVerifier = app.state.token_verifier
    app.state.token_verifier = verifier.with_revocations(revocations)
    app.state.token_revocations = revocations
    feed = RevocationFeed(
        revocations, link, duplicate_window_seconds=settings.stream_duplicate_window_seconds
    )
    add_readiness_check(app, "revocations", revocations.ready)
    service_lifespan = app.router.lifespan_context

    @contextlib.asynccontextmanager
    async def lifespan(this: Any) -> AsyncIterator[Any]:
        async with service_lifespan(this) as state, running_workers([feed.run]):
            yield state

    app.router.lifespan_context = lifespan
    return revocations
