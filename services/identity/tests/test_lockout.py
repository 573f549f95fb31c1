"""Lockout that protects without locking people out: per (username, address) pair, a spray limit
per address, growing delays for addresses the user does not normally use, and the unlock."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from typing import Any

import nats
import pytest
from fastapi.testclient import TestClient

from hazina_contracts.envelope import EventEnvelope
from hazina_identity.adapters.contract_mapping import to_contract
from hazina_identity.domain.sign_in_address import SignInAddress
from hazina_servicekit.messaging import ensure_all_streams
from hazina_servicekit.outbox import OutboxRelay

OFFICE = "41.90.64.10"  # a branch office: everyone there shares one NAT address
ELSEWHERE = [f"198.51.100.{i}" for i in range(1, 40)]
PASSWORD = "Officer-Pass-1"

At = Callable[[str], TestClient]


def sign_in(client: TestClient, username: str, password: str) -> Any:
    return client.post("/api/auth/login", json={"username": username, "password": password})


def fail(client: TestClient, username: str) -> Any:
    return sign_in(client, username, "wrong-password")


def event_names(container: Any, aggregate_id: Any) -> list[str]:
    return [type(e).__name__ for e in container.identity.events.get(aggregate_id)]


@pytest.fixture
def staff(client: TestClient, admin: dict[str, str], h: Any) -> dict[str, dict[str, Any]]:
    """Two colleagues at the same branch office, each having signed in there before."""
    users = {
        name: h.create_user(client, admin, name, "loan_officer") for name in ("achieng", "baraka")
    }
    return users


class TestOneUserAtOneAddress:
    def test_five_failures_lock_that_user_there_even_for_the_right_password(
        self, client_at: At, staff: Any, clock: Any
    ) -> None:
        office = client_at(OFFICE)
        assert sign_in(office, "achieng", PASSWORD).status_code == 200
        assert [fail(office, "achieng").status_code for _ in range(5)] == [401] * 5
        locked = sign_in(office, "achieng", PASSWORD)
        assert locked.status_code == 429
        assert 800 < int(locked.headers["Retry-After"]) <= 900
        assert locked.json() == {
            "message": "Too many failed sign-in attempts. Try again in about 15 minutes.",
            "code": "locked_out",
        }
        clock.advance(minutes=15, seconds=1)
        assert sign_in(office, "achieng", PASSWORD).status_code == 200

    def test_a_colleague_at_the_same_address_signs_in_after_one_user_is_locked(
        self, client_at: At, staff: Any
    ) -> None:
        office = client_at(OFFICE)
        assert sign_in(office, "achieng", PASSWORD).status_code == 200
        for _ in range(5):
            fail(office, "achieng")
        assert sign_in(office, "achieng", PASSWORD).status_code == 429
        assert sign_in(office, "baraka", PASSWORD).status_code == 200

    def test_failures_spread_over_more_than_the_window_do_not_lock(
        self, client_at: At, staff: Any, clock: Any
    ) -> None:
        office = client_at(OFFICE)
        assert sign_in(office, "achieng", PASSWORD).status_code == 200
        for _ in range(4):
            fail(office, "achieng")
        clock.advance(minutes=16)
        assert [fail(office, "achieng").status_code for _ in range(4)] == [401] * 4
        assert sign_in(office, "achieng", PASSWORD).status_code == 200


class TestGuessingFromElsewhere:
    def _guess_until_four_delays(self, client_at: At, username: str, clock: Any) -> list[Any]:
        """Guess from a new address each time, waiting out every delay but the last one."""
        answers: list[Any] = []
        addresses = iter(ELSEWHERE)
        while sum(1 for a in answers if a.status_code == 429) < 4:
            response = fail(client_at(next(addresses)), username)
            answers.append(response)
            if response.status_code == 429 and sum(a.status_code == 429 for a in answers) < 4:
                clock.advance(seconds=int(response.headers["Retry-After"]))
        return answers

    def test_the_owner_at_their_known_address_is_not_stopped_and_guessers_wait_longer_each_time(
        self, client_at: At, staff: Any, clock: Any
    ) -> None:
        office = client_at(OFFICE)
        assert sign_in(office, "achieng", PASSWORD).status_code == 200
        answers = self._guess_until_four_delays(client_at, "achieng", clock)
        statuses = [a.status_code for a in answers]
        assert statuses == [401, 401, 401, 429, 401, 429, 401, 429, 401, 429]
        delays = [int(a.headers["Retry-After"]) for a in answers if a.status_code == 429]
        assert delays == [1, 2, 4, 8]
        # Another unfamiliar address gets no fresh start, right password or not.
        assert sign_in(client_at("203.0.113.77"), "achieng", PASSWORD).status_code == 429
        # The owner, at the address they signed in from, is not slowed down at all.
        assert sign_in(office, "achieng", PASSWORD).status_code == 200

    def test_an_unknown_username_gets_exactly_the_same_answers(
        self, client_at: At, staff: Any, clock: Any
    ) -> None:
        real = self._guess_until_four_delays(client_at, "achieng", clock)
        ghost = self._guess_until_four_delays(client_at, "nobody-here", clock)
        assert [(a.status_code, a.json(), a.headers.get("Retry-After")) for a in real] == [
            (a.status_code, a.json(), a.headers.get("Retry-After")) for a in ghost
        ]

    def test_an_unknown_username_is_locked_at_one_address_like_a_real_one(
        self, client_at: At, clock: Any
    ) -> None:
        guesser = client_at(ELSEWHERE[0])
        statuses = []
        for _ in range(8):
            response = fail(guesser, "nobody-here")
            statuses.append(response.status_code)
            if response.status_code == 429 and int(response.headers["Retry-After"]) < 60:
                clock.advance(seconds=int(response.headers["Retry-After"]))
        assert statuses[-1] == 429
        assert int(fail(guesser, "nobody-here").headers["Retry-After"]) > 800


class TestSprayingFromOneAddress:
    def test_the_address_limit_is_far_above_one_users_and_then_stops_everyone_there(
        self, client_at: At, staff: Any, container: Any
    ) -> None:
        office = client_at(OFFICE)
        assert [fail(office, f"guess{i}").status_code for i in range(49)] == [401] * 49
        assert sign_in(office, "baraka", PASSWORD).status_code == 200  # still below the limit
        assert fail(office, "guess49").status_code == 401  # the 50th failure
        sprayed = sign_in(office, "achieng", PASSWORD)
        assert sprayed.status_code == 429
        assert int(sprayed.headers["Retry-After"]) > 800
        # Elsewhere, the same people are unaffected.
        assert sign_in(client_at("41.90.64.11"), "achieng", PASSWORD).status_code == 200
        assert event_names(container, SignInAddress.create_id(OFFICE)) == ["Noted", "LockedOut"]


class TestUnlock:
    def _lock(self, client_at: At, username: str) -> TestClient:
        office = client_at(OFFICE)
        assert sign_in(office, username, PASSWORD).status_code == 200
        for _ in range(5):
            fail(office, username)
        assert sign_in(office, username, PASSWORD).status_code == 429
        return office

    def test_a_super_admin_lifts_the_lock_at_every_address_and_it_is_recorded(
        self,
        client: TestClient,
        client_at: At,
        admin: dict[str, str],
        staff: Any,
        container: Any,
        clock: Any,
    ) -> None:
        office = self._lock(client_at, "achieng")
        elsewhere = client_at(ELSEWHERE[0])
        for _ in range(5):
            fail(elsewhere, "achieng")
            clock.advance(seconds=30)
        assert sign_in(elsewhere, "achieng", PASSWORD).status_code == 429
        user_id = staff["achieng"]["_id"]
        response = client.post(f"/api/users/{user_id}/unlock", headers=admin)
        assert response.status_code == 200
        assert response.json() == {"message": "Sign-in lock lifted", "lifted": True}
        assert sign_in(office, "achieng", PASSWORD).status_code == 200
        assert sign_in(elsewhere, "achieng", PASSWORD).status_code == 200
        names = event_names(container, container.identity.get_user(user_id).id)
        assert names.count("LockedOut") == 2 and names.count("LockoutLifted") == 1
        lifted = next(
            e
            for e in container.identity.events.get(container.identity.get_user(user_id).id)
            if type(e).__name__ == "LockoutLifted"
        )
        me = client.get("/api/auth/me", headers=admin).json()
        assert str(lifted.lifted_by) == me["_id"]
        again = client.post(f"/api/users/{user_id}/unlock", headers=admin)
        assert again.json() == {"message": "The user was not locked out", "lifted": False}
        assert (
            event_names(container, container.identity.get_user(user_id).id).count("LockoutLifted")
            == 1
        )

    def test_a_lift_racing_another_change_of_the_user_is_recorded_once(
        self,
        client: TestClient,
        client_at: At,
        admin: dict[str, str],
        staff: Any,
        container: Any,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        """Another request (an edit, a sign-in) saves the user between the lift's read and its
        save: the lift is recorded on top of it, not answered with a 500."""
        office = self._lock(client_at, "achieng")
        user_id = uuid.UUID(staff["achieng"]["_id"])
        identity = container.identity
        save = identity.save
        raced: list[bool] = []

        def a_rival_saves_first(*aggregates: Any, **kwargs: Any) -> Any:
            if not raced:
                raced.append(True)
                rival = identity.get_user(user_id)
                rival.change_details(
                    name="Achieng Otieno",
                    email=rival.email,
                    phone=rival.phone,
                    national_id=rival.national_id,
                    by=uuid.uuid4(),
                    correlation_id=None,
                )
                save(rival)
            return save(*aggregates, **kwargs)

        monkeypatch.setattr(identity, "save", a_rival_saves_first)
        response = client.post(f"/api/users/{user_id}/unlock", headers=admin)
        assert response.status_code == 200, response.text
        assert raced and response.json()["lifted"] is True
        names = event_names(container, user_id)
        assert names.count("DetailsChanged") == 1 and names.count("LockoutLifted") == 1
        assert sign_in(office, "achieng", PASSWORD).status_code == 200

    @pytest.mark.parametrize("role", ["initiator_admin", "approver_admin", "loan_officer"])
    def test_no_one_else_may_unlock(
        self,
        client: TestClient,
        client_at: At,
        admin: dict[str, str],
        staff: Any,
        h: Any,
        role: str,
    ) -> None:
        self._lock(client_at, "achieng")
        h.create_user(client, admin, f"as_{role}", role)
        headers = h.bearer(h.login(client, f"as_{role}", PASSWORD))
        response = client.post(f"/api/users/{staff['achieng']['_id']}/unlock", headers=headers)
        assert response.status_code == 403
        assert sign_in(client_at(OFFICE), "achieng", PASSWORD).status_code == 429

    def test_an_unknown_user_is_404(self, client: TestClient, admin: dict[str, str]) -> None:
        response = client.post(
            "/api/users/5f0c7e2a-1111-4a4a-9999-000000000000/unlock", headers=admin
        )
        assert response.status_code == 404


class TestPublished:
    def test_a_lock_is_published_once_and_so_is_its_lifting(
        self,
        client: TestClient,
        client_at: At,
        admin: dict[str, str],
        staff: Any,
        container: Any,
        nats_url: str,
    ) -> None:
        office = client_at(OFFICE)
        assert sign_in(office, "achieng", PASSWORD).status_code == 200
        for _ in range(5):
            fail(office, "achieng")
        for _ in range(3):  # refused while locked: no new failure, no new lock
            assert sign_in(office, "achieng", PASSWORD).status_code == 429
        client.post(f"/api/users/{staff['achieng']['_id']}/unlock", headers=admin)

        async def relay_twice_and_read() -> list[EventEnvelope]:
            nc = await nats.connect(nats_url)
            js = nc.jetstream()
            await ensure_all_streams(js)
            for name in ("first", "second"):  # two relays over the same log: re-publication
                relay = OutboxRelay(
                    app=container.identity,
                    js=js,
                    pool=container.pool,
                    producer="identity",
                    to_contract=to_contract,
                    name=name,
                )
                while await relay.publish_once():
                    pass
            info = await js.stream_info("IDENTITY")
            out = []
            for seq in range(1, info.state.last_seq + 1):
                out.append(EventEnvelope.from_bytes((await js.get_msg("IDENTITY", seq)).data))
            await nc.close()
            return out

        envelopes = asyncio.run(relay_twice_and_read())
        locked = [e for e in envelopes if e.subject == "identity.user.locked_out"]
        lifted = [e for e in envelopes if e.subject == "identity.user.lockout_lifted"]
        assert len(locked) == 1 and len(lifted) == 1
        assert locked[0].data["username"] == "achieng"
        assert locked[0].data["user_id"] == staff["achieng"]["_id"]
        assert (
            lifted[0].data["lifted_by"] == client.get("/api/auth/me", headers=admin).json()["_id"]
        )
        assert all(
            OFFICE not in str(e.data) for e in envelopes if e.subject.startswith("identity.user.")
        )


class TestASignInWhileTheUserChanges:
    """Found in the browser walk-through: a sign-in racing the settings page's password change
    wrote the same user record and answered 500. Another request now writes the user between
    the password check and the sign-in's save, every time, by doing it inside the check."""

    @pytest.fixture
    def written_meanwhile(self, container: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
        identity = container.identity
        verify = identity.hasher.verify
        user_id: list[Any] = []

        def verify_while_another_request_writes(password_hash: str, password: str) -> bool:
            if user_id:
                other = identity.get_user(user_id.pop())
                other.record_login_failed(
                    at=container.clock.now(),
                    reason="wrong_password",
                    client_address=ELSEWHERE[0],
                    correlation_id="the-other-request",
                )
                identity.save(other)
            return bool(verify(password_hash, password))

        monkeypatch.setattr(identity.hasher, "verify", verify_while_another_request_writes)
        return user_id

    def test_the_right_password_still_signs_in(
        self, client: TestClient, staff: Any, written_meanwhile: Any
    ) -> None:
        written_meanwhile.append(uuid.UUID(staff["achieng"]["_id"]))
        assert sign_in(client, "achieng", PASSWORD).status_code == 200

    def test_a_wrong_password_is_a_401_not_a_500(
        self, client: TestClient, staff: Any, written_meanwhile: Any
    ) -> None:
        written_meanwhile.append(uuid.UUID(staff["achieng"]["_id"]))
        assert fail(client, "achieng").status_code == 401

    def test_a_password_changed_meanwhile_refuses_the_old_one(
        self, client: TestClient, container: Any, staff: Any, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        identity = container.identity
        verify = identity.hasher.verify
        achieng = identity.get_user(uuid.UUID(staff["achieng"]["_id"]))
        new_hash = identity.hasher.hash("Changed-Pass-2")  # pragma: allowlist secret
        changed: list[bool] = []

        def verify_while_the_password_changes(password_hash: str, password: str) -> bool:
            if not changed:
                changed.append(True)
                other = identity.get_user(achieng.id)
                other.change_password(password_hash=new_hash, correlation_id="settings-page")
                identity.save(other)
            return bool(verify(password_hash, password))

        monkeypatch.setattr(identity.hasher, "verify", verify_while_the_password_changes)
        assert sign_in(client, "achieng", PASSWORD).status_code == 401
        assert sign_in(client, "achieng", "Changed-Pass-2").status_code == 200
