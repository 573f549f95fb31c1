"""The staff pages' routes in identity: branches, admins, loan officers, the two new roles, and
the branch events identity publishes for origination."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from hazina_contracts.events import identity as contract
from hazina_identity.adapters.contract_mapping import to_contract
from hazina_identity.bootstrap import Container
from hazina_identity.domain.branch import Branch
from hazina_identity.settings import IdentitySettings

INITIAL = "12345678"  # the staff pages' initial password  # pragma: allowlist secret


def _branch(client: TestClient, admin: dict[str, str], **fields: Any) -> dict[str, Any]:
    body = {"name": "Thika", "code": f"th{uuid.uuid4().hex[:6]}", **fields}
    response = client.post("/api/branches", json=body, headers=admin)
    assert response.status_code == 201, response.text
    return dict(response.json())


def _id_number() -> str:
    return str(uuid.uuid4().int)[:8]


def _branch_events(container: Container) -> list[Any]:
    app = container.identity
    stored = app.recorder.select_notifications(start=1, limit=10_000)
    events = [app.mapper.to_domain_event(n) for n in stored]
    return [e for e in events if isinstance(e, Branch.Opened | Branch.DetailsChanged)]


class TestBranches:
    def test_a_branch_is_opened_with_every_field_and_its_code_upper_cased(
        self, client: TestClient, admin: dict[str, str], container: Container
    ) -> None:
        branch = _branch(
            client,
            admin,
            name="Thika Road",
            code=" thk01 ",
            location="Thika",
            address="Kenyatta Highway",
            phone="0712 345 678",
            email="thika@example.co.ke",
        )
        assert {
            k: branch[k] for k in ("name", "code", "location", "address", "phone", "email")
        } == {
            "name": "Thika Road",
            "code": "THK01",
            "location": "Thika",
            "address": "Kenyatta Highway",
            "phone": "0712345678",
            "email": "thika@example.co.ke",
        }
        listed = client.get("/api/branches", headers=admin).json()
        assert isinstance(listed, list) and branch in listed
        [opened] = _branch_events(container)
        published = to_contract(opened)
        assert isinstance(published, contract.BranchOpened)
        assert published.code == "THK01" and str(published.branch_id) == branch["_id"]

    def test_a_code_is_taken_once_whatever_its_case(
        self, client: TestClient, admin: dict[str, str]
    ) -> None:
        _branch(client, admin, code="NRB")
        again = client.post("/api/branches", json={"name": "Other", "code": "nrb"}, headers=admin)
        assert again.status_code == 409
        assert "already exists" in again.json()["message"]

    def test_changing_details_twice_records_one_change_and_keeps_codes_unique(
        self, client: TestClient, admin: dict[str, str], container: Container
    ) -> None:
        kisumu = _branch(client, admin, code="KSM")
        _branch(client, admin, code="MSA")
        body = {"name": "Kisumu Central", "code": "ksm", "location": "Kisumu"}
        for _ in range(2):
            changed = client.put(f"/api/branches/{kisumu['_id']}", json=body, headers=admin)
            assert changed.status_code == 200, changed.text
        assert changed.json()["name"] == "Kisumu Central" and changed.json()["code"] == "KSM"
        kinds = [type(e).__name__ for e in _branch_events(container)]
        assert kinds == ["Opened", "Opened", "DetailsChanged"]
        assert isinstance(to_contract(_branch_events(container)[-1]), contract.BranchDetailsChanged)
        taken = client.put(
            f"/api/branches/{kisumu['_id']}", json={"name": "K", "code": "MSA"}, headers=admin
        )
        assert taken.status_code == 409 and "already exists" in taken.json()["message"]
        missing = client.put(f"/api/branches/{uuid.uuid4()}", json=body, headers=admin)
        assert missing.status_code == 404

    def test_bad_details_are_a_400_with_a_message(
        self, client: TestClient, admin: dict[str, str]
    ) -> None:
        for body in (
            {"name": "", "code": "X1"},
            {"name": "Nyeri", "code": "has space"},
            {"name": "Nyeri", "code": "NYR", "email": "not-an-address"},
            {"name": "   ", "code": "NYR"},
        ):
            response = client.post("/api/branches", json=body, headers=admin)
            assert response.status_code == 400, (body, response.text)
            assert response.json()["message"]


class TestAdmins:
    def test_the_create_admin_page_makes_an_admin_who_signs_in_with_their_id_number(
        self, client: TestClient, admin: dict[str, str], h: Any
    ) -> None:
        branch = _branch(client, admin)
        id_number = _id_number()
        body = {
            "name": "Achieng Maker",
            "username": id_number,
            "idNumber": id_number,
            "email": "achieng@example.co.ke",
            "phone": "0722000111",
            "password": INITIAL,
            "branchId": branch["_id"],
            "role": "initiator_admin",
        }
        made = client.post("/api/admins", json=body, headers=admin)
        assert made.status_code == 201, made.text
        listed = client.get("/api/admins", headers=admin).json()
        [row] = [a for a in listed if a["_id"] == made.json()["_id"]]
        assert row == made.json()
        assert {k: row[k] for k in ("name", "username", "idNumber", "email", "phone", "role")} == {
            "name": "Achieng Maker",
            "username": id_number,
            "idNumber": id_number,
            "email": "achieng@example.co.ke",
            "phone": "0722000111",
            "role": "initiator_admin",
        }
        assert row["branchId"] == {"_id": branch["_id"], "name": "Thika"}
        assert row["isActive"] is True
        session = h.login(client, id_number, INITIAL)
        assert session["role"] == "initiator_admin" and session["_id"] == row["_id"]

    def test_only_admin_roles_are_made_here(
        self, client: TestClient, admin: dict[str, str]
    ) -> None:
        for role in ("loan_officer", "super_admin", "accountant", "boss"):
            body = {"name": "X", "idNumber": _id_number(), "role": role}
            response = client.post("/api/admins", json=body, headers=admin)
            assert response.status_code == 400, (role, response.text)
        plain = client.post(
            "/api/admins", json={"name": "General", "idNumber": _id_number()}, headers=admin
        )
        assert plain.status_code == 201 and plain.json()["role"] == "admin"

    def test_editing_and_deleting_an_admin_and_the_end_of_their_token(
        self, client: TestClient, admin: dict[str, str], h: Any
    ) -> None:
        id_number = _id_number()
        made = client.post(
            "/api/admins",
            json={"name": "Otieno", "idNumber": id_number, "role": "approver_admin"},
            headers=admin,
        ).json()
        token = h.bearer(h.login(client, id_number, INITIAL))
        edited = client.put(
            f"/api/admins/{made['_id']}",
            json={"name": "Otieno Checker", "email": "otieno@example.co.ke"},
            headers=admin,
        )
        assert edited.status_code == 200, edited.text
        assert edited.json()["name"] == "Otieno Checker"
        assert edited.json()["email"] == "otieno@example.co.ke"
        assert edited.json()["role"] == "approver_admin"
        assert client.get("/api/auth/me", headers=token).status_code == 200  # details void nothing
        for _ in range(2):  # a second delete changes nothing
            deleted = client.delete(f"/api/admins/{made['_id']}", headers=admin)
            assert deleted.status_code == 200, deleted.text
        assert client.get(f"/api/admins/{made['_id']}", headers=admin).json()["isActive"] is False
        refused = client.get("/api/auth/me", headers=token)
        assert refused.status_code == 401 and refused.json()["code"] == "token_revoked"
        officer = client.post(
            "/api/loan-officers",
            json={"name": "Not an admin", "nationalId": _id_number()},
            headers=admin,
        ).json()
        assert client.get(f"/api/admins/{officer['_id']}", headers=admin).status_code == 404


class TestLoanOfficers:
    def test_the_loan_officers_page_makes_an_officer_every_role_can_list(
        self, client: TestClient, admin: dict[str, str], h: Any
    ) -> None:
        branch = _branch(client, admin, name="Kiambu")
        national_id = _id_number()
        body = {
            "name": "Kamau Officer",
            "nationalId": national_id,
            "email": "kamau@example.co.ke",
            "phone": "0733000222",
            "branchId": branch["_id"],
        }
        made = client.post("/api/loan-officers", json=body, headers=admin)
        assert made.status_code == 201, made.text
        officer = made.json()
        assert officer["name"] == "Kamau Officer" and officer["nationalId"] == national_id
        session = h.login(client, national_id, INITIAL)
        assert session["_id"] == officer["_id"] and session["role"] == "loan_officer"
        for role in ("admin", "accountant", "loan_officer"):
            h.create_user(client, admin, f"{role[:5]}{uuid.uuid4().hex[:6]}", role, "Reader-Pass-1")
        reader = h.bearer(h.login(client, h.ADMIN_USERNAME, h.ADMIN_PASSWORD))
        listed = client.get("/api/loan-officers", headers=reader).json()
        [row] = [o for o in listed if o["_id"] == officer["_id"]]
        assert row["username"] == national_id and row["branchId"] == {
            "_id": branch["_id"],
            "name": "Kiambu",
        }
        assert {o["role"] for o in listed} == {"loan_officer"}
        one = client.get(f"/api/loan-officers/{officer['_id']}", headers=h.bearer(session))
        assert one.status_code == 200 and one.json()["name"] == "Kamau Officer"
        super_admin_id = h.login(client, h.ADMIN_USERNAME, h.ADMIN_PASSWORD)["_id"]
        assert client.get(f"/api/loan-officers/{super_admin_id}", headers=admin).status_code == 404

    def test_a_taken_id_number_or_an_unknown_branch_is_refused(
        self, client: TestClient, admin: dict[str, str]
    ) -> None:
        national_id = _id_number()
        body = {"name": "Wanjiku", "nationalId": national_id}
        assert client.post("/api/loan-officers", json=body, headers=admin).status_code == 201
        again = client.post("/api/loan-officers", json=body, headers=admin)
        assert again.status_code == 409 and "already exists" in again.json()["message"]
        for branch_id in (str(uuid.uuid4()), "not-a-branch"):
            unknown = client.post(
                "/api/loan-officers",
                json={"name": "W", "nationalId": _id_number(), "branchId": branch_id},
                headers=admin,
            )
            assert unknown.status_code == 400 and "Unknown branch" in unknown.json()["message"]

    def test_the_initial_password_is_only_for_the_staff_pages(
        self, client: TestClient, admin: dict[str, str]
    ) -> None:
        body = {"username": f"u{uuid.uuid4().hex[:6]}", "password": INITIAL, "role": "admin"}
        weak = client.post("/api/users", json=body, headers=admin)
        assert weak.status_code == 400 and "at least" in weak.json()["message"]


def test_any_colleague_sees_who_a_user_is_and_only_the_super_admin_the_whole_record(
    client: TestClient, admin: dict[str, str], h: Any
) -> None:
    person = h.create_user(client, admin, f"named{uuid.uuid4().hex[:6]}", "admin", name="Amina")
    h.create_user(client, admin, "colleague1", "accountant", "Colleague-Pass-1")
    colleague = h.bearer(h.login(client, "colleague1", "Colleague-Pass-1"))
    seen = client.get(f"/api/users/{person['_id']}", headers=colleague)
    assert seen.status_code == 200
    assert seen.json() == {
        "_id": person["_id"],
        "name": "Amina",
        "username": person["username"],
        "role": "admin",
    }
    full = client.get(f"/api/users/{person['_id']}", headers=admin).json()
    assert full["isActive"] is True and "regions" in full


class TestNewRoles:
    @pytest.mark.parametrize("role", ["admin", "accountant"])
    def test_the_super_admin_creates_and_changes_them_and_identity_publishes_them(
        self, role: str, client: TestClient, admin: dict[str, str], h: Any, container: Container
    ) -> None:
        user = h.create_user(client, admin, f"{role}{uuid.uuid4().hex[:6]}", role, "Role-Pass-123")
        assert user["role"] == role
        session = h.login(client, user["username"], "Role-Pass-123")
        assert session["role"] == role
        changed = client.patch(f"/api/users/{user['_id']}", json={"role": role}, headers=admin)
        assert changed.status_code == 200
        other = "accountant" if role == "admin" else "admin"
        changed = client.patch(f"/api/users/{user['_id']}", json={"role": other}, headers=admin)
        assert changed.status_code == 200 and changed.json()["role"] == other
        app = container.identity
        stored = app.recorder.select_notifications(start=1, limit=10_000)
        published = [to_contract(app.mapper.to_domain_event(n)) for n in stored]
        mine = [
            p
            for p in published
            if p is not None and getattr(p, "user_id", None) == uuid.UUID(user["_id"])
        ]
        created = next(p for p in mine if isinstance(p, contract.UserCreated))
        assert (type(created), created.role) == (contract.UserCreatedV2, role)
        role_changed = next(p for p in mine if isinstance(p, contract.UserRoleChanged))
        assert (type(role_changed), role_changed.role) == (contract.UserRoleChangedV3, other)

    def test_earlier_versions_still_carry_only_the_earlier_roles(self) -> None:
        with pytest.raises(ValidationError):
            contract.UserCreated(
                user_id=uuid.uuid4(),
                occurred_at="2026-11-30T10:00:00+03:00",
                username="x",
                role="accountant",  # type: ignore[arg-type]
            )


class TestWorkingDaySessions:
    def test_a_token_lasts_a_working_day_by_default_within_the_revocation_horizon(
        self, settings: IdentitySettings
    ) -> None:
        assert settings.access_token_ttl_seconds == 10 * 3600
        assert settings.access_token_ttl_seconds <= settings.revocation_horizon_seconds

    def test_a_lifetime_beyond_the_revocation_horizon_is_refused_at_start(
        self, settings: IdentitySettings
    ) -> None:
        with pytest.raises(ValidationError, match="REVOCATION_HORIZON"):
            IdentitySettings(
                database_url=settings.database_url,
                nats_url=settings.nats_url,
                access_token_ttl_seconds=settings.revocation_horizon_seconds + 1,
            )
