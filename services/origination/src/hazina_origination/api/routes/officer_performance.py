"""A loan officer's own dashboard: what they initiated, disbursed, have in arrears and recovered."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from hazina_origination.api.deps import ApiDep, OfficerOnly
from hazina_origination.application.ports import ListQuery

router = APIRouter(prefix="/api/loan-officers", tags=["loan officers"])

DISBURSED = ("disbursed", "in_arrears", "defaulted", "written_off", "repaid")
IN_ARREARS = ("in_arrears", "defaulted")


@router.get("/performance")
def my_performance(principal: OfficerOnly, api: ApiDep) -> dict[str, Any]:
    """The caller's own book from origination's loans and the ledger's figures (cents)."""
    read = api.fresh()
    loans, _ = read.loans(ListQuery(officer_id=principal.user_id))
    loans = [row for row in loans if not row["legacy"]]
    disbursed = [row for row in loans if row["status"] in DISBURSED]
    arrears = [row for row in loans if row["status"] in IN_ARREARS]
    repaid = [row for row in loans if row["status"] == "repaid"]
    groups, _ = read.groups(ListQuery(officer_id=principal.user_id))

    def principal_of(rows: list[dict[str, Any]]) -> int:
        return sum(int(row["principal_cents"]) for row in rows)

    return {
        "loansInitiated": {"count": len(loans), "amountCents": principal_of(loans)},
        "loansDisbursed": {"count": len(disbursed), "amountCents": principal_of(disbursed)},
        "loansInArrears": {
            "count": len(arrears),
            "amountCents": sum(int(row["ledger_outstanding_cents"] or 0) for row in arrears),
            "clients": [
                {
                    "_id": str(row["client_id"]),
                    "name": row["client_name"],
                    "loanId": str(row["loan_id"]),
                    "daysOverdue": row["days_past_due"] or 0,
                }
                for row in arrears
            ],
        },
        "loansRecovered": {
            "count": len(repaid),
            "principal": principal_of(repaid),
            "interest": sum(int(row["total_interest_cents"] or 0) for row in repaid),
            "totalCents": sum(int(row["ledger_total_paid_cents"] or 0) for row in repaid),
        },
        "myGroups": [
            {"_id": str(g["group_id"]), "name": g["name"], "memberCount": g["members_count"]}
            for g in groups
        ],
    }
