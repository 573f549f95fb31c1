"""Staff roles as identity issues them."""

from __future__ import annotations

SUPER_ADMIN = "super_admin"
INITIATOR_ADMIN = "initiator_admin"
APPROVER_ADMIN = "approver_admin"
LOAN_OFFICER = "loan_officer"

ALL_STAFF = (SUPER_ADMIN, INITIATOR_ADMIN, APPROVER_ADMIN, LOAN_OFFICER)
