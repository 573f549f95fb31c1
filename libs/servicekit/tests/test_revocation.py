"""Revoked tokens are refused: the deny state's rules, and the feed that fills it from JetStream.

Goal: a token minted before a fact that voids it is refused (401, with the reason); a token
minted after it works; the same fact twice, or facts out of order, change nothing; a process that
starts later replays what it must refuse; a service that cannot judge a token answers 503.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jwt
import nats
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi import FastAPI
from fastapi.testclient import TestClient

from hazina_contracts.envelope import EventEnvelope
from hazina_contracts.events import identity
from hazina_contracts.events.base import ContractEvent
from hazina_servicekit import infra
from hazina_servicekit.auth import Principal, PrincipalDep, TokenVerifier
from hazina_servicekit.errors import ServiceUnavailable, Unauthorized, add_error_handlers
from hazina_servicekit.health import health_router
from hazina_servicekit.messaging import ensure_all_streams
from hazina_servicekit.revocation import RevocationFeed, RevocationList, follow_revocations
from hazina_servicekit.runtime import NatsLink, running_workers
from hazina_servicekit.settings import ServiceSettings

ADMIN = uuid.uuid4()


def _list(**overrides: float) -> RevocationList:
    values = {"horizon_seconds": 3600, "max_staleness_seconds": 60, "startup_wait_seconds": 0}
    return RevocationList(**{**values, **overrides})  # type: ignore[arg-type]


def _caught_up(**overrides: float) -> RevocationList:
    revocations = _list(**overrides)
    revocations.synced(time.monotonic())
    return revocations


def _principal(
    user_id: uuid.UUID, *, rev: int | None, sid: str | None = None, lifetime: int = 900
) -> Principal:
    now = int(time.time())
    return Principal(
        user_id=user_id,
        role="loan_officer",
        regions=(),
        token_id=uuid.uuid4().hex,
        session_id=sid,
        revision=rev,
        issued_at=now,
        expires_at=now + lifetime,
    )


def _envelope(event: ContractEvent, *, event_id: uuid.UUID | None = None) -> EventEnvelope:
    return EventEnvelope(
        event_id=event_id or uuid.uuid4(),
        type=event.TYPE,
        version=event.VERSION,
        occurred_at=datetime.now(UTC),
        producer="identity",
        correlation_id="test",
        subject=event.subject(),
        data=event.model_dump(mode="json"),
    )


def _deactivated(user_id: uuid.UUID, revision: int) -> identity.UserDeactivatedV2:
    return identity.UserDeactivatedV2(
        user_id=user_id, occurred_at=datetime.now(UTC), deactivated_by=ADMIN, revision=revision
    )


def _demoted(user_id: uuid.UUID, revision: int) -> identity.UserRoleChangedV2:
    return identity.UserRoleChangedV2(
        user_id=user_id,
        occurred_at=datetime.now(UTC),
        role="loan_officer",
        regions=["Nakuru"],
        changed_by=ADMIN,
        revision=revision,
    )


def _signed_out(user_id: uuid.UUID, session: uuid.UUID) -> identity.SessionRevoked:
    return identity.SessionRevoked(
        user_id=user_id, occurred_at=datetime.now(UTC), session_id=session
    )


def _refused(revocations: RevocationList, principal: Principal) -> str | None:
    """The 401's message, or None when the token is accepted."""
    try:
        revocations.check(principal)
    except Unauthorized as exc:
        return exc.message
    return None


class TestTheRules:
    def test_a_token_minted_before_a_demotion_is_refused_and_one_minted_after_works(self) -> None:
        user, revocations = uuid.uuid4(), _caught_up()
        assert revocations.apply(_envelope(_demoted(user, revision=5)))
        assert _refused(revocations, _principal(user, rev=4)) == (
            "Token has been revoked (the account's role, regions or branch changed); sign in again"
        )
        assert _refused(revocations, _principal(user, rev=5)) is None  # minted from the new state
        assert _refused(revocations, _principal(uuid.uuid4(), rev=1)) is None  # someone else

    @pytest.mark.parametrize("role", ["admin", "accountant"])
    def test_a_change_to_a_role_added_later_voids_tokens_as_any_change_does(
        self, role: str
    ) -> None:
        user, revocations = uuid.uuid4(), _caught_up()
        changed = identity.UserRoleChangedV3(
            user_id=user,
            occurred_at=datetime.now(UTC),
            role=role,
            regions=[],
            changed_by=ADMIN,
            revision=3,
        )
        delivered = _envelope(changed)
        assert revocations.apply(delivered)
        assert not revocations.apply(delivered)  # delivered twice: nothing more
        assert _refused(revocations, _principal(user, rev=2)) is not None
        assert _refused(revocations, _principal(user, rev=3)) is None

    def test_reactivation_does_not_revive_tokens_from_before_the_deactivation(self) -> None:
        user, revocations = uuid.uuid4(), _caught_up()
        deactivation = _envelope(_deactivated(user, revision=7))
        revocations.apply(deactivation)
        reactivated = identity.UserReactivated(
            user_id=user, occurred_at=datetime.now(UTC), reactivated_by=ADMIN
        )
        assert not revocations.apply(_envelope(reactivated))  # changes nothing
        assert _refused(revocations, _principal(user, rev=6)) is not None  # the old token
        assert _refused(revocations, _principal(user, rev=9)) is None  # a sign-in after it
        # The deactivation delivered again, after the reactivation: the new token still works.
        assert not revocations.apply(deactivation)
        assert _refused(revocations, _principal(user, rev=9)) is None

    def test_the_same_facts_twice_or_in_any_order_give_the_same_state(self) -> None:
        user, session = uuid.uuid4(), uuid.uuid4()
        facts = [
            _envelope(_demoted(user, revision=3)),
            _envelope(_deactivated(user, revision=6)),
            _envelope(_signed_out(user, session)),
        ]
        forwards, backwards = _caught_up(), _caught_up()
        assert [forwards.apply(f) for f in facts] == [True, True, True]
        assert [forwards.apply(f) for f in facts] == [False, False, False]
        for fact in reversed(facts):
            backwards.apply(fact)
        probes = [
            _principal(user, rev=r, sid=s) for r in (2, 5, 6, 8) for s in (None, str(session))
        ]
        assert [_refused(forwards, p) for p in probes] == [_refused(backwards, p) for p in probes]
        assert _refused(forwards, _principal(user, rev=6)) is None

    def test_signing_out_ends_that_session_only(self) -> None:
        user, session, other = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
        revocations = _caught_up()
        revocations.apply(_envelope(_signed_out(user, session)))
        assert _refused(revocations, _principal(user, rev=3, sid=str(session))) == (
            "Token has been revoked (the session was signed out); sign in again"
        )
        assert _refused(revocations, _principal(user, rev=3, sid=str(other))) is None

    def test_a_reused_refresh_token_ends_its_session(self) -> None:
        user, session = uuid.uuid4(), uuid.uuid4()
        revocations = _caught_up()
        reused = identity.TokenFamilyRevoked(
            user_id=user, occurred_at=datetime.now(UTC), session_id=session
        )
        revocations.apply(_envelope(reused))
        assert "refresh token was used twice" in (
            _refused(revocations, _principal(user, rev=3, sid=str(session))) or ""
        )

    def test_a_version_1_fact_voids_the_tokens_minted_before_tokens_had_a_revision(self) -> None:
        user, revocations = uuid.uuid4(), _caught_up()
        old = identity.UserDeactivated(
            user_id=user, occurred_at=datetime.now(UTC), deactivated_by=ADMIN
        )
        revocations.apply(_envelope(old))
        assert _refused(revocations, _principal(user, rev=None)) is not None
        assert _refused(revocations, _principal(user, rev=1)) is None

    def test_a_token_living_longer_than_the_horizon_is_refused(self) -> None:
        revocations = _caught_up(horizon_seconds=600)
        assert _refused(revocations, _principal(uuid.uuid4(), rev=1, lifetime=601)) == (
            "Token lifetime is longer than this service accepts; sign in again"
        )

    def test_a_working_day_token_is_within_the_default_horizon(self) -> None:
        """Identity's default access token lasts a working day; every service accepts it."""
        horizon = ServiceSettings.model_fields["revocation_horizon_seconds"].default
        revocations = _caught_up(horizon_seconds=horizon)
        assert _refused(revocations, _principal(uuid.uuid4(), rev=1, lifetime=10 * 3600)) is None

    def test_facts_older_than_the_horizon_are_forgotten(self) -> None:
        revocations = _caught_up(horizon_seconds=600)
        old, recent = uuid.uuid4(), uuid.uuid4()
        long_ago = datetime.now(UTC) - timedelta(seconds=600) - timedelta(minutes=6)
        revocations.revoke_user(old, revision=5, reason="test", at=long_ago)
        revocations.revoke_user(recent, revision=5, reason="test", at=datetime.now(UTC))
        assert revocations.prune() == 1
        assert _refused(revocations, _principal(old, rev=1, lifetime=300)) is None
        assert _refused(revocations, _principal(recent, rev=1, lifetime=300)) is not None

    def test_until_caught_up_a_token_cannot_be_judged(self) -> None:
        revocations = _list(startup_wait_seconds=0.05)
        with pytest.raises(ServiceUnavailable) as refused:
            revocations.check(_principal(uuid.uuid4(), rev=1))
        assert refused.value.status == 503
        assert "still loading revoked sign-ins" in refused.value.message

    def test_a_feed_silent_for_longer_than_allowed_cannot_judge_either(self) -> None:
        revocations = _list(max_staleness_seconds=0.5)
        revocations.synced(time.monotonic() - 1.0)
        with pytest.raises(ServiceUnavailable) as refused:
            revocations.check(_principal(uuid.uuid4(), rev=1))
        assert "messaging is unavailable" in refused.value.message


# The feed, over a real NATS


async def _publish(url: str, *envelopes: EventEnvelope, msg_id: str | None = None) -> None:
    nc = await nats.connect(url)
    try:
        js = nc.jetstream()
        await ensure_all_streams(js)
        for env in envelopes:
            headers = {"Nats-Msg-Id": msg_id or str(env.event_id)}
            await js.publish(env.subject, env.to_bytes(), headers=headers)
    finally:
        await nc.close()


async def _until(condition: Callable[[], bool], seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "condition not met before the deadline"
        await asyncio.sleep(0.02)


async def _with_feed(
    url: str,
    scenario: Callable[[RevocationList, RevocationFeed], Awaitable[None]],
    **overrides: float,
) -> None:
    revocations = _list(**overrides)
    link = NatsLink(url, name="test-revocations")
    feed = RevocationFeed(revocations, link)
    stop = asyncio.Event()
    task = asyncio.create_task(feed.run(stop))
    try:
        await scenario(revocations, feed)
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=10)
        await link.close()


@pytest.mark.integration
def test_the_feed_applies_new_facts_within_seconds_and_ignores_other_events(nats_url: str) -> None:
    user, session = uuid.uuid4(), uuid.uuid4()

    async def scenario(revocations: RevocationList, feed: RevocationFeed) -> None:
        await _until(lambda: revocations.caught_up)  # an empty stream: caught up at once
        assert _refused(revocations, _principal(user, rev=2)) is None
        login = identity.LoginSucceeded(user_id=user, occurred_at=datetime.now(UTC), username="x")
        await _publish(nats_url, _envelope(login), _envelope(_demoted(user, revision=3)))
        await _until(lambda: _refused(revocations, _principal(user, rev=2)) is not None, 5.0)
        await _publish(nats_url, _envelope(_signed_out(user, session)))
        await _until(
            lambda: _refused(revocations, _principal(user, rev=3, sid=str(session))) is not None,
            5.0,
        )
        assert feed.applied == 2  # the sign-in is no revocation

    asyncio.run(_with_feed(nats_url, scenario))


@pytest.mark.integration
def test_a_process_started_later_replays_what_it_must_refuse(nats_url: str) -> None:
    user, session = uuid.uuid4(), uuid.uuid4()
    asyncio.run(
        _publish(
            nats_url,
            _envelope(_deactivated(user, revision=4)),
            _envelope(_signed_out(user, session)),
        )
    )

    async def scenario(revocations: RevocationList, feed: RevocationFeed) -> None:
        # A request arriving before the replay is done waits for it instead of being let in.
        outcome = await asyncio.to_thread(_refused, revocations, _principal(user, rev=3))
        assert outcome == "Token has been revoked (the account was deactivated); sign in again"
        assert _refused(revocations, _principal(user, rev=9, sid=str(session))) is not None
        assert _refused(revocations, _principal(user, rev=9)) is None

    asyncio.run(_with_feed(nats_url, scenario, startup_wait_seconds=10))


@pytest.mark.integration
def test_a_fact_delivered_twice_is_applied_once(nats_url: str) -> None:
    user = uuid.uuid4()
    fact = _envelope(_deactivated(user, revision=4))

    async def scenario(revocations: RevocationList, feed: RevocationFeed) -> None:
        await _until(lambda: revocations.caught_up)
        await _publish(nats_url, fact)
        await _publish(nats_url, fact, msg_id=f"again-{uuid.uuid4()}")  # past de-duplication
        marker = uuid.uuid4()
        await _publish(nats_url, _envelope(_deactivated(marker, revision=2)))
        await _until(lambda: _refused(revocations, _principal(marker, rev=1)) is not None, 5.0)
        assert feed.applied == 2  # the fact once, the marker once
        assert _refused(revocations, _principal(user, rev=4)) is None

    asyncio.run(_with_feed(nats_url, scenario))


@pytest.mark.integration
def test_without_nats_for_too_long_tokens_get_a_503_until_it_is_back(tmp_path: Path) -> None:
    server = infra.start_nats(tmp_path / "nats")
    url = server.url
    port = int(url.rsplit(":", 1)[1])
    user = uuid.uuid4()

    async def scenario(revocations: RevocationList, feed: RevocationFeed) -> None:
        nonlocal server
        await _until(lambda: revocations.current())
        server.stop()  # NATS goes away; what the process knows is trusted for a while, then not
        await _until(lambda: not revocations.current(), 10.0)
        with pytest.raises(ServiceUnavailable):
            revocations.check(_principal(user, rev=1))
        server = infra.start_nats(tmp_path / "nats", port=port)  # back, with its store
        await _publish(url, _envelope(_deactivated(user, revision=2)))
        await _until(lambda: revocations.current(), 20.0)
        await _until(lambda: _refused(revocations, _principal(user, rev=1)) is not None, 5.0)
        assert _refused(revocations, _principal(user, rev=2)) is None

    try:
        asyncio.run(_with_feed(url, scenario, max_staleness_seconds=1.0))
    finally:
        server.stop()


# The one call a service makes


def _jwks_and_mint() -> tuple[Callable[[], dict[str, Any]], Callable[..., str]]:
    key = Ed25519PrivateKey.generate()
    jwk = jwt.algorithms.OKPAlgorithm.to_jwk(key.public_key(), as_dict=True)
    jwks = {"keys": [{**jwk, "kid": "k1", "alg": "EdDSA", "use": "sig"}]}

    def mint(user_id: uuid.UUID, rev: int) -> str:
        now = int(time.time())
        claims = {
            "sub": str(user_id),
            "role": "loan_officer",
            "iss": "hazina-identity",
            "iat": now,
            "exp": now + 900,
            "jti": uuid.uuid4().hex,
            "typ": "access",
            "sid": str(uuid.uuid4()),
            "rev": rev,
        }
        return jwt.encode(claims, key, algorithm="EdDSA", headers={"kid": "k1"})

    return (lambda: jwks), mint


@pytest.mark.integration
def test_an_app_following_revocations_refuses_a_revoked_token(nats_url: str) -> None:
    fetch_jwks, mint = _jwks_and_mint()
    link = NatsLink(nats_url, name="test-app")

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        async with running_workers([], on_shutdown=[link.close]):  # as a service's app does
            yield

    app = FastAPI(lifespan=lifespan)
    app.state.token_verifier = TokenVerifier(fetch_jwks, issuer="hazina-identity")
    add_error_handlers(app)
    app.include_router(health_router("test", {}))

    @app.get("/me")
    def me(principal: PrincipalDep) -> dict[str, str]:
        return {"user": str(principal.user_id)}

    settings = ServiceSettings(database_url="postgresql://unused", nats_url=nats_url)
    follow_revocations(app, link, settings)
    demoted, bystander = uuid.uuid4(), uuid.uuid4()
    old, fresh = mint(demoted, 2), mint(bystander, 1)
    with TestClient(app) as client:
        assert client.get("/me", headers={"Authorization": f"Bearer {old}"}).status_code == 200
        assert client.get("/api/test/ready").json()["checks"] == {"revocations": "ok"}
        asyncio.run(_publish(nats_url, _envelope(_demoted(demoted, revision=3))))
        deadline = time.monotonic() + 5
        while True:
            response = client.get("/me", headers={"Authorization": f"Bearer {old}"})
            if response.status_code == 401 or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        assert response.status_code == 401
        assert response.json() == {
            "message": "Token has been revoked (the account's role, regions or branch changed);"
            " sign in again",
            "code": "token_revoked",
        }
        assert client.get("/me", headers={"Authorization": f"Bearer {fresh}"}).status_code == 200
