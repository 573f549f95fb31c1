"""A loan from initiation to disbursement, and the later states the ledger reports.

initiated → approved → disbursement_pending → disbursed → repaid | in_arrears | defaulted | written_off
(initiated|approved → rejected or cancelled; disbursement_pending → approved again when M-Pesa
fails). The application fee is marked paid at any point before disbursement.
Guarantors and the credit assessment live inside the loan, so approval decides on one
consistent record.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from eventsourcing.domain import Aggregate, event
from eventsourcing.utils import register_topic

from hazina_origination.domain.assessment import FiveCs
from hazina_origination.domain.errors import (
    AlreadyExistsError,
    IllegalTransitionError,
    InvalidInputError,
    NotFoundError,
    NotPermittedError,
)

CLOSED_STATUSES = frozenset({"rejected", "cancelled", "repaid"})
BEFORE_DISBURSEMENT = ("initiated", "approved")
LEDGER_STATUSES = {
    "current": "disbursed",
    "in_arrears": "in_arrears",
    "defaulted": "defaulted",
    "written_off": "written_off",
}
AFTER_DISBURSEMENT = frozenset({"disbursed", "in_arrears", "defaulted", "written_off", "repaid"})


class Loan(Aggregate):
    TOPIC = "hazina.origination.Loan"

    class Created(Aggregate.Created):
        TOPIC = "hazina.origination.Loan.Created"

    class Initiated(Aggregate.Created):
        TOPIC = "hazina.origination.Loan.Initiated"
        account_number: str
        client_id: uuid.UUID
        group_id: uuid.UUID | None
        loan_officer_id: uuid.UUID | None
        product_id: uuid.UUID
        product_type: str
        principal_cents: int
        fees_cents: int
        terms: dict[str, Any]
        purpose: str | None
        initiated_by: uuid.UUID
        initiator_role: str
        correlation_id: str | None
        # Stored before group loans: every loan was an individual's.
        loan_type: str = "individual"

    @event(Initiated)
    def __init__(
        self,
        *,
        account_number: str,
        client_id: uuid.UUID,
        group_id: uuid.UUID | None,
        loan_officer_id: uuid.UUID | None,
        product_id: uuid.UUID,
        product_type: str,
        principal_cents: int,
        fees_cents: int,
        terms: dict[str, Any],
        purpose: str | None,
        initiated_by: uuid.UUID,
        initiator_role: str,
        correlation_id: str | None,
        loan_type: str = "individual",
    ) -> None:
        self.account_number = account_number
        self.loan_type = loan_type
        self.client_id = client_id
        self.group_id = group_id
        self.loan_officer_id = loan_officer_id
        self.product_id = product_id
        self.product_type = product_type
        self.principal_cents = principal_cents
        self.fees_cents = fees_cents
        self.terms = dict(terms)
        self.purpose = purpose
        self.initiated_by = initiated_by
        self.status = "initiated"
        self.guarantors: dict[str, dict[str, Any]] = {}
        self.assessment: dict[str, Any] | None = None
        self.disbursements: dict[str, dict[str, Any]] = {}
        self.pending_disbursement_id: str | None = None
        self.ledger_as_of: datetime | None = None
        self.approved_by: uuid.UUID | None = None
        self.application_fee_paid = False

    # Questions

    @property
    def is_open(self) -> bool:
        return self.status not in CLOSED_STATUSES

    @property
    def assessment_passed(self) -> bool:
        return bool(self.assessment and self.assessment["passed"])

    @property
    def accepted_guarantors(self) -> int:
        return sum(1 for g in self.guarantors.values() if g["status"] == "accepted")

    @property
    def can_disburse(self) -> bool:
        return self.status == "approved" and self.assessment_passed and self.accepted_guarantors > 0

    def _require(self, *allowed: str, action: str) -> None:
        if self.status not in allowed:
            raise IllegalTransitionError(f"Loan cannot be {action}: its status is {self.status}")

    # Guarantors

    def add_guarantor(
        self,
        *,
        guarantor_id: uuid.UUID,
        client_id: uuid.UUID,
        relationship: str,
        id_copy_url: str | None,
        photo_url: str | None,
        by: uuid.UUID,
        correlation_id: str | None,
    ) -> None:
        self._require("initiated", action="given a guarantor")
        if client_id == self.client_id:
            raise InvalidInputError("A borrower cannot guarantee their own loan")
        for existing in self.guarantors.values():
            if existing["client_id"] == str(client_id) and existing["status"] != "declined":
                raise AlreadyExistsError("This client is already a guarantor of this loan")
        if not relationship.strip():
            raise InvalidInputError("relationship is required")
        self._guarantor_added(
            guarantor_id=str(guarantor_id),
            client_id=str(client_id),
            relationship=relationship.strip(),
            id_copy_url=id_copy_url,
            photo_url=photo_url,
            added_by=by,
            correlation_id=correlation_id,
        )

    class GuarantorAdded(Aggregate.Event):
        TOPIC = "hazina.origination.Loan.GuarantorAdded"
        guarantor_id: str
        client_id: str
        relationship: str
        id_copy_url: str | None
        photo_url: str | None
        added_by: uuid.UUID
        correlation_id: str | None

    @event(GuarantorAdded)
    def _guarantor_added(
        self,
        guarantor_id: str,
        client_id: str,
        relationship: str,
        id_copy_url: str | None,
        photo_url: str | None,
        added_by: uuid.UUID,
        correlation_id: str | None,
    ) -> None:
        self.guarantors[guarantor_id] = {"client_id": client_id, "status": "pending"}

    def add_outside_guarantor(
        self,
        *,
        guarantor_id: uuid.UUID,
        name: str,
        national_id: str,
        phone: str | None,
        relationship: str,
        by: uuid.UUID,
        correlation_id: str | None,
    ) -> None:
        """A guarantor who is not (yet) a client: named, with their national ID, kept on the loan."""
        self._require("initiated", action="given a guarantor")
        if not name.strip():
            raise InvalidInputError("A guarantor who is not a client needs a name")
        for existing in self.guarantors.values():
            if existing.get("national_id") == national_id and existing["status"] != "declined":
                raise AlreadyExistsError("This person is already a guarantor of this loan")
        self._outside_guarantor_added(
            guarantor_id=str(guarantor_id),
            name=name.strip(),
            national_id=national_id,
            phone=phone,
            relationship=relationship.strip() or "Not stated",
            added_by=by,
            correlation_id=correlation_id,
        )

    class OutsideGuarantorAdded(Aggregate.Event):
        TOPIC = "hazina.origination.Loan.OutsideGuarantorAdded"
        guarantor_id: str
        name: str
        national_id: str
        phone: str | None
        relationship: str
        added_by: uuid.UUID
        correlation_id: str | None

    @event(OutsideGuarantorAdded)
    def _outside_guarantor_added(
        self,
        guarantor_id: str,
        name: str,
        national_id: str,
        phone: str | None,
        relationship: str,
        added_by: uuid.UUID,
        correlation_id: str | None,
    ) -> None:
        """Their decisions carry an empty ``client_id``: they are nobody's client."""
        self.guarantors[guarantor_id] = {
            "client_id": "",
            "national_id": national_id,
            "status": "pending",
        }

    def decide_guarantor(
        self, guarantor_id: uuid.UUID, *, accept: bool, by: uuid.UUID, correlation_id: str | None
    ) -> None:
        guarantor = self.guarantors.get(str(guarantor_id))
        if guarantor is None:
            raise NotFoundError("Guarantor not found")
        self._require("initiated", action="given a guarantor decision")
        if guarantor["status"] != "pending":
            raise IllegalTransitionError(f"Guarantor has already been {guarantor['status']}")
        decide = self._guarantor_accepted if accept else self._guarantor_declined
        decide(
            guarantor_id=str(guarantor_id),
            client_id=guarantor["client_id"],
            decided_by=by,
            correlation_id=correlation_id,
        )

    class GuarantorAccepted(Aggregate.Event):
        TOPIC = "hazina.origination.Loan.GuarantorAccepted"
        guarantor_id: str
        client_id: str
        decided_by: uuid.UUID
        correlation_id: str | None

    @event(GuarantorAccepted)
    def _guarantor_accepted(
        self, guarantor_id: str, client_id: str, decided_by: uuid.UUID, correlation_id: str | None
    ) -> None:
        self.guarantors[guarantor_id]["status"] = "accepted"

    class GuarantorDeclined(Aggregate.Event):
        TOPIC = "hazina.origination.Loan.GuarantorDeclined"
        guarantor_id: str
        client_id: str
        decided_by: uuid.UUID
        correlation_id: str | None

    @event(GuarantorDeclined)
    def _guarantor_declined(
        self, guarantor_id: str, client_id: str, decided_by: uuid.UUID, correlation_id: str | None
    ) -> None:
        self.guarantors[guarantor_id]["status"] = "declined"

    # Credit assessment

    def assess(
        self,
        *,
        assessment_id: uuid.UUID,
        scores: FiveCs,
        notes: str | None,
        by: uuid.UUID,
        correlation_id: str | None,
    ) -> None:
        self._require("initiated", action="assessed")
        if self.assessment is not None:
            raise AlreadyExistsError(
                f"Loan already has a credit assessment (score {self.assessment['total']}/25); it cannot be redone"
            )
        self._assessed(
            assessment_id=str(assessment_id),
            scores=scores.as_dict(),
            total=scores.total,
            passed=scores.passed,
            notes=notes,
            assessed_by=by,
            correlation_id=correlation_id,
        )

    class CreditAssessed(Aggregate.Event):
        TOPIC = "hazina.origination.Loan.CreditAssessed"
        assessment_id: str
        scores: dict[str, int]
        total: int
        passed: bool
        notes: str | None
        assessed_by: uuid.UUID
        correlation_id: str | None

    @event(CreditAssessed)
    def _assessed(
        self,
        assessment_id: str,
        scores: dict[str, int],
        total: int,
        passed: bool,
        notes: str | None,
        assessed_by: uuid.UUID,
        correlation_id: str | None,
    ) -> None:
        self.assessment = {"assessment_id": assessment_id, "total": total, "passed": passed}

    # Decisions

    def approve(self, *, by: uuid.UUID, correlation_id: str | None) -> None:
        self._require("initiated", action="approved")
        if by == self.initiated_by:
            raise NotPermittedError(
                "You initiated this loan; another approver must approve it (maker-checker)"
            )
        if self.assessment is None:
            raise IllegalTransitionError(
                "Loan (status: initiated) cannot be approved without a credit assessment"
            )
        if not self.assessment["passed"]:
            raise IllegalTransitionError(
                f"Loan (status: initiated) cannot be approved: its credit assessment scored "
                f"{self.assessment['total']}/25, below 18"
            )
        if self.accepted_guarantors == 0:
            raise IllegalTransitionError(
                "Loan (status: initiated) cannot be approved without an accepted guarantor"
            )
        self._approved(
            approved_by=by,
            maker_checker_override=False,
            account_number=self.account_number,
            client_id=self.client_id,
            group_id=self.group_id,
            loan_officer_id=self.loan_officer_id,
            principal_cents=self.principal_cents,
            terms=self.terms,
            correlation_id=correlation_id,
        )

    class Approved(Aggregate.Event):
        TOPIC = "hazina.origination.Loan.Approved"
        approved_by: uuid.UUID
        maker_checker_override: bool
        account_number: str
        client_id: uuid.UUID
        group_id: uuid.UUID | None
        loan_officer_id: uuid.UUID | None
        principal_cents: int
        terms: dict[str, Any]
        correlation_id: str | None

    @event(Approved)
    def _approved(
        self,
        approved_by: uuid.UUID,
        maker_checker_override: bool,
        account_number: str,
        client_id: uuid.UUID,
        group_id: uuid.UUID | None,
        loan_officer_id: uuid.UUID | None,
        principal_cents: int,
        terms: dict[str, Any],
        correlation_id: str | None,
    ) -> None:
        """Carries the terms it approves, so the public event needs nothing else."""
        self.status = "approved"
        self.approved_by = approved_by

    def reject(self, *, reason: str, by: uuid.UUID, correlation_id: str | None) -> bool:
        """False (nothing recorded) when the loan is already rejected: a repeated click."""
        if self.status == "rejected":
            return False
        self._require(*BEFORE_DISBURSEMENT, action="rejected")
        if not reason.strip():
            raise InvalidInputError("reason is required")
        self._rejected(
            reason=reason.strip(),
            rejected_by=by,
            previous_status=self.status,
            correlation_id=correlation_id,
        )
        return True

    class Rejected(Aggregate.Event):
        TOPIC = "hazina.origination.Loan.Rejected"
        reason: str
        rejected_by: uuid.UUID
        previous_status: str
        correlation_id: str | None

    @event(Rejected)
    def _rejected(
        self, reason: str, rejected_by: uuid.UUID, previous_status: str, correlation_id: str | None
    ) -> None:
        self.status = "rejected"

    def cancel(self, *, reason: str | None, by: uuid.UUID, correlation_id: str | None) -> bool:
        """Withdraw the loan before any money moved; False when it is already cancelled."""
        if self.status == "cancelled":
            return False
        self._require(*BEFORE_DISBURSEMENT, action="cancelled")
        self._cancelled(
            reason=(reason or "").strip() or None,
            cancelled_by=by,
            previous_status=self.status,
            correlation_id=correlation_id,
        )
        return True

    class Cancelled(Aggregate.Event):
        TOPIC = "hazina.origination.Loan.Cancelled"
        reason: str | None
        cancelled_by: uuid.UUID
        previous_status: str
        correlation_id: str | None

    @event(Cancelled)
    def _cancelled(
        self,
        reason: str | None,
        cancelled_by: uuid.UUID,
        previous_status: str,
        correlation_id: str | None,
    ) -> None:
        self.status = "cancelled"

    def mark_application_fee_paid(self, *, by: uuid.UUID, correlation_id: str | None) -> bool:
        """The borrower paid the application fee; False when it was already marked."""
        if self.application_fee_paid:
            return False
        self._require(*BEFORE_DISBURSEMENT, action="marked as having paid its application fee")
        self._application_fee_paid(
            fees_cents=self.fees_cents, marked_by=by, correlation_id=correlation_id
        )
        return True

    class ApplicationFeePaid(Aggregate.Event):
        TOPIC = "hazina.origination.Loan.ApplicationFeePaid"
        fees_cents: int
        marked_by: uuid.UUID
        correlation_id: str | None

    @event(ApplicationFeePaid)
    def _application_fee_paid(
        self, fees_cents: int, marked_by: uuid.UUID, correlation_id: str | None
    ) -> None:
        self.application_fee_paid = True

    # Disbursement

    def request_disbursement(
        self, *, disbursement_id: uuid.UUID, phone: str, by: uuid.UUID, correlation_id: str | None
    ) -> str:
        """The disbursement id M-Pesa is (or already was) asked to pay under; a repeat asks nothing new."""
        if self.status == "disbursement_pending" and self.pending_disbursement_id:
            return self.pending_disbursement_id
        self._require("approved", action="disbursed")
        if by == self.approved_by:
            raise NotPermittedError(
                "You approved this loan; another checker must disburse it (maker-checker)"
            )
        if not self.assessment_passed:
            raise IllegalTransitionError(
                "Loan (status: approved) cannot be disbursed without a passing credit assessment"
            )
        if self.accepted_guarantors == 0:
            raise IllegalTransitionError(
                "Loan (status: approved) cannot be disbursed without an accepted guarantor"
            )
        self._disbursement_requested(
            disbursement_id=str(disbursement_id),
            phone=phone,
            amount_cents=self.principal_cents,
            attempt=len(self.disbursements) + 1,
            account_number=self.account_number,
            client_id=self.client_id,
            requested_by=by,
            correlation_id=correlation_id,
        )
        return str(disbursement_id)

    class DisbursementRequested(Aggregate.Event):
        TOPIC = "hazina.origination.Loan.DisbursementRequested"
        disbursement_id: str
        phone: str
        amount_cents: int
        attempt: int
        account_number: str
        client_id: uuid.UUID
        requested_by: uuid.UUID
        correlation_id: str | None

    @event(DisbursementRequested)
    def _disbursement_requested(
        self,
        disbursement_id: str,
        phone: str,
        amount_cents: int,
        attempt: int,
        account_number: str,
        client_id: uuid.UUID,
        requested_by: uuid.UUID,
        correlation_id: str | None,
    ) -> None:
        self.status = "disbursement_pending"
        self.pending_disbursement_id = disbursement_id
        self.disbursements[disbursement_id] = {"attempt": attempt, "outcome": None}

    def record_disbursed(
        self,
        *,
        disbursement_id: uuid.UUID,
        mpesa_receipt: str,
        completed_at: datetime,
        charge_cents: int,
        correlation_id: str | None,
    ) -> bool:
        """M-Pesa paid out. False (nothing recorded) when already known or for another loan's payment.

        A success is believed even after a failure was reported for the same attempt (the gateway
        found the money did move, e.g. by reconciliation): the money is out, so the loan is too.
        """
        attempt = self.disbursements.get(str(disbursement_id))
        if attempt is None or attempt["outcome"] == "completed":
            return False
        if (
            self.status not in ("approved", "disbursement_pending")
            and self.status not in AFTER_DISBURSEMENT
        ):
            return False
        self._disbursed(
            disbursement_id=str(disbursement_id),
            mpesa_receipt=mpesa_receipt,
            completed_at=completed_at,
            charge_cents=charge_cents,
            correlation_id=correlation_id,
        )
        return True

    class Disbursed(Aggregate.Event):
        TOPIC = "hazina.origination.Loan.Disbursed"
        disbursement_id: str
        mpesa_receipt: str
        completed_at: datetime
        charge_cents: int
        correlation_id: str | None

    @event(Disbursed)
    def _disbursed(
        self,
        disbursement_id: str,
        mpesa_receipt: str,
        completed_at: datetime,
        charge_cents: int,
        correlation_id: str | None,
    ) -> None:
        self.disbursements[disbursement_id]["outcome"] = "completed"
        if self.status in ("approved", "disbursement_pending"):
            self.status = "disbursed"  # a ledger state that arrived first is kept
        self.pending_disbursement_id = None

    def record_disbursement_failed(
        self,
        *,
        disbursement_id: uuid.UUID,
        reason: str,
        result_code: str,
        correlation_id: str | None,
    ) -> bool:
        """M-Pesa refused: back to approved with the reason, unless this attempt is stale or known."""
        if self.status != "disbursement_pending" or self.pending_disbursement_id != str(
            disbursement_id
        ):
            return False
        self._disbursement_failed(
            disbursement_id=str(disbursement_id),
            reason=reason,
            result_code=result_code,
            correlation_id=correlation_id,
        )
        return True

    class DisbursementFailed(Aggregate.Event):
        TOPIC = "hazina.origination.Loan.DisbursementFailed"
        disbursement_id: str
        reason: str
        result_code: str
        correlation_id: str | None

    @event(DisbursementFailed)
    def _disbursement_failed(
        self, disbursement_id: str, reason: str, result_code: str, correlation_id: str | None
    ) -> None:
        self.disbursements[disbursement_id]["outcome"] = "failed"
        self.pending_disbursement_id = None
        self.status = "approved"

    # What the ledger derives from the schedule and the repayments

    def record_ledger_status(
        self,
        *,
        ledger_status: str,
        occurred_at: datetime,
        days_past_due: int,
        outstanding_cents: int,
        correlation_id: str | None,
    ) -> bool:
        status = LEDGER_STATUSES.get(ledger_status)
        if status is None:
            raise InvalidInputError(f"unknown ledger status {ledger_status}")
        if not self._ledger_news(occurred_at):
            return False
        self._ledger_status_changed(
            status=status,
            ledger_status=ledger_status,
            occurred_at=occurred_at,
            days_past_due=days_past_due,
            outstanding_cents=outstanding_cents,
            correlation_id=correlation_id,
        )
        return True

    class LedgerStatusChanged(Aggregate.Event):
        TOPIC = "hazina.origination.Loan.LedgerStatusChanged"
        status: str
        ledger_status: str
        occurred_at: datetime
        days_past_due: int
        outstanding_cents: int
        correlation_id: str | None

    @event(LedgerStatusChanged)
    def _ledger_status_changed(
        self,
        status: str,
        ledger_status: str,
        occurred_at: datetime,
        days_past_due: int,
        outstanding_cents: int,
        correlation_id: str | None,
    ) -> None:
        self.status = status
        self.ledger_as_of = occurred_at

    def record_repaid(
        self, *, occurred_at: datetime, total_paid_cents: int, correlation_id: str | None
    ) -> bool:
        if self.status == "repaid" or not self._ledger_news(occurred_at):
            return False
        self._repaid(
            occurred_at=occurred_at,
            total_paid_cents=total_paid_cents,
            correlation_id=correlation_id,
        )
        return True

    class Repaid(Aggregate.Event):
        TOPIC = "hazina.origination.Loan.Repaid"
        occurred_at: datetime
        total_paid_cents: int
        correlation_id: str | None

    @event(Repaid)
    def _repaid(
        self, occurred_at: datetime, total_paid_cents: int, correlation_id: str | None
    ) -> None:
        self.status = "repaid"
        self.ledger_as_of = occurred_at

    def _ledger_news(self, occurred_at: datetime) -> bool:
        """Only loans that were sent money have ledger states, and only newer facts replace older ones."""
        if self.status not in AFTER_DISBURSEMENT and self.status != "disbursement_pending":
            return False
        return self.ledger_as_of is None or occurred_at > self.ledger_as_of


# Events stored before topics were pinned name this class (and theirs) by module path.
register_topic("hazina_origination.domain.loan:Loan", Loan)


class LegacyLoan(Aggregate):
    """A past loan imported from the lender's old records; counts for the repaid-loan rule."""

    TOPIC = "hazina.origination.LegacyLoan"

    class Created(Aggregate.Created):
        TOPIC = "hazina.origination.LegacyLoan.Created"

    OUTCOMES = ("repaid", "defaulted", "written_off")

    class Imported(Aggregate.Created):
        TOPIC = "hazina.origination.LegacyLoan.Imported"
        client_id: uuid.UUID
        group_id: uuid.UUID | None
        loan_officer_id: uuid.UUID | None
        product_type: str
        principal_cents: int
        outcome: str
        disbursed_on: str | None
        closed_on: str | None
        reference: str | None
        imported_by: uuid.UUID | None
        correlation_id: str | None

    @event(Imported)
    def __init__(
        self,
        *,
        client_id: uuid.UUID,
        group_id: uuid.UUID | None,
        loan_officer_id: uuid.UUID | None,
        product_type: str,
        principal_cents: int,
        outcome: str,
        disbursed_on: str | None,
        closed_on: str | None,
        reference: str | None,
        imported_by: uuid.UUID | None,
        correlation_id: str | None,
    ) -> None:
        self.client_id = client_id
        self.principal_cents = principal_cents
        self.status = outcome


# Events stored before topics were pinned name this class (and theirs) by module path.
register_topic("hazina_origination.domain.loan:LegacyLoan", LegacyLoan)
