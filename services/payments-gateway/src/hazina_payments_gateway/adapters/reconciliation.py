"""Reconciliation: what the rails reported against what the ledger posted, and the M-Pesa statement
(CSV from the organisation portal) read into payments for the same idempotent path as callbacks.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import date, datetime, timedelta
from typing import Any

from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool

from hazina_contracts.money import AmountCents, MoneyParseError, format_cents, parse_kes_to_cents
from hazina_payments_gateway.adapters.daraja.callbacks import (
    msisdn_field,
    reference_field,
    required_receipt,
    shown,
    text_field,
)
from hazina_payments_gateway.application.records import IncomingPayment, MalformedCallbackError
from hazina_payments_gateway.domain.rules import EAT, MAX_RAIL_AMOUNT_CENTS
from hazina_servicekit.dates import MAX_YEAR, MIN_YEAR
from hazina_servicekit.logging import mask_phone

_TIME_FORMATS = (
    "%Y-%m-%d %H:%M:%S",
    "%d/%m/%Y %H:%M:%S",
    "%d-%m-%Y %H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%d/%m/%Y %H:%M",
)
_ACCOUNT_IN_DETAILS = re.compile(r"Acc(?:ount)?\.?\s*(?:No\.?)?\s*([A-Za-z0-9 _-]+)$", re.I)


class StatementError(ValueError):
    pass


def _parse_time(text: str) -> datetime:
    text = text.strip()
    for fmt in _TIME_FORMATS:
        try:
            moment = datetime.strptime(text, fmt).replace(tzinfo=EAT)
        except ValueError:
            continue
        if not MIN_YEAR <= moment.year <= MAX_YEAR:
            raise StatementError(f"{shown(text)} is outside the years {MIN_YEAR}-{MAX_YEAR}")
        return moment
    raise StatementError(f"{shown(text)} is not a statement time")


def parse_statement(
    text: str, *, shortcode: str | None = None
) -> tuple[list[IncomingPayment], list[str]]:
    """Money paid in (completed Pay Bill / Buy Goods rows) from an M-Pesa organisation statement CSV.

    Returns the payments and a list of problems (row number and reason) for rows that looked like
    payments but could not be read. Header lines above the column row are skipped.
    """
    lines = text.lstrip("\ufeff").splitlines()
    start = next(
        (i for i, line in enumerate(lines) if line.lower().lstrip('"').startswith("receipt no")),
        None,
    )
    if start is None:
        raise StatementError("no 'Receipt No.' column row: is this an M-Pesa statement CSV?")
    reader = csv.DictReader(io.StringIO("\n".join(lines[start:])))
    fields = {name.strip().lower(): name for name in (reader.fieldnames or [])}

    def col(row: dict[str, Any], *names: str) -> str:
        for name in names:
            key = fields.get(name)
            if key is not None and row.get(key) is not None:
                return str(row[key]).strip()
        return ""

    payments, problems = [], []
    for number, row in enumerate(reader, start=start + 2):
        receipt = col(row, "receipt no.", "receipt no")
        paid_in = col(row, "paid in")
        status = col(row, "transaction status").lower()
        if not receipt or not paid_in or status not in {"completed", ""}:
            continue
        kind = (col(row, "reason type") + " " + col(row, "details")).lower()
        if "pay bill" not in kind and "buy goods" not in kind and "paybill" not in kind:
            continue
        account = col(row, "a/c no.", "a/c no", "account no.", "account")
        if not account:
            found = _ACCOUNT_IN_DETAILS.search(col(row, "details"))
            account = found.group(1).strip() if found else ""
        party = col(row, "other party info")
        try:
            # The statement writes thousands grouped (1,200.00); only correct groups are read.
            amount = AmountCents(parse_kes_to_cents(paid_in, allow_zero=False, allow_grouping=True))
            if amount > MAX_RAIL_AMOUNT_CENTS:
                raise StatementError(f"Paid In {shown(paid_in)} is more than any M-Pesa payment")
            paid_at = _parse_time(col(row, "completion time", "initiation time"))
            # The same checks as a callback's: nothing unreadable becomes an event.
            checked_receipt = required_receipt(receipt, "Receipt No.")
            account = reference_field(account, "A/C No.")
            payer = (
                text_field(party.split(" - ", 1)[1], "Other Party Info") if " - " in party else None
            )
            msisdn = (
                msisdn_field(party.split(" - ", 1)[0], "Other Party Info")
                if " - " in party
                else None
            )
        except (MoneyParseError, StatementError, MalformedCallbackError) as exc:
            problems.append(f"row {number}: {exc}")
            continue
        payments.append(
            IncomingPayment(
                receipt=checked_receipt,
                amount_cents=amount,
                msisdn=msisdn,
                bill_ref=account,
                paid_at=paid_at,
                payer_name=payer,
                shortcode=shortcode,
                channel="reconciliation",
            )
        )
    return payments, problems


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def _version(
    amount_cents: int | None,
    msisdn: str | None,
    reference: str | None,
    target: str | None,
    channel: str | None,
    paid_at: Any,
) -> dict[str, Any] | None:
    if amount_cents is None:
        return None
    return {
        "amountCents": amount_cents,
        "amountKES": format_cents(amount_cents),
        "phone": mask_phone(msisdn) if msisdn else None,
        "accountReference": reference,
        "target": target,
        "channel": channel,
        "paidAt": _iso(paid_at),
    }


def _conflict_view(row: dict[str, Any]) -> dict[str, Any]:
    """Both versions of a receipt reported twice differently: the first stands, the repeat is flagged."""
    return {
        "mpesaReceipt": row["receipt"],
        "differences": list(row["disagreements"]),
        "first": _version(
            row["first_cents"],
            row["first_msisdn"],
            row["first_reference"],
            row["first_target"],
            row["first_channel"],
            row["first_paid_at"],
        ),
        "repeat": _version(
            row["amount_cents"],
            row["msisdn"],
            row["account_reference"],
            row["target"],
            row["channel"],
            row["paid_at"],
        ),
        "recordedAt": _iso(row["recorded_at"]),
        "flags": ["conflicting_repeat"],
    }


def reconciliation_report(pool: ConnectionPool, day: date) -> dict[str, Any]:
    """B2C and C2B of one Kenyan day with the ledger's postings, and what is missing on either side."""
    start = datetime(day.year, day.month, day.day, tzinfo=EAT)
    end = start + timedelta(days=1)
    with pool.connection() as conn:
        cur = conn.cursor(row_factory=dict_row)
        disbursements = cur.execute(
            """
            SELECT d.*, lp.amount_cents AS posted_cents, lp.occurred_at AS posted_at
            FROM disbursements d LEFT JOIN ledger_postings lp ON lp.key = 'disbursement:' || d.loan_id::text
            WHERE (d.completed_at >= %(s)s AND d.completed_at < %(e)s)
               OR (d.requested_at >= %(s)s AND d.requested_at < %(e)s)
            ORDER BY d.requested_at
            """,
            {"s": start, "e": end},
        ).fetchall()
        payments = cur.execute(
            """
            SELECT p.*, lp.kind AS posted_kind, lp.amount_cents AS posted_cents, lp.occurred_at AS posted_at
            FROM payments_received p LEFT JOIN ledger_postings lp ON lp.receipt = p.receipt
            WHERE p.paid_at >= %(s)s AND p.paid_at < %(e)s ORDER BY p.paid_at
            """,
            {"s": start, "e": end},
        ).fetchall()
        conflicts = cur.execute(
            """
            SELECT c.*, p.amount_cents AS first_cents, p.msisdn AS first_msisdn,
                p.account_reference AS first_reference, p.target AS first_target,
                p.channel AS first_channel, p.paid_at AS first_paid_at
            FROM payment_conflicts c LEFT JOIN payments_received p ON p.receipt = c.receipt
            WHERE (p.paid_at >= %(s)s AND p.paid_at < %(e)s)
               OR (c.recorded_at >= %(s)s AND c.recorded_at < %(e)s)
            ORDER BY c.recorded_at, c.receipt, c.version
            """,
            {"s": start, "e": end},
        ).fetchall()
        ledger_only = cur.execute(
            """
            SELECT lp.* FROM ledger_postings lp
            WHERE lp.occurred_at >= %(s)s AND lp.occurred_at < %(e)s AND (
                (lp.receipt IS NOT NULL AND NOT EXISTS (SELECT 1 FROM payments_received p WHERE p.receipt = lp.receipt))
                OR (lp.kind = 'disbursement' AND NOT EXISTS (
                    SELECT 1 FROM disbursements d WHERE d.loan_id = lp.loan_id AND d.status = 'completed')))
            ORDER BY lp.occurred_at
            """,
            {"s": start, "e": end},
        ).fetchall()

    b2c = []
    for row in disbursements:
        flags = []
        if row["status"] == "completed" and row["posted_at"] is None:
            flags.append("missing_ledger_posting")
        if row["status"] in {"unknown", "checking", "sending", "awaiting_result"}:
            flags.append("outcome_pending")
        if (
            row["status"] == "completed"
            and row["posted_cents"] is not None
            and row["posted_cents"] != row["amount_cents"]
        ):
            flags.append("amount_mismatch")
        b2c.append(
            {
                "disbursementId": str(row["disbursement_id"]),
                "loanId": str(row["loan_id"]),
                "status": row["status"],
                "amountCents": row["amount_cents"],
                "amountKES": format_cents(row["amount_cents"]),
                "chargeCents": row["charge_cents"],
                "mpesaReceipt": row["receipt"],
                "completedAt": _iso(row["completed_at"]),
                "ledgerPosting": None
                if row["posted_at"] is None
                else {
                    "kind": "disbursement",
                    "amountCents": row["posted_cents"],
                    "postedAt": _iso(row["posted_at"]),
                },
                "flags": flags,
            }
        )
    conflict_views = [_conflict_view(row) for row in conflicts]
    conflicting = {row["receipt"] for row in conflicts}
    c2b = []
    for row in payments:
        flags = ["conflicting_repeat"] if row["receipt"] in conflicting else []
        if row["posted_at"] is None:
            flags.append(
                "unallocated_no_ledger_event"
                if row["target"] == "unallocated"
                else "missing_ledger_posting"
            )
        elif (
            row["posted_cents"] is not None
            and row["posted_kind"] == "repayment"
            and row["posted_cents"] != row["amount_cents"]
        ):
            flags.append("amount_mismatch")
        c2b.append(
            {
                "mpesaReceipt": row["receipt"],
                "amountCents": row["amount_cents"],
                "amountKES": format_cents(row["amount_cents"]),
                "accountReference": row["account_reference"],
                "target": row["target"],
                "loanId": str(row["loan_id"]) if row["loan_id"] else None,
                "clientId": str(row["client_id"]) if row["client_id"] else None,
                "channel": row["channel"],
                "paidAt": _iso(row["paid_at"]),
                "ledgerPosting": None
                if row["posted_at"] is None
                else {
                    "kind": row["posted_kind"],
                    "amountCents": row["posted_cents"],
                    "postedAt": _iso(row["posted_at"]),
                },
                "flags": flags,
            }
        )
    missing_here = [
        {
            "kind": row["kind"],
            "mpesaReceipt": row["receipt"],
            "loanId": str(row["loan_id"]) if row["loan_id"] else None,
            "amountCents": row["amount_cents"],
            "postedAt": _iso(row["occurred_at"]),
            "flags": ["missing_rail_record"],
        }
        for row in ledger_only
    ]
    return {
        "date": day.isoformat(),
        "timezone": "EAT (UTC+3)",
        "b2c": b2c,
        "c2b": c2b,
        "ledgerOnly": missing_here,
        "conflicts": conflict_views,
        "summary": {
            "b2cCount": len(b2c),
            "b2cCompletedCents": sum(r["amountCents"] for r in b2c if r["status"] == "completed"),
            "c2bCount": len(c2b),
            "c2bReceivedCents": sum(r["amountCents"] for r in c2b),
            "flagged": sum(1 for r in [*b2c, *c2b] if r["flags"]) + len(missing_here),
            "conflicts": len(conflict_views),
        },
    }
