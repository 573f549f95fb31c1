"""The settings page (doc §3 last row): ``PUT /api/auth/change-password`` with
``currentPassword, newPassword, confirmPassword``. A wrong current password is a 400 with a
message (a 401 would sign the user out); a change ends the user's sessions."""

from __future__ import annotations

from typing import Any

import pytest

pytestmark = pytest.mark.e2e

NEW_PASSWORD = "Changed-Pass-34"  # pragma: allowlist secret


def _change(page: Any, current: str, new: str, confirm: str | None = None) -> Any:
    body = {"currentPassword": current, "newPassword": new, "confirmPassword": confirm or new}
    return page.call("PUT", "/api/auth/change-password", json=body)


@pytest.mark.parametrize("role", ["admin", "accountant", "loan_officer"])
def test_a_wrong_current_password_is_a_400_not_a_401(role: str, new_staff: Any) -> None:
    page = new_staff(role)
    wrong = _change(page, "not-my-password", NEW_PASSWORD)  # pragma: allowlist secret
    assert wrong.status_code == 400 and wrong.json()["message"]
    mismatch = _change(
        page, "Staff-Pass-12", NEW_PASSWORD, "Something-Else-9"
    )  # pragma: allowlist secret
    assert mismatch.status_code == 400 and mismatch.json()["message"]
    page.ok("GET", "/api/auth/me")  # still signed in


def test_changing_the_password_then_signing_in_with_the_new_one(
    new_staff: Any, sign_in: Any
) -> None:
    page = new_staff("approver_admin")
    page.ok(
        "PUT",
        "/api/auth/change-password",
        json={
            "currentPassword": "Staff-Pass-12",  # pragma: allowlist secret
            "newPassword": NEW_PASSWORD,
            "confirmPassword": NEW_PASSWORD,
        },
    )
    assert page.call("GET", "/api/auth/me").status_code == 401  # every session ends
    again = sign_in(page.user["username"], NEW_PASSWORD)
    assert again.user["role"] == "approver_admin"
