"""Staff roles as identity issues them (docs/roles.md: who may do what)."""

from __future__ import annotations

SUPER_ADMIN = "super_admin"
ADMIN = "admin"
INITIATOR_ADMIN = "initiator_admin"
APPROVER_ADMIN = "approver_admin"
LOAN_OFFICER = "loan_officer"
ACCOUNTANT = "accountant"

ALL_STAFF = (SUPER_ADMIN, ADMIN, INITIATOR_ADMIN, APPROVER_ADMIN, LOAN_OFFICER, ACCOUNTANT)
# Who approves or rejects clients and groups and sets a group's status.
RECORD_APPROVERS = (SUPER_ADMIN, ADMIN, INITIATOR_ADMIN, APPROVER_ADMIN)
# What an accountant may edit on a client or a group: contact details, nothing that moves ownership.
CONTACT_DETAILS = (
    "name",
    "phone",
    "residence",
    "business_type",
    "business_location",
    "next_of_kin",
    "meeting_day",
    "meeting_time",
)
# The two halves of maker-checker: each may approve or disburse a loan, never one they initiated
# or approved themselves.
CHECKERS = (INITIATOR_ADMIN, APPROVER_ADMIN)
# Branch administrators: fee marking, cancelling, the loan history report.
BRANCH_ADMINS = (SUPER_ADMIN, ADMIN, INITIATOR_ADMIN, APPROVER_ADMIN)
