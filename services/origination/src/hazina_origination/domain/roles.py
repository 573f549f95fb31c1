"""Staff roles as identity issues them (docs/roles.md: who may do what)."""

from __future__ import annotations

SUPER_ADMIN = "super_admin"
ADMIN = "admin"
INITIATOR_ADMIN = "initiator_admin"
APPROVER_ADMIN = "approver_admin"
LOAN_OFFICER = "loan_officer"
ACCOUNTANT = "accountant"

ALL_STAFF = (SUPER_ADMIN, ADMIN, INITIATOR_ADMIN, APPROVER_ADMIN, LOAN_OFFICER, ACCOUNTANT)
# The two halves of maker-checker: each may approve or disburse a loan, never one they initiated
# or approved themselves.
CHECKERS = (INITIATOR_ADMIN, APPROVER_ADMIN)
# Branch administrators: fee marking, cancelling, the loan history report.
BRANCH_ADMINS = (SUPER_ADMIN, ADMIN, INITIATOR_ADMIN, APPROVER_ADMIN)
