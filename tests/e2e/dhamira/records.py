"""Clients, groups and branches made as the client and group pages make them, for those pages'
tests (``test_clients_page.py`` … ``test_pending_approvals_page.py``)."""

from __future__ import annotations

import io
import itertools
import random
import uuid
from typing import Any

from PIL import Image

SIGNATORY_ROLES = ("chairperson", "secretary", "treasurer")
_national_ids = itertools.count(random.randint(20_000_000, 29_000_000))


def _jpeg() -> bytes:
    """A real photo: origination decodes every upload whole."""
    out = io.BytesIO()
    Image.new("RGB", (48, 48), (200, 120, 40)).save(out, format="JPEG")
    return out.getvalue()


JPEG = _jpeg()


def national_id() -> str:
    return str(next(_national_ids))


def phone() -> str:
    return f"07{random.randint(10_000_000, 99_999_999)}"


def new_client_form(group_id: str = "", branch_id: str = "", **fields: str) -> dict[str, str]:
    """What ``/clients/new`` posts: every form field as text ("" for a select left empty)."""
    return {
        "name": f"Achieng {uuid.uuid4().hex[:5]}",
        "nationalId": national_id(),
        "phone": phone(),
        "residence": "owned",
        "businessType": "Retail",
        "businessLocation": "Githurai 45",
        "nextOfKinName": "Otieno",
        "nextOfKinPhone": phone(),
        "nextOfKinRelationship": "Brother",
        "groupId": group_id,
        "branchId": branch_id,
        **fields,
    }


def onboard(page: Any, group_id: str = "", branch_id: str = "", **fields: str) -> dict[str, Any]:
    """A client onboarded through ``POST /api/clients`` (multipart, with a photo)."""
    body = page.ok(
        "POST",
        "/api/clients",
        201,
        data=new_client_form(group_id, branch_id, **fields),
        files={"photo": ("face.jpg", JPEG, "image/jpeg")},
    )
    return dict(body["client"])


def branch(super_admin: Any) -> dict[str, Any]:
    """A branch opened on the branches page."""
    code = f"C{uuid.uuid4().hex[:6]}".upper()
    return dict(
        super_admin.ok(
            "POST",
            "/api/branches",
            201,
            json={
                "name": f"Branch {code}",
                "code": code,
                "location": "Thika",
                "address": "Kenyatta Highway",
                "phone": "0712345678",
                "email": f"{code.lower()}@dhamira.example",
            },
        )
    )


def new_group_form(officer: Any, branch_id: str, people: list[dict[str, Any]]) -> dict[str, Any]:
    """What ``/groups/new`` posts: the officer's own id, the branch, three signatories."""
    return {
        "name": f"Umoja {uuid.uuid4().hex[:6]}",
        "meetingDay": "Monday",
        "meetingTime": "10:00",
        "loanOfficerId": officer.user["_id"],
        "branchId": branch_id,
        "signatories": [
            {"role": role, "clientId": person["_id"]}
            for role, person in zip(SIGNATORY_ROLES, people, strict=True)
        ],
    }


def group_with_signatories(officer: Any, branch_id: str) -> tuple[dict[str, Any], list[Any]]:
    """A group the new-group page made: three clients onboarded first, named its signatories."""
    people = [onboard(officer, branch_id=branch_id) for _ in SIGNATORY_ROLES]
    group = officer.ok("POST", "/api/groups", 201, json=new_group_form(officer, branch_id, people))
    return dict(group), people
