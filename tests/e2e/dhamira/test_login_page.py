"""The login page (doc §3 "Shell, login, dashboard"): ``POST /api/auth/login`` through the Next
proxy, which reads ``token, _id, username, role, regions``, and on an error a JSON ``message``."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

pytestmark = pytest.mark.e2e


def test_login_answers_the_fields_the_page_stores(super_admin: Any) -> None:
    user = super_admin.user
    assert isinstance(user["token"], str) and user["token"].count(".") == 2  # a JWT with exp
    assert isinstance(user["_id"], str) and user["_id"]
    assert user["username"] == "superadmin"
    assert user["role"] == "super_admin"
    assert isinstance(user["regions"], list)


def test_a_wrong_password_is_a_json_message_the_banner_shows(super_admin: Any) -> None:
    response = super_admin.call(
        "POST",
        "/api/auth/login",
        json={"username": "superadmin", "password": "not-it-at-all"},  # pragma: allowlist secret
    )
    assert response.status_code == 401
    assert response.json()["message"]


def test_a_session_lasts_a_working_day_without_a_refresh(super_admin: Any) -> None:
    """The frontend checks ``exp`` before every call and never refreshes: the token must last
    the day, and every service must accept a token that long."""
    payload = super_admin.token.split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    assert claims["exp"] - claims["iat"] >= 10 * 3600
    for path in (
        "/api/auth/me",
        "/api/groups",
        "/api/ledger/accounts",
        "/api/payments/disbursements",
    ):
        super_admin.ok("GET", path)
