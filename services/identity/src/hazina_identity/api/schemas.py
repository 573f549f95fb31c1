"""Request and response shapes of identity's HTTP API (seed 000 field names where it gives them)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from hazina_identity.domain.staff_user import StaffUser
from hazina_servicekit.text import PlainText

_STRICT = ConfigDict(extra="forbid", str_strip_whitespace=False)


class LoginRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")
    username: PlainText = Field(min_length=1, max_length=100)
    password: PlainText = Field(min_length=1, max_length=1024)


class RefreshRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")
    refreshToken: PlainText = Field(min_length=1, max_length=512)  # noqa: N815 - the frontend's name


class LogoutRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")
    refreshToken: PlainText | None = Field(default=None, max_length=512)  # noqa: N815


class ChangePasswordRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")
    currentPassword: PlainText = Field(min_length=1, max_length=1024)  # noqa: N815
    newPassword: PlainText = Field(min_length=1, max_length=1024)  # noqa: N815
    confirmPassword: PlainText = Field(min_length=1, max_length=1024)  # noqa: N815


def _clean_regions(value: Any) -> Any:
    if isinstance(value, list):
        cleaned = [r.strip() for r in value if isinstance(r, str) and r.strip()]
        if len(cleaned) != len(value):
            raise ValueError("regions must be a list of non-empty names")
        return sorted(set(cleaned), key=cleaned.index)
    return value


class UserCreateRequest(BaseModel):
    model_config = _STRICT
    username: PlainText = Field(min_length=3, max_length=64, pattern=r"^[A-Za-z0-9._@-]+$")
    password: PlainText = Field(min_length=1, max_length=1024)
    role: PlainText = Field(min_length=1, max_length=40)
    regions: list[PlainText] = Field(default_factory=list, max_length=50)
    name: PlainText | None = Field(default=None, max_length=200)
    branchId: PlainText | None = Field(default=None, max_length=64)  # noqa: N815
    nationalId: PlainText | None = Field(default=None, pattern=r"^[0-9A-Za-z]{4,20}$")  # noqa: N815
    phone: PlainText | None = Field(default=None, pattern=r"^\+?[0-9 ]{9,15}$")

    _regions = field_validator("regions", mode="before")(_clean_regions)


class UserUpdateRequest(BaseModel):
    model_config = _STRICT
    role: PlainText | None = Field(default=None, min_length=1, max_length=40)
    regions: list[PlainText] | None = Field(default=None, max_length=50)
    active: bool | None = None
    branchId: PlainText | None = Field(default=None, max_length=64)  # noqa: N815

    _regions = field_validator("regions", mode="before")(_clean_regions)


class ResetPasswordRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")
    newPassword: PlainText | None = Field(default=None, min_length=1, max_length=1024)  # noqa: N815


def user_view(row: dict[str, Any]) -> dict[str, Any]:
    """A directory row as the staff frontend reads a user."""
    return {
        "_id": str(row["user_id"]),
        "username": row["username"],
        "name": row["name"],
        "role": row["role"],
        "regions": list(row["regions"] or []),
        "branchId": row["branch_id"],
        "nationalId": row["national_id"],
        "phone": row["phone"],
        "active": row["active"],
        "isActive": row["active"],
        "createdAt": _iso(row["created_at"]),
        "updatedAt": _iso(row["updated_at"]),
        "lastLoginAt": _iso(row["last_login_at"]),
    }


def profile_view(user: StaffUser) -> dict[str, Any]:
    return {
        "_id": str(user.id),
        "username": user.username,
        "name": user.name,
        "role": user.role.value,
        "regions": list(user.regions),
        "branchId": user.branch_id,
        "active": user.active,
        "lastLoginAt": _iso(user.last_login_at),
    }


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None
