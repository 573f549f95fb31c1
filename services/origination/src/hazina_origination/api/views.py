"""Read-model rows as the staff frontend reads them: ``_id`` strings, ISO dates, cents and KES."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Protocol

from hazina_contracts.money import kes_json
from hazina_origination.domain.group import shown_status
from hazina_origination.domain.roles import BRANCH_ADMINS, CHECKERS, LOAN_OFFICER


def _id(value: Any) -> str | None:
    return str(value) if value is not None else None


def _ref(value: Any) -> dict[str, str] | None:
    return {"_id": str(value)} if value is not None else None


def _staff(user_id: Any, row: dict[str, Any], prefix: str) -> dict[str, Any] | None:
    """A staff reference with the username and name identity told us (None while not yet heard of)."""
    if user_id is None:
        return None
    return {
        "_id": str(user_id),
        "username": row.get(f"{prefix}_username"),
        "name": row.get(f"{prefix}_name"),
    }


def _branch(row: dict[str, Any]) -> dict[str, Any] | None:
    """The branch as identity's events named it (name and location null until they arrive)."""
    if row.get("branch_id") is None:
        return None
    return {
        "_id": row["branch_id"],
        "name": row.get("branch_name"),
        "location": row.get("branch_location"),
    }


def _progress(row: dict[str, Any]) -> int:
    """How much of what the group's loans owe has been paid, in whole percent (0: nothing lent)."""
    due = int(row.get("due_cents") or 0)
    if due <= 0:
        return 0
    paid = due - int(row.get("outstanding_cents") or 0)
    return max(0, min(100, paid * 100 // due))


def _officer(user_id: Any, row: dict[str, Any]) -> dict[str, Any] | None:
    """A client's loan officer; identity's events carry no e-mail, so ``email`` is null."""
    staff = _staff(user_id, row, "officer")
    return {**staff, "email": None} if staff else None


def _iso(value: datetime | date | None) -> str | None:
    return value.isoformat() if value is not None else None


def _cents(value: Any) -> int | None:
    return int(value) if value is not None else None


def loan_totals(view: dict[str, Any]) -> dict[str, Any]:
    """The detail page's totals in KES (what the ledger has reported so far; 0 before it has)."""
    return {
        "totalDue": kes_json(view["total_due_cents"] or 0),
        "totalPaid": kes_json(view["total_paid_cents"] or 0),
        "outstanding": kes_json(view["outstanding_cents"] or 0),
        "total_due_cents": view["total_due_cents"],
        "total_paid_cents": view["total_paid_cents"],
        "outstanding_cents": view["outstanding_cents"],
    }


def loan_officer_view(row: dict[str, Any]) -> dict[str, Any]:
    """A loan officer from the staff projection; ``_id`` is their user id, as on tokens and loans."""
    return {
        "_id": str(row["user_id"]),
        "name": row["name"] or row["username"],
        "username": row["username"],
        "role": row["role"],
        "regions": list(row["regions"] or []),
        "branchId": row["branch_id"],
        "active": row["active"],
        "isActive": row["active"],
        "createdAt": _iso(row["created_at"]),
    }


class DocumentLinks(Protocol):
    """Signs stored photo and ID-copy references into short-lived links for this viewer."""

    def sign_name(self, name: str | None) -> str | None: ...
    def sign_stored(self, stored: str | None) -> str | None: ...


def group_view(
    row: dict[str, Any],
    members: list[dict[str, Any]] | None = None,
    *,
    links: DocumentLinks,
) -> dict[str, Any]:
    by_nid = {m["national_id"]: m for m in members or []}
    signatories = []
    named: dict[str, dict[str, Any] | None] = {
        "chairperson": None,
        "secretary": None,
        "treasurer": None,
    }
    for s in row["signatories"]:
        member = by_nid.get(s["national_id"])
        entry = {
            "role": s["role"],
            "clientId": s["client_id"],
            "nationalId": s["national_id"],
            "name": member["name"] if member else None,
        }
        signatories.append(entry)
        named[s["role"]] = {
            "_id": s["client_id"],
            "name": entry["name"],
            "nationalId": s["national_id"],
        }
    view: dict[str, Any] = {
        "_id": str(row["group_id"]),
        "name": row["name"],
        "status": shown_status(row["status"]),
        "hazinaStatus": row["status"],
        "meetingDay": row["meeting_day"],
        "meetingTime": row["meeting_time"],
        "loanOfficerId": _id(row["loan_officer_id"]),
        "loanOfficer": _staff(row["loan_officer_id"], row, "officer"),
        "branchId": _branch(row),
        "region": row["region"],
        "signatories": signatories,
        **named,
        "membersCount": row["members_count"],
        "memberCount": row["members_count"],
        "activeLoansCount": row["active_loans_count"],
        "total_lent_cents": int(row["total_lent_cents"]),
        "totalLent": kes_json(int(row["total_lent_cents"])),
        "progress": _progress(row),
        "activityProgress": _progress(row),
        "createdBy": _staff(row["created_by"], row, "created_by"),
        "approvedBy": _staff(row["approved_by"], row, "approved_by"),
        "createdAt": _iso(row["created_at"]),
        "updatedAt": _iso(row["updated_at"]),
        "approvedAt": _iso(row["approved_at"]),
    }
    if members is not None:
        view["members"] = [client_view(m, links=links) for m in members]
    return view


def client_view(row: dict[str, Any], *, links: DocumentLinks) -> dict[str, Any]:
    kin = row["next_of_kin"] or {}
    group = None
    if row["group_id"] is not None:
        group = {
            "_id": str(row["group_id"]),
            "name": row.get("group_name"),
            "meetingDay": row.get("group_meeting_day"),
            "meetingTime": row.get("group_meeting_time"),
        }
    savings = int(row.get("savings_balance_cents") or 0)
    return {
        "_id": str(row["client_id"]),
        "name": row["name"],
        "nationalId": row["national_id"],
        "phone": row["phone"],
        "residence": row["residence"],
        "residenceType": row["residence"],
        "businessType": row["business_type"],
        "businessLocation": row["business_location"],
        "nextOfKin": {
            "name": kin.get("name"),
            "phone": kin.get("phone"),
            "relationship": kin.get("relationship"),
        },
        "nextOfKinName": kin.get("name"),
        "nextOfKinPhone": kin.get("phone"),
        "nextOfKinRelationship": kin.get("relationship"),
        "groupId": group,
        "branchId": _branch(row),
        "loanOfficerId": _id(row.get("owner_id")),
        "loanOfficer": _officer(row.get("owner_id"), row),
        "photoUrl": links.sign_name(row["photo"]),
        "status": row["status"],
        "savings_balance_cents": savings,
        "savingsBalance": kes_json(savings),
        "hasLoanHistory": bool(row.get("has_loan_history")),
        "createdBy": _staff(row["created_by"], row, "created_by"),
        "approvedBy": _staff(row["approved_by"], row, "approved_by"),
        "createdAt": _iso(row["created_at"]),
        "registrationDate": _iso(row["created_at"]),
        "updatedAt": _iso(row["updated_at"]),
        "approvedAt": _iso(row["approved_at"]),
    }


def product_view(row: dict[str, Any]) -> dict[str, Any]:
    spec = row["spec"]
    return {
        "_id": str(row["product_id"]),
        "name": spec["name"],
        "type": spec["type"],
        "interestMethod": spec["interest_method"],
        "interestRate": spec["interest_rate_percent"],
        "interestRatePeriod": spec["interest_rate_period"],
        "repaymentFrequency": spec["repayment_frequency"],
        "min_amount_cents": spec["min_amount_cents"],
        "max_amount_cents": spec["max_amount_cents"],
        "minAmount": kes_json(spec["min_amount_cents"]),
        "maxAmount": kes_json(spec["max_amount_cents"]),
        "minTerm": spec["min_term"],
        "maxTerm": spec["max_term"],
        "instalmentMultipleOf": spec["instalment_multiple_of"],
        "fees": spec["fees"],
        "allocation": spec["allocation"],
        "minSavingsRatio": spec["min_savings_ratio"],
        "requirePriorRepaidLoan": spec["require_prior_repaid_loan"],
        "requireSignatories": spec["require_signatories"],
        "maxOpenLoans": spec["max_open_loans"],
        "active": spec["active"],
        "revision": row["revision"],
        "createdBy": _ref(row["created_by"]),
        "createdAt": _iso(row["created_at"]),
        "updatedAt": _iso(row["updated_at"]),
    }


def assessment_view(row: dict[str, Any]) -> dict[str, Any]:
    scores = row["scores"]
    return {
        "_id": str(row["assessment_id"]),
        "loanId": str(row["loan_id"]),
        **scores,
        "totalScore": row["total_score"],
        "passed": row["passed"],
        "officerNotes": row["officer_notes"],
        "officerId": _id(row["officer_id"]),
        "createdAt": _iso(row["created_at"]),
    }


def _loan_assessment(row: dict[str, Any]) -> dict[str, Any] | None:
    if row.get("assessment_id") is None:
        return None
    return assessment_view(
        {
            "assessment_id": row["assessment_id"],
            "loan_id": row["loan_id"],
            "scores": row["assessment_scores"],
            "total_score": row["total_score"],
            "passed": row["assessment_passed"],
            "officer_notes": row["officer_notes"],
            "officer_id": row["assessment_officer_id"],
            "created_at": row["assessed_at"],
        }
    )


def can_disburse(row: dict[str, Any]) -> bool:
    return (
        row["status"] == "approved"
        and bool(row.get("assessment_passed"))
        and row["accepted_guarantors"] > 0
    )


BEFORE_DISBURSEMENT = ("initiated", "approved")


def loan_actions(row: dict[str, Any], role: str, user_id: uuid.UUID) -> list[dict[str, str]]:
    """What this viewer may press next, as keys of ``PUT /api/loans/:id/<key>`` (docs/roles.md;
    maker-checker by person: not approving one's own loan, not disbursing one's own approval)."""
    actions = []
    status = row["status"]
    checker = role in CHECKERS
    if (
        role in (*BRANCH_ADMINS, LOAN_OFFICER)
        and status == "initiated"
        and not row.get("assessment_id")
    ):
        actions.append({"key": "credit-assessment", "label": "Perform Credit Assessment"})
    if (
        checker
        and status == "initiated"
        and row.get("assessment_passed")
        and row["accepted_guarantors"]
        and row["initiated_by"] != user_id
    ):
        actions.append({"key": "approve", "label": "Approve"})
    if checker and can_disburse(row) and row["approved_by"] != user_id:
        actions.append({"key": "disburse", "label": "Disburse"})
    if checker and status in BEFORE_DISBURSEMENT:
        actions.append({"key": "reject", "label": "Reject"})
    if role in BRANCH_ADMINS and status in BEFORE_DISBURSEMENT:
        if not row["application_fee_paid"]:
            actions.append(
                {"key": "mark-application-fee-paid", "label": "Mark Application Fee Paid"}
            )
        actions.append({"key": "cancel", "label": "Cancel"})
    return actions


def loan_schedule(
    loan_id: Any, instalments: list[dict[str, Any]], paid_cents: int, today: date
) -> list[dict[str, Any]]:
    """The ledger's schedule with each instalment's state: what has been paid (principal, interest
    and fees of the receipts still standing) settles the instalments in order of their due date."""
    left = paid_cents
    rows = []
    for item in instalments:
        due = int(item["principal_cents"]) + int(item["interest_cents"]) + int(item["fee_cents"])
        settled = min(left, due)
        left -= settled
        if settled == due:
            status = "paid"
        elif item["due_on"] < today:
            status = "overdue"
        elif settled:
            status = "partial"
        else:
            status = "pending"
        rows.append(
            {
                "_id": f"{loan_id}-{item['number']}",
                "number": item["number"],
                "dueDate": item["due_on"].isoformat(),
                "amount": kes_json(due),
                "principal": kes_json(int(item["principal_cents"])),
                "interest": kes_json(int(item["interest_cents"])),
                "fee": kes_json(int(item["fee_cents"])),
                "paid": kes_json(settled),
                "amount_cents": due,
                "paid_cents": settled,
                "status": status,
            }
        )
    return rows


def next_due(schedule: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The first instalment not yet settled, and what remains of it."""
    for row in schedule:
        if row["status"] != "paid":
            remaining = row["amount_cents"] - row["paid_cents"]
            return {
                "amount": kes_json(remaining),
                "amount_cents": remaining,
                "dueDate": row["dueDate"],
            }
    return None


def repayment_view(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "_id": row["receipt"],
        "amount": kes_json(int(row["amount_cents"])),
        "amount_cents": int(row["amount_cents"]),
        "date": _iso(row["occurred_at"]),
        "createdAt": _iso(row["occurred_at"]),
        "method": row["payment_method"],
        "paymentMethod": row["payment_method"],
        "reference": row["receipt"],
        "transactionId": row["receipt"],
    }


def progress_percent(view: dict[str, Any]) -> int:
    """How much of what is due has been paid, in whole percent (0 before the ledger reports)."""
    due, paid = view["total_due_cents"], view["total_paid_cents"]
    if not due:
        return 0
    return min(100, int((paid or 0) * 100 // due))


def loan_view(row: dict[str, Any]) -> dict[str, Any]:
    terms = row["terms"] or {}
    client = {
        "_id": str(row["client_id"]),
        "name": row["client_name"],
        "nationalId": row["client_national_id"],
        "phone": row["client_phone"],
        "loanOfficer": _id(row["group_officer_id"] or row["loan_officer_id"]),
    }
    group = None
    if row["group_id"] is not None:
        group = {
            "_id": str(row["group_id"]),
            "name": row["group_name"],
            "loanOfficerId": _id(row["group_officer_id"]),
        }
    rate = terms.get("interest_rate_percent")
    return {
        "_id": str(row["loan_id"]),
        "accountNumber": row["account_number"],
        "status": row["status"],
        "legacy": row["legacy"],
        "clientId": client,
        "client": client,
        "clientName": row["client_name"],
        "groupId": group,
        "loanOfficerId": _id(row["loan_officer_id"]),
        "loanOfficer": _staff(row["loan_officer_id"], row, "officer"),
        "productId": _id(row["product_id"]),
        "product": row["product_type"],
        "type": row["loan_type"],
        "loanType": row["loan_type"],
        "cycle": int(row["cycle"] or 1),
        "applicationFeePaid": row["application_fee_paid"],
        "applicationFeePaidAt": _iso(row["application_fee_paid_at"]),
        "principal_cents": int(row["principal_cents"]),
        "amount": kes_json(int(row["principal_cents"])),
        "amountKES": kes_json(int(row["principal_cents"])),
        "fees_cents": int(row["fees_cents"]),
        "application_fee_cents": int(row["fees_cents"]),
        "term": terms.get("term"),
        "interestRatePercent": Decimal(rate) if rate is not None else None,
        "interestRate": rate,
        "terms": terms or None,
        "purpose": row["purpose"],
        "initiatedBy": _staff(row["initiated_by"], row, "initiated_by"),
        "approvedBy": _staff(row["approved_by"], row, "approved_by"),
        "approvedAt": _iso(row["approved_at"]),
        "makerCheckerOverride": row["maker_checker_override"],
        "rejectionReason": row["rejected_reason"],
        "cancellationReason": row["cancelled_reason"],
        "transactionId": _id(row["disbursement_id"]),
        "disbursementAttempts": row["disbursement_attempts"],
        "disbursementRequestedAt": _iso(row["disbursement_requested_at"]),
        "disbursedAt": _iso(row["disbursed_at"]),
        "mpesaReceipt": row["mpesa_receipt"],
        "lastDisbursementFailure": row["last_failure_reason"],
        "disbursedOn": _iso(row["disbursed_on"]),
        "closedOn": _iso(row["closed_on"]),
        "legacyReference": row["legacy_reference"],
        "days_past_due": row["days_past_due"],
        "total_due_cents": _cents(row.get("total_due_cents")),
        "total_interest_cents": _cents(row.get("total_interest_cents")),
        "total_fees_cents": _cents(row.get("total_fees_cents")),
        "outstanding_cents": _cents(row.get("ledger_outstanding_cents")),
        "total_paid_cents": _cents(row.get("ledger_total_paid_cents")),
        "instalments": row.get("instalments"),
        "maturityOn": _iso(row.get("maturity_on")),
        "repaymentsCount": row.get("repayments_count") or 0,
        "lastRepaymentAt": _iso(row.get("last_repayment_at")),
        "creditAssessment": _loan_assessment(row),
        "acceptedGuarantors": row["accepted_guarantors"],
        "guarantorsCount": row["guarantors_count"],
        "canDisburse": can_disburse(row),
        "history": row["history"],
        "createdAt": _iso(row["created_at"]),
        "updatedAt": _iso(row["updated_at"]),
    }


# The frontend's word for a guarantor who said no is "rejected"; origination's is "declined".
GUARANTOR_STATUSES = {"declined": "rejected"}


def guarantor_view(row: dict[str, Any], *, links: DocumentLinks) -> dict[str, Any]:
    return {
        "_id": str(row["guarantor_id"]),
        "loanId": {
            "_id": str(row["loan_id"]),
            "accountNumber": row["account_number"],
            "amount": kes_json(int(row["loan_principal_cents"])),
            "status": row["loan_status"],
        },
        # A guarantor who is not a client has no client id, but the page reads ``clientId.name``.
        "clientId": {
            "_id": _id(row["client_id"]),
            "name": row["client_name"],
            "nationalId": row["client_national_id"],
            "phone": row["client_phone"],
        },
        "isMember": row["client_id"] is not None,
        "name": row["client_name"],
        "relationship": row["relationship"],
        "idCopyUrl": links.sign_stored(row["id_copy_url"]),
        "photoUrl": links.sign_stored(row["photo_url"]),
        "status": GUARANTOR_STATUSES.get(row["status"], row["status"]),
        "accepted": row["status"] == "accepted",
        "addedBy": _staff(row["added_by"], row, "added_by"),
        "decidedBy": _staff(row["decided_by"], row, "decided_by"),
        "decidedAt": _iso(row["decided_at"]),
        "createdAt": _iso(row["created_at"]),
    }
