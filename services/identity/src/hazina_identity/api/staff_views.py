"""Branches and staff members as the staff pages read them (rows of the branch directory)."""

from __future__ import annotations

from typing import Any


def branch_view(row: dict[str, Any]) -> dict[str, Any]:
    """A branch as the branches page reads it."""
    return {
        "_id": str(row["branch_id"]),
        "name": row["name"],
        "code": row["code"],
        "location": row["location"],
        "address": row["address"],
        "phone": row["phone"],
        "email": row["email"],
        "createdAt": row["created_at"].isoformat(),
        "updatedAt": row["updated_at"].isoformat(),
    }


def staff_member_view(row: dict[str, Any]) -> dict[str, Any]:
    """A staff member as the admins and loan-officers pages read one: strings the page can
    search, ``branchId`` as ``{_id, name}`` (or None), ``_id`` the user id."""
    branch = None
    if row["branch_id"]:
        branch = {"_id": row["branch_id"], "name": row["branch_name"] or ""}
    return {
        "_id": str(row["user_id"]),
        "name": row["name"] or "",
        "username": row["username"],
        "idNumber": row["national_id"] or "",
        "nationalId": row["national_id"] or "",
        "email": row["email"] or "",
        "phone": row["phone"] or "",
        "role": row["role"],
        "branchId": branch,
        "isActive": row["active"],
        "createdAt": row["created_at"].isoformat(),
    }
