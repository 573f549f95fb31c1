"""The login page (doc §3 "Shell, login, dashboard"): ``POST /api/auth/login`` through the Next
proxy, which reads ``token, _id, username, role, regions``, and on an error a JSON ``message``."""

from __future__ import annotations

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
