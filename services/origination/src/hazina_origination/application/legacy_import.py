"""Importing a lender's old records: groups, clients and their past loans, all with status legacy.

One row per client (a client with several past loans appears on several rows, one loan each).
Every row is checked before anything is written; if any row is bad, nothing is imported and
each bad row is reported by its number. A good file is written in one atomic save.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from eventsourcing.persistence import IntegrityError

from hazina_contracts.money import parse_kes_to_cents
from hazina_origination.application.commands import ImportReport
from hazina_origination.application.origination import Origination, legacy_loan
from hazina_origination.domain.client import (
    Client,
    Reservation,
    normalise_national_id,
    normalise_residence,
)
from hazina_origination.domain.errors import InvalidInputError
from hazina_origination.domain.group import (
    SIGNATORY_ROLES,
    Group,
    Signatory,
    normalise_meeting_day,
    normalise_meeting_time,
)
from hazina_origination.domain.loan import LegacyLoan
from hazina_origination.domain.phone import normalise_phone
from hazina_servicekit.dates import read_iso_date
from hazina_servicekit.text import text_problem

ALIASES = {
    "group": "group_name",
    "meeting_day": "group_meeting_day",
    "meeting_time": "group_meeting_time",
    "name": "client_name",
    "client": "client_name",
    "id_number": "national_id",
    "id_no": "national_id",
    "nationalid": "national_id",
    "phone_number": "phone",
    "mobile": "phone",
}
REQUIRED = ("group_name", "client_name", "national_id", "phone")
Row = tuple[int, dict[str, str]]


def header_key(text: str) -> str:
    key = "_".join(text.strip().lower().replace("-", " ").split())
    return ALIASES.get(key, key)


@dataclass
class _GroupPlan:
    name: str
    first_row: int
    meeting_day: str | None = None
    meeting_time: str | None = None
    loan_officer_id: uuid.UUID | None = None
    branch_id: str | None = None
    region: str | None = None
    signatories: dict[str, tuple[int, str]] = field(
        default_factory=dict
    )  # role -> (row, national id)
    group_id: uuid.UUID = field(default_factory=uuid.uuid4)


@dataclass
class _ClientPlan:
    row: int
    fields: dict[str, Any]
    group_key: str
    loans: list[dict[str, Any]] = field(default_factory=list)


def _problems_of(values: dict[str, str]) -> tuple[dict[str, Any], list[str]]:
    """Parse one row; returns the parsed fields and every problem found (empty when the row is good)."""
    problems: list[str] = []
    parsed: dict[str, Any] = {}
    for name, raw in values.items():  # a cell becomes event data: the same text rule as the API
        problem = text_problem(raw)
        if problem is not None:
            problems.append(f"{name}: {problem}")
    if problems:
        return parsed, problems

    def attempt(name: str, parse: Any) -> None:
        raw = values.get(name, "")
        if not raw:
            parsed[name] = None
            return
        try:
            parsed[name] = parse(raw)
        except InvalidInputError as exc:
            problems.append(str(exc))
        except ValueError as exc:  # MoneyParseError included
            problems.append(f"{name}: {exc}")

    for name in REQUIRED:
        if not values.get(name):
            problems.append(f"{name} is required")
    parsed["group_name"] = values.get("group_name") or None
    parsed["client_name"] = values.get("client_name") or None
    attempt("national_id", normalise_national_id)
    attempt("phone", normalise_phone)
    attempt("next_of_kin_phone", lambda v: normalise_phone(v, field="next_of_kin_phone"))
    attempt("residence", normalise_residence)
    attempt("group_meeting_day", normalise_meeting_day)
    attempt("group_meeting_time", normalise_meeting_time)
    attempt("loan_officer_id", _uuid)
    attempt("signatory_role", _role)
    for name in (
        "branch_id",
        "region",
        "business_type",
        "business_location",
        "next_of_kin_name",
        "next_of_kin_relationship",
        "loan_reference",
    ):
        parsed[name] = values.get(name) or None
    has_loan = any(
        values.get(n)
        for n in ("loan_amount", "loan_outcome", "loan_disbursed_on", "loan_closed_on")
    )
    parsed["has_loan"] = has_loan
    if has_loan:
        if not values.get("loan_amount"):
            problems.append("loan_amount is required when a past loan is given")
        if not values.get("loan_outcome"):
            problems.append(
                "loan_outcome is required when a past loan is given (repaid, defaulted or written_off)"
            )
        # A spreadsheet shows 15,000: correctly grouped thousands are read, nothing looser.
        attempt(
            "loan_amount", lambda v: parse_kes_to_cents(v, allow_zero=False, allow_grouping=True)
        )
        attempt("loan_outcome", _outcome)
        attempt("loan_disbursed_on", _date)
        attempt("loan_closed_on", _date)
        parsed["loan_type"] = (values.get("loan_type") or "business").strip().lower()
        opened, closed = parsed.get("loan_disbursed_on"), parsed.get("loan_closed_on")
        if opened and closed and closed < opened:
            problems.append("loan_closed_on is before loan_disbursed_on")
    return parsed, problems


def _uuid(text: str) -> uuid.UUID:
    try:
        return uuid.UUID(text)
    except ValueError:
        raise InvalidInputError(f"loan_officer_id '{text}' is not a user id") from None


def _role(text: str) -> str:
    role = text.strip().lower()
    if role not in SIGNATORY_ROLES:
        raise InvalidInputError("signatory_role must be chairperson, secretary or treasurer")
    return role


def _outcome(text: str) -> str:
    outcome = text.strip().lower().replace(" ", "_").replace("-", "_")
    if outcome not in LegacyLoan.OUTCOMES:
        raise InvalidInputError("loan_outcome must be repaid, defaulted or written_off")
    return outcome


def _date(text: str) -> str:
    try:
        return read_iso_date(text.strip()[:10]).isoformat()
    except ValueError as exc:
        raise InvalidInputError(f"'{text}' is not a date (YYYY-MM-DD): {exc}") from None


def _same(existing: Any, new: Any) -> bool:
    return existing is None or new is None or existing == new


def plan_and_validate(
    rows: Sequence[Row], app: Origination
) -> tuple[dict[str, _GroupPlan], dict[str, _ClientPlan], list[dict[str, Any]]]:
    problems: dict[int, list[str]] = {}
    groups: dict[str, _GroupPlan] = {}
    clients: dict[str, _ClientPlan] = {}
    tainted: set[str] = set()  # groups with a bad row: their group-level checks wait for the fix

    def report(row: int, message: str) -> None:
        problems.setdefault(row, []).append(message)

    if not rows:
        return groups, clients, [{"row": 0, "message": "the file has no data rows"}]
    for number, values in rows:
        parsed, row_problems = _problems_of(values)
        for message in row_problems:
            report(number, message)
        if row_problems:
            tainted.add((values.get("group_name") or "").strip().lower())
            continue
        key = parsed["group_name"].strip().lower()
        plan = groups.setdefault(
            key, _GroupPlan(name=parsed["group_name"].strip(), first_row=number)
        )
        for attr, column in (
            ("meeting_day", "group_meeting_day"),
            ("meeting_time", "group_meeting_time"),
            ("loan_officer_id", "loan_officer_id"),
            ("branch_id", "branch_id"),
            ("region", "region"),
        ):
            if not _same(getattr(plan, attr), parsed[column]):
                report(number, f"{column} differs from row {plan.first_row} for group {plan.name}")
            elif parsed[column] is not None:
                setattr(plan, attr, parsed[column])
        nid = parsed["national_id"]
        client = clients.get(nid)
        if client is None:
            client = clients[nid] = _ClientPlan(row=number, fields=parsed, group_key=key)
        else:
            if (client.group_key, client.fields["client_name"], client.fields["phone"]) != (
                key,
                parsed["client_name"],
                parsed["phone"],
            ):
                report(
                    number,
                    f"national ID {nid} is on row {client.row} with a different name, phone or group",
                )
                continue
            if not parsed["has_loan"]:
                report(number, f"repeats the client of row {client.row} without a past loan")
                continue
        role = parsed["signatory_role"]
        if role:
            taken = plan.signatories.get(role)
            if taken and taken[1] != nid:
                report(number, f"group {plan.name} already has a {role} on row {taken[0]}")
            else:
                plan.signatories[role] = (number, nid)
        if parsed["has_loan"]:
            client.loans.append(
                {
                    "principal_cents": parsed["loan_amount"],
                    "outcome": parsed["loan_outcome"],
                    "product_type": parsed["loan_type"],
                    "disbursed_on": parsed["loan_disbursed_on"],
                    "closed_on": parsed["loan_closed_on"],
                    "reference": parsed["loan_reference"],
                }
            )
    for key, plan in groups.items():
        if key in tainted:
            continue
        if plan.signatories and set(plan.signatories) != set(SIGNATORY_ROLES):
            missing = ", ".join(r for r in SIGNATORY_ROLES if r not in plan.signatories)
            report(plan.first_row, f"group {plan.name} names some signatories but no {missing}")
        elif plan.signatories and len({nid for _, nid in plan.signatories.values()}) != 3:
            report(
                plan.first_row,
                f"group {plan.name}: the three signatories must be different members",
            )
    taken_ids = set(app.lookups.national_ids_taken(list(clients)))
    for nid in sorted(taken_ids):
        report(clients[nid].row, f"a client with national ID {nid} is already registered")
    for name in app.lookups.groups_named([plan.name for plan in groups.values()]):
        report(groups[name.lower()].first_row, f"a group named {name} already exists")
    errors = [
        {"row": row, "message": "; ".join(messages)} for row, messages in sorted(problems.items())
    ]
    return groups, clients, errors


def import_legacy(
    rows: Sequence[Row],
    app: Origination,
    *,
    actor_id: uuid.UUID | None,
    correlation_id: str | None,
    dry_run: bool = False,
) -> ImportReport:
    groups, clients, errors = plan_and_validate(rows, app)
    report = ImportReport(
        groups=len(groups),
        clients=len(clients),
        loans=sum(len(c.loans) for c in clients.values()),
        errors=errors,
    )
    if errors or dry_run:
        return report
    aggregates: list[Any] = []
    group_aggs: dict[str, Group] = {}
    for key, group_plan in groups.items():
        group_aggs[key] = Group(
            name=group_plan.name,
            status="legacy",
            meeting_day=group_plan.meeting_day,
            meeting_time=group_plan.meeting_time,
            loan_officer_id=group_plan.loan_officer_id,
            branch_id=group_plan.branch_id,
            region=group_plan.region,
            created_by=actor_id,
            correlation_id=correlation_id,
        )
    client_ids: dict[str, uuid.UUID] = {}
    for nid, client_plan in clients.items():
        f = client_plan.fields
        group = group_aggs[client_plan.group_key]
        kin = {
            k: v
            for k, v in (
                ("name", f["next_of_kin_name"]),
                ("phone", f["next_of_kin_phone"]),
                ("relationship", f["next_of_kin_relationship"]),
            )
            if v
        }
        client = Client(
            name=f["client_name"].strip(),
            national_id=nid,
            phone=f["phone"],
            residence=f["residence"],
            business_type=f["business_type"],
            business_location=f["business_location"],
            next_of_kin=kin,
            group_id=group.id,
            loan_officer_id=group.loan_officer_id,
            branch_id=f["branch_id"] or group.branch_id,
            photo=None,
            status="legacy",
            created_by=actor_id,
            correlation_id=correlation_id,
        )
        client_ids[nid] = client.id
        aggregates += [client, Reservation(kind="national_id", key=nid, holder_id=client.id)]
        for loan in client_plan.loans:
            aggregates.append(
                legacy_loan(
                    client_id=client.id,
                    group_id=group.id,
                    loan_officer_id=group.loan_officer_id,
                    actor_id=actor_id,
                    correlation_id=correlation_id,
                    **loan,
                )
            )
    for key, group_plan in groups.items():
        if group_plan.signatories:
            group_aggs[key].assign_signatories(
                [
                    Signatory(role=role, client_id=client_ids[nid], national_id=nid)
                    for role, (_, nid) in group_plan.signatories.items()
                ],
                by=actor_id,
                correlation_id=correlation_id,
            )
    try:
        app.save(*group_aggs.values(), *aggregates)
    except IntegrityError:
        report.errors = [
            {
                "row": 0,
                "message": "another import or onboarding registered some of these national IDs "
                "meanwhile; nothing was imported, run the import again",
            }
        ]
    return report
