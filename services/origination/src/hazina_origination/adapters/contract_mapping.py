"""Which stored origination events become which public ORIGINATION events.

Private events (reservations, open-loan bookkeeping, legacy loans, product revisions, and
the states the payments gateway and the ledger told us about) map to nothing.
"""

from __future__ import annotations

import uuid

from eventsourcing.domain import Aggregate, DomainEventProtocol

from hazina_contracts.events import origination as contract
from hazina_contracts.events.base import ContractEvent
from hazina_origination.domain.client import Client
from hazina_origination.domain.group import Group
from hazina_origination.domain.loan import Loan
from hazina_origination.domain.refused_application import RefusedApplication


def to_contract(event: DomainEventProtocol[uuid.UUID]) -> ContractEvent | None:
    if not isinstance(event, Aggregate.Event):
        return None  # every origination event is an aggregate's; nothing else is published
    at = event.timestamp
    oid = event.originator_id
    match event:
        case RefusedApplication.Refused():
            return contract.LoanApplicationRefused(
                occurred_at=at,
                actor_id=None,
                application_id=event.application_id,
                reference=event.reference,
                client_id=event.client_id,
                reason_code=event.reason_code,
                reason=event.reason,
            )
        case Group.Created():
            return contract.GroupCreated(
                occurred_at=at,
                actor_id=event.created_by,
                group_id=oid,
                name=event.name,
                status=event.status,
                loan_officer_id=event.loan_officer_id,
                branch_id=event.branch_id,
                region=event.region,
                meeting_day=event.meeting_day,
                meeting_time=event.meeting_time,
            )
        case Group.Approved():
            return contract.GroupApproved(occurred_at=at, actor_id=event.approved_by, group_id=oid)
        case Group.SignatoriesAssigned():
            return contract.SignatoriesAssigned(
                occurred_at=at,
                actor_id=event.assigned_by,
                group_id=oid,
                signatories=[
                    contract.Signatory(
                        role=s["role"],
                        client_id=uuid.UUID(s["client_id"]),
                        national_id=s["national_id"],
                    )
                    for s in event.signatories
                ],
            )
        case Client.Onboarded():
            return contract.ClientOnboarded(
                occurred_at=at,
                actor_id=event.created_by,
                client_id=oid,
                group_id=event.group_id,
                name=event.name,
                national_id=event.national_id,
                phone=event.phone,
                status=event.status,
                loan_officer_id=event.loan_officer_id,
            )
        case Client.Approved():
            return contract.ClientApproved(
                occurred_at=at, actor_id=event.approved_by, client_id=oid
            )
        case Client.Rejected():
            return contract.ClientRejected(
                occurred_at=at, actor_id=event.rejected_by, client_id=oid
            )
        case Client.DetailsChanged():
            return contract.ClientDetailsChanged(
                occurred_at=at,
                actor_id=event.changed_by,
                client_id=oid,
                group_id=event.group_id,
                name=event.name,
                national_id=event.national_id,
                phone=event.phone,
                loan_officer_id=event.loan_officer_id,
                changed_fields=sorted(event.changes),
            )
        case Group.DetailsChanged():
            return contract.GroupDetailsChanged(
                occurred_at=at,
                actor_id=event.changed_by,
                group_id=oid,
                name=event.name,
                loan_officer_id=event.loan_officer_id,
                branch_id=event.branch_id,
                meeting_day=event.meeting_day,
                meeting_time=event.meeting_time,
                changed_fields=sorted(event.changes),
            )
        case Group.Rejected():
            return contract.GroupStatusChanged(
                occurred_at=at, actor_id=event.rejected_by, group_id=oid, status="rejected"
            )
        case Group.Suspended():
            return contract.GroupStatusChanged(
                occurred_at=at, actor_id=event.suspended_by, group_id=oid, status="suspended"
            )
        case Group.Reinstated():
            return contract.GroupStatusChanged(
                occurred_at=at, actor_id=event.reinstated_by, group_id=oid, status="active"
            )
        case Loan.Initiated():
            return contract.LoanInitiated(
                occurred_at=at,
                actor_id=event.initiated_by,
                loan_id=oid,
                account_number=event.account_number,
                client_id=event.client_id,
                group_id=event.group_id,
                loan_officer_id=event.loan_officer_id,
                principal_cents=event.principal_cents,
                terms=contract.LoanTerms.model_validate(event.terms),
            )
        case Loan.GuarantorAdded():
            return contract.GuarantorAdded(
                occurred_at=at,
                actor_id=event.added_by,
                guarantor_id=uuid.UUID(event.guarantor_id),
                loan_id=oid,
                client_id=uuid.UUID(event.client_id),
                relationship=event.relationship,
            )
        case Loan.GuarantorAccepted() | Loan.GuarantorDeclined() if event.client_id:
            cls = (
                contract.GuarantorAccepted
                if isinstance(event, Loan.GuarantorAccepted)
                else contract.GuarantorDeclined
            )
            return cls(
                occurred_at=at,
                actor_id=event.decided_by,
                guarantor_id=uuid.UUID(event.guarantor_id),
                loan_id=oid,
                client_id=uuid.UUID(event.client_id),
            )
        case Loan.CreditAssessed():
            return contract.CreditAssessed(
                occurred_at=at,
                actor_id=event.assessed_by,
                assessment_id=uuid.UUID(event.assessment_id),
                loan_id=oid,
                total_score=event.total,
                passed=event.passed,
            )
        case Loan.Approved():
            return contract.LoanApproved(
                occurred_at=at,
                actor_id=event.approved_by,
                loan_id=oid,
                account_number=event.account_number,
                client_id=event.client_id,
                group_id=event.group_id,
                loan_officer_id=event.loan_officer_id,
                principal_cents=event.principal_cents,
                terms=contract.LoanTerms.model_validate(event.terms),
                maker_checker_override=event.maker_checker_override,
            )
        case Loan.Rejected():
            return contract.LoanRejected(
                occurred_at=at, actor_id=event.rejected_by, loan_id=oid, reason=event.reason
            )
        case Loan.Cancelled():
            return contract.LoanCancelled(
                occurred_at=at, actor_id=event.cancelled_by, loan_id=oid, reason=event.reason
            )
        case Loan.ApplicationFeePaid():
            return contract.LoanApplicationFeePaid(
                occurred_at=at, actor_id=event.marked_by, loan_id=oid, fees_cents=event.fees_cents
            )
        case Loan.DisbursementRequested():
            return contract.LoanDisbursementRequested(
                occurred_at=at,
                actor_id=event.requested_by,
                loan_id=oid,
                disbursement_id=uuid.UUID(event.disbursement_id),
                account_number=event.account_number,
                client_id=event.client_id,
                phone=event.phone,
                amount_cents=event.amount_cents,
                attempt=event.attempt,
            )
    return None
