"""What identity answers, as typed models: the OpenAPI document states them and FastAPI checks them.

``extra="allow"``: a field a view adds is passed on (and shows as an additional property) rather
than silently dropped.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

_OPEN = ConfigDict(extra="allow", populate_by_name=True)


class Message(BaseModel):
    message: str


class SessionView(BaseModel):
    """A signed-in session: the access token (``expiresIn`` seconds) and its refresh token."""

    model_config = _OPEN
    user_id: str = Field(alias="_id")
    username: str
    name: str | None
    role: str
    regions: list[str]
    branchId: str | None  # noqa: N815 - the frontend's names
    token: str
    refreshToken: str  # noqa: N815
    expiresIn: int  # noqa: N815
    tokenType: str  # noqa: N815


class ProfileView(BaseModel):
    """The signed-in staff member."""

    model_config = _OPEN
    user_id: str = Field(alias="_id")
    username: str
    name: str | None
    role: str
    regions: list[str]
    branchId: str | None  # noqa: N815
    active: bool
    lastLoginAt: str | None  # noqa: N815


class UserView(BaseModel):
    """A staff user as the super admin manages them."""

    model_config = _OPEN
    user_id: str = Field(alias="_id")
    username: str
    name: str | None
    role: str
    regions: list[str]
    branchId: str | None  # noqa: N815
    nationalId: str | None  # noqa: N815
    phone: str | None
    active: bool
    isActive: bool  # noqa: N815
    createdAt: str | None  # noqa: N815
    updatedAt: str | None  # noqa: N815
    lastLoginAt: str | None  # noqa: N815


class StaffNameView(BaseModel):
    """Who a staff member is, as any colleague may see it (a page naming a group's officer)."""

    model_config = _OPEN
    user_id: str = Field(alias="_id")
    name: str | None
    username: str
    role: str


class PasswordReset(Message):
    """``temporaryPassword`` only when the super admin did not choose the new password."""

    temporaryPassword: str | None = None  # noqa: N815
