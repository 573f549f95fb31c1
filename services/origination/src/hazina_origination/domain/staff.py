"""Staff as origination knows them: names and roles heard from identity's events, never asked for."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from hazina_origination.domain.roles import LOAN_OFFICER


@dataclass(frozen=True)
class StaffMember:
    """One staff user in the local staff projection (role and username may still be on their way)."""

    user_id: uuid.UUID
    username: str | None
    role: str | None
    active: bool


def loan_officer_refusal(
    officer_id: uuid.UUID, member: StaffMember | None, *, staff_known: bool
) -> str | None:
    """Why a group cannot be given to ``officer_id``, or None when it can.

    A fresh system whose staff projection has heard of no one yet (identity's events have not
    arrived) refuses nothing: blocking every group until then would stop a new lender's first day.
    """
    if not staff_known:
        return None
    if member is None or member.role is None:
        return f"loanOfficerId {officer_id} is not a known loan officer"
    who = member.username or str(officer_id)
    if member.role != LOAN_OFFICER:
        return f"loanOfficerId {officer_id} ({who}) is not a loan officer (role {member.role})"
    if not member.active:
        return f"loanOfficerId {officer_id} ({who}) is a deactivated loan officer"
    return None
