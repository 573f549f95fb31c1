"""``hazina-ledger replay | verify | balance``: the audit tools operators run."""

from __future__ import annotations

import datetime as dt
import gc
import os
import subprocess
import sys
import uuid
from typing import Any

import pytest

from hazina_ledger.application.commands import PostRepayment
from hazina_ledger.cli import run_cli


def populate(container: Any, h: Any) -> Any:
    loan_id, _ = h.open_loan(container)
    for k, (amount, day) in enumerate([(500_000, 31), (600_000, 63), (3_000_000, 200)]):
        container.ledger.post_repayment(
            PostRepayment(
                loan_id=loan_id,
                receipt=f"CLI{k}",
                amount_cents=amount,
                method="mpesa",
                paid_at=dt.datetime(2025, 1, 1, 12, tzinfo=dt.UTC) + dt.timedelta(days=day),
            )
        )
    container.projection.catch_up()
    return loan_id


def cli(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": database_url, "LOG_LEVEL": "WARNING"}
    return subprocess.run(
        [sys.executable, "-m", "hazina_ledger", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_replay_rebuilds_audits_and_compares_with_the_live_tables(
    container: Any, h: Any, database_url: str
) -> None:
    populate(container, h)
    done = cli(database_url, "replay")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "replay: OK" in done.stdout
    for check in (
        "trial_balance_is_zero",
        "every_entry_balances",
        "loan_outstanding_equals_schedule_minus_allocations",
        "rebuilt_equals_live",
    ):
        assert f"ok   {check}" in done.stdout
    assert "ev/s" in done.stderr and "ETA" in done.stderr  # the progress bar


@pytest.mark.parametrize("page_size", [10_000, 3])
def test_replay_of_every_kind_of_event_matches_the_live_tables(
    container: Any, h: Any, page_size: int
) -> None:
    from hazina_ledger.application.commands import (
        AssignReceipt,
        DecideWithdrawal,
        DepositSavings,
        RequestWithdrawal,
        ReverseReceipt,
        WriteOffLoan,
    )
    from hazina_ledger.cli import replay

    loan_id = populate(container, h)
    other, client_id = h.open_loan(container)
    at = dt.datetime(2025, 2, 3, 12, tzinfo=dt.UTC)
    ledger = container.ledger
    for k in range(3):
        ledger.deposit_savings(
            DepositSavings(
                client_id=client_id,
                receipt=f"SAVE{k}",
                amount_cents=10_000 * (k + 1),
                method="cash",
                paid_at=at,
                notes=f"week {k}",
            )
        )
    maker, checker = uuid.uuid4(), uuid.uuid4()
    wid = ledger.request_withdrawal(
        RequestWithdrawal(
            client_id=client_id, amount_cents=5_000, method="cash", requested_by=maker
        )
    )
    ledger.decide_withdrawal(
        DecideWithdrawal(client_id=client_id, withdrawal_id=wid, approve=True, decided_by=checker)
    )
    ledger.reverse_receipt(
        ReverseReceipt(receipt="SAVE0", reason="wrong client", reversed_by=checker)
    )
    h.deliver(container, h.payment_received("LOST1", 70_000, target="unallocated", reference="x"))
    ledger.assign_receipt(
        AssignReceipt(receipt="LOST1", target="loan", target_id=other, assigned_by=checker)
    )
    h.deliver(container, h.payment_received("DUPX", 1_000, loan_id=other))
    h.deliver(container, h.payment_received("DUPX", 2_000, loan_id=other))  # a flagged conflict
    ledger.reverse_receipt(ReverseReceipt(receipt="CLI0", reason="bounced", reversed_by=checker))
    ledger.assess_arrears([other], dt.date(2025, 6, 1))
    ledger.write_off_loan(WriteOffLoan(loan_id=other, reason="absconded", written_off_by=checker))
    ledger.post_repayment(
        PostRepayment(
            loan_id=other, receipt="RECOV1", amount_cents=5_000, method="cash", paid_at=at
        )
    )
    # Payouts that were not the approved principal: one accepted (then repaid on), one marked
    # for recovery, one still held.
    from hazina_ledger.application.commands import ResolveHeldDisbursement

    for k, decision in enumerate(("accept", "recover", None)):
        held_loan, held_client = uuid.uuid4(), uuid.uuid4()
        h.deliver(container, h.loan_approved(held_loan, held_client, 1_000_000))
        payout = h.disbursement_completed(held_loan, 1_250_000)
        h.deliver(container, payout)
        if decision:
            ledger.resolve_held_disbursement(
                ResolveHeldDisbursement(
                    loan_id=held_loan,
                    disbursement_id=payout.disbursement_id,
                    decision=decision,
                    reason="checked with the borrower",
                    decided_by=checker,
                )
            )
        if decision == "accept":
            h.deliver(container, h.payment_received(f"HELD{k}", 300_000, loan_id=held_loan))
    container.projection.catch_up()
    collector = gc.get_threshold()
    report = replay(container, quiet=True, page_size=page_size)
    assert report.ok, report.details
    # the rebuild's rare cycle collections end with it
    assert gc.get_threshold() == collector and gc.get_freeze_count() == 0
    assert report.checks["held_disbursements_equal_their_suspense"] == 0
    assert container.views.loan(loan_id)["status"] != container.views.loan(other)["status"]
    assert sorted(r["status"] for r in container.views.disbursement_mismatches(None)) == [
        "accepted",
        "held",
        "recovery",
    ]


def test_replay_exits_non_zero_when_a_live_balance_was_tampered_with(
    container: Any, h: Any, database_url: str
) -> None:
    loan_id = populate(container, h)
    with container.pool.connection() as conn:
        conn.execute(
            "UPDATE loan_accounts SET outstanding_cents = outstanding_cents + 1 WHERE loan_id = %s",
            (loan_id,),
        )
        conn.execute(
            "UPDATE account_balances SET debit_cents = debit_cents + 7 WHERE account_id = '1020'"
        )
    done = cli(database_url, "replay")
    assert done.returncode == 1
    assert "FAIL rebuilt_equals_live" in done.stdout
    assert "loan_accounts: 2 rows differ" in done.stdout
    assert "account_balances: 2 rows differ" in done.stdout  # the tampered row and its rebuilt twin


def test_verify_finds_a_drifted_running_total_without_rebuilding(
    container: Any,
    h: Any,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    database_url: str,
) -> None:
    populate(container, h)
    monkeypatch.setenv("DATABASE_URL", database_url)
    assert run_cli(["verify"]) == 0
    assert "verify: OK" in capsys.readouterr().out
    with container.pool.connection() as conn:
        conn.execute(
            "UPDATE account_balances SET credit_cents = credit_cents + 5 WHERE account_id = '4000'"
        )
    assert run_cli(["verify"]) == 1
    out = capsys.readouterr().out
    assert "FAIL trial_balance_is_zero" in out
    assert "FAIL running_totals_equal_postings" in out


def test_balance_as_of_a_past_date_or_position(
    container: Any,
    h: Any,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    database_url: str,
) -> None:
    populate(container, h)
    monkeypatch.setenv("DATABASE_URL", database_url)
    assert run_cli(["balance", "--as-of", "2025-02-15", "--account", "1020"]) == 0
    assert "net 500000 cents" in capsys.readouterr().out
    assert run_cli(["balance", "--as-of", "2025-03-15"]) == 0
    out = capsys.readouterr().out
    assert "Trial balance as of 2025-03-15" in out and "  balanced" in out
    assert run_cli(["balance", "--position", "1"]) == 0
    assert "at event 1" in capsys.readouterr().out


def test_make_replay_and_verify_reach_the_system_make_run_started(
    container: Any, h: Any, database_url: str, tmp_path: Any
) -> None:
    """``make replay`` / ``make verify`` run the CLI through the devstack's record of the running
    system (written by ``make run``), with no variables set; without one they say so."""
    from hazina_devstack import running

    populate(container, h)
    running.record(
        tmp_path,
        running.RunningStack(
            pid=os.getpid(),  # alive for as long as this test runs, as make run would be
            database_url=database_url,
            nats_url="nats://127.0.0.1:4222",
            url="http://localhost:8000",
        ),
    )
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "NATS_URL")}
    env.update(HAZINA_STATE_DIR=str(tmp_path), LOG_LEVEL="WARNING")

    devstack = [sys.executable, "-m", "hazina_devstack", "with-running", "--"]

    def operator(command: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*devstack, sys.executable, "-m", "hazina_ledger", command],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    for command in ("verify", "replay"):
        done = operator(command)
        assert done.returncode == 0, done.stdout + done.stderr
        assert f"{command}: OK" in done.stdout
    verified = operator("verify").stdout
    assert "ok   loan_outstanding_equals_schedule_minus_allocations" in verified

    running.forget(tmp_path, os.getpid())  # make run stopped
    stopped = operator("verify")
    assert stopped.returncode == 1 and "verify:" not in stopped.stdout
    assert "No Hazina system is running" in stopped.stderr
