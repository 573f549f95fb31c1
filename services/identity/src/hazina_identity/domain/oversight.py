"""What the oversight pages make of a published event: one audit entry, and the notices it owes
staff. Every command in Hazina already is an event saying who, what and when, so the audit log is
read off the event streams instead of being written a second time by each route.

Pure rules over an event's type, subject and data (the contract event as published); the adapter
reads envelopes, resolves who a notice is for, and stores.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from hazina_contracts.money import format_kes

AuditStatus = Literal["success", "failed"]

# Facts that record a refusal or a failure rather than a command carried out.
_FAILED = frozenset({"LoginFailed", "LockedOut", "AddressLockedOut", "TokenFamilyRevoked"})
# Facts whose staff member acted on their own account (the event names no other actor).
_SELF_ACTED = frozenset(
    {"PasswordChanged", "LoginSucceeded", "LoginFailed", "SignedOutEverywhere", "SessionRevoked"}
)
# Aggregates whose subject does not name the id field after themselves.
_ENTITY_KEY = {
    "loan_account": "loan_id",
    "savings_account": "client_id",
    "payment": "receipt",
    "repayment_prompt": "prompt_id",
}
# Personal data never shown in an audit sentence (the full data is masked separately).
_PRIVATE = re.compile(r"phone|msisdn|national_?id|client_address|mobile", re.I)
# Facts worth a clause in the sentence, in this order.
_SENTENCE_KEYS = (
    "username",
    "name",
    "role",
    "status",
    "account_number",
    "principal_cents",
    "amount_cents",
    "total_score",
    "reason",
    "result_description",
    "mpesa_receipt",
    "receipt",
    "locked_until",
)


@dataclass(frozen=True)
class AuditEntry:
    action: str  # the event's type: LoanApproved, LoginFailed, ...
    entity_type: str  # the subject's aggregate: loan, client, group, user, ...
    entity_id: str | None
    actor_id: uuid.UUID | None  # None: the event names no staff member
    status: AuditStatus
    details: str  # one sentence for the page


def audit_entry(event_type: str, subject: str, data: Mapping[str, Any]) -> AuditEntry:
    """The audit entry of one published event, whatever service published it."""
    parts = subject.split(".")
    entity_type = parts[1] if len(parts) > 2 else parts[0]
    key = _ENTITY_KEY.get(entity_type, f"{entity_type}_id")
    entity = data.get(key)
    return AuditEntry(
        action=event_type,
        entity_type=entity_type,
        entity_id=str(entity) if entity is not None else None,
        actor_id=actor_of(event_type, data),
        status="failed" if event_type in _FAILED or event_type.endswith("Failed") else "success",
        details=sentence(event_type, data),
    )


def actor_of(event_type: str, data: Mapping[str, Any]) -> uuid.UUID | None:
    """Who did it: ``actor_id``, else a ``*_by`` field, else the user acting on their own account."""
    candidates = [data.get("actor_id")]
    candidates += [value for key, value in data.items() if key.endswith("_by")]
    if event_type in _SELF_ACTED:
        candidates.append(data.get("user_id"))
    for value in candidates:
        if value is None:
            continue
        try:
            return uuid.UUID(str(value))
        except ValueError:
            continue
    return None


def sentence(event_type: str, data: Mapping[str, Any]) -> str:
    """``Loan approved · account number LN7K2Q · principal KES 50,000.00``: the event in words."""
    words = re.sub(r"(?<!^)(?=[A-Z])", " ", event_type).lower()
    clauses = [words[:1].upper() + words[1:]]
    for key in _SENTENCE_KEYS:
        value = data.get(key)
        if value is None or value == "" or _PRIVATE.search(key):
            continue
        if key.endswith("_cents") and isinstance(value, int):
            clauses.append(f"{key.removesuffix('_cents').replace('_', ' ')} {format_kes(value)}")
        else:
            clauses.append(f"{key.replace('_', ' ')} {value}")
    return " · ".join(clauses)


# Notifications: facts a staff member is owed word of. Who they are for is said as a rule the
# adapter resolves from what identity learned from earlier events (which officer holds a loan).

NoticeFor = Literal["loan_officer", "initiator", "disburser", "approvers", "user"]


@dataclass(frozen=True)
class Notice:
    kind: str  # shown as a tag on the page: loan, client, group, account
    title: str
    body: str
    to: tuple[NoticeFor, ...]


@dataclass(frozen=True)
class Known:
    """What identity learned earlier about the client, group or loan an event is about."""

    label: str | None = None  # a group's or client's name, a loan's account number
    loan_officer_id: uuid.UUID | None = None
    initiator_id: uuid.UUID | None = None
    disburser_id: uuid.UUID | None = None


def learned(event_type: str, data: Mapping[str, Any]) -> tuple[str, str, Known] | None:
    """What an event teaches about a client, group or loan that later notices need."""
    initiator = _uuid(data.get("actor_id"))
    officer = _uuid(data.get("loan_officer_id"))
    match event_type:
        case "GroupCreated":
            return ("group", str(data["group_id"]), Known(data.get("name"), officer))
        case "ClientOnboarded":
            return ("client", str(data["client_id"]), Known(data.get("name"), officer))
        case "LoanInitiated":
            return (
                "loan",
                str(data["loan_id"]),
                Known(data.get("account_number"), officer, initiator),
            )
        case "GroupDetailsChanged":  # a new loan officer takes the group over
            return ("group", str(data["group_id"]), Known(data.get("name"), officer))
        case "ClientDetailsChanged":
            return ("client", str(data["client_id"]), Known(data.get("name"), officer))
        case "LoanApproved":
            return ("loan", str(data["loan_id"]), Known(data.get("account_number"), officer))
        case "LoanDisbursementRequested":
            return ("loan", str(data["loan_id"]), Known(disburser_id=initiator))
    return None


def _uuid(value: object) -> uuid.UUID | None:
    return uuid.UUID(str(value)) if value else None


def about(event_type: str, data: Mapping[str, Any]) -> tuple[str, str] | None:
    """The (kind, id) whose earlier facts a notice needs, for the events that owe notices."""
    if event_type in {"ClientApproved", "ClientRejected"}:
        return ("client", str(data["client_id"]))
    if event_type in {"GroupApproved", "GroupStatusChanged"}:
        return ("group", str(data["group_id"]))
    if event_type in {
        "LoanApproved",
        "LoanRejected",
        "DisbursementCompleted",
        "DisbursementFailed",
    }:
        return ("loan", str(data["loan_id"]))
    return None


_GROUP_STATUS = {
    "rejected": ("Group rejected", "rejected"),
    "suspended": ("Group suspended", "suspended"),
    "active": ("Group reinstated", "reinstated"),
}


def notices(event_type: str, data: Mapping[str, Any], known: Known) -> list[Notice]:
    """The notices one event owes, and to whom (the actor is left out by the adapter)."""
    loan = known.label or data.get("account_number") or data.get("loan_id")
    staff: tuple[NoticeFor, ...] = ("loan_officer", "initiator")
    owner: tuple[NoticeFor, ...] = ("loan_officer",)  # whose client or group it is
    match event_type:
        case "ClientApproved":
            body = f"{known.label or 'Your client'} is now active."
            return [Notice("client", "Client approved", body, owner)]
        case "ClientRejected":
            body = f"{known.label or 'Your client'} was rejected."
            return [Notice("client", "Client rejected", body, owner)]
        case "GroupApproved":
            body = f"{known.label or 'Your group'} is now active."
            return [Notice("group", "Group approved", body, owner)]
        case "GroupStatusChanged" if data.get("status") in _GROUP_STATUS:
            title, done = _GROUP_STATUS[str(data["status"])]
            body = f"{known.label or 'Your group'} was {done}."
            return [Notice("group", title, body, owner)]
        case "LoanInitiated":
            amount = format_kes(int(data["principal_cents"]))
            body = f"Loan {loan} for {amount} awaits approval."
            return [Notice("loan", "Loan awaiting approval", body, ("approvers",))]
        case "LoanApproved":
            body = f"Loan {loan} for {format_kes(int(data['principal_cents']))} was approved."
            return [Notice("loan", "Loan approved", body, staff)]
        case "LoanRejected":
            body = f"Loan {loan} was rejected: {data.get('reason') or 'no reason given'}."
            return [Notice("loan", "Loan rejected", body, staff)]
        case "DisbursementCompleted":
            body = f"{format_kes(int(data['amount_cents']))} of loan {loan} was sent (M-Pesa {data['mpesa_receipt']})."
            return [Notice("loan", "Loan disbursed", body, (*staff, "disburser"))]
        case "DisbursementFailed":
            body = (
                f"Sending {format_kes(int(data['amount_cents']))} of loan {loan} failed: "
                f"{data.get('result_description') or data.get('result_code')}."
            )
            return [Notice("loan", "Disbursement failed", body, (*staff, "disburser"))]
        case "LockedOut":
            body = (
                "Too many failed sign-ins to your account from one address; it may not sign in "
                f"from there until {data['locked_until']}. If this was not you, tell an admin."
            )
            return [Notice("account", "Sign-in locked", body, ("user",))]
    return []
