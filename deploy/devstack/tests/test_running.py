"""Operators' commands find the system ``make run`` started: its record, or an explicit
DATABASE_URL, and a clear refusal when there is neither."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from hazina_devstack import running
from hazina_devstack.stack import REPO_ROOT

DB = "postgresql://postgres:@/hazina?host=/tmp/hazina-sockets"
NATS = "nats://127.0.0.1:4333"


def stack_record(pid: int) -> running.RunningStack:
    return running.RunningStack(
        pid=pid, database_url=DB, nats_url=NATS, url="http://localhost:8000"
    )


def gone_pid() -> int:
    """The id of a process that has exited (and been reaped)."""
    finished = subprocess.Popen([sys.executable, "-c", "pass"])
    finished.wait()
    return finished.pid


def devstack(state_dir: Path, *args: str, **extra: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "NATS_URL")}
    return subprocess.run(
        [sys.executable, "-m", "hazina_devstack", *args],
        env={**env, "HAZINA_STATE_DIR": str(state_dir), **extra},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_the_record_of_a_running_system_gives_its_urls(tmp_path: Path) -> None:
    path = running.record(tmp_path, stack_record(os.getpid()))
    assert path == tmp_path / "stack.json"
    assert path.stat().st_mode & 0o777 == 0o600
    assert running.find(tmp_path) == stack_record(os.getpid())
    assert running.environment_for(tmp_path, {}) == {
        "DATABASE_URL": DB,
        "NATS_URL": NATS,
        "HAZINA_URL": "http://localhost:8000",
    }


def test_an_explicit_database_url_wins(tmp_path: Path) -> None:
    running.record(tmp_path, stack_record(os.getpid()))
    given = "postgresql://ops@db.internal:5432/hazina"
    assert running.environment_for(tmp_path, {"DATABASE_URL": given}) == {"DATABASE_URL": given}
    assert running.environment_for(tmp_path / "empty", {"DATABASE_URL": given}) == {
        "DATABASE_URL": given
    }


def test_no_system_and_a_stopped_one_are_refused_clearly(tmp_path: Path) -> None:
    with pytest.raises(running.NotRunningError, match="No Hazina system is running: start it"):
        running.environment_for(tmp_path, {})
    running.record(tmp_path, stack_record(gone_pid()))  # killed without cleaning up
    assert running.find(tmp_path) is None
    with pytest.raises(running.NotRunningError, match="the record of one that stopped"):
        running.environment_for(tmp_path, {})
    (tmp_path / "stack.json").write_text("{not json")
    assert running.find(tmp_path) is None


def test_forget_removes_only_its_own_record(tmp_path: Path) -> None:
    running.record(tmp_path, stack_record(os.getpid()))
    running.forget(tmp_path, os.getpid() + 1)  # an older run stopping late
    assert running.find(tmp_path) is not None
    running.forget(tmp_path, os.getpid())
    assert not (tmp_path / "stack.json").exists()
    running.forget(tmp_path, os.getpid())  # nothing to remove: fine


def test_env_and_with_running_on_the_command_line(tmp_path: Path) -> None:
    refused = devstack(tmp_path, "with-running", "--", sys.executable, "-c", "print('ran')")
    assert refused.returncode == 1 and "ran" not in refused.stdout
    assert "No Hazina system is running" in refused.stderr and "make run" in refused.stderr
    assert devstack(tmp_path, "env").returncode == 1

    running.record(tmp_path, stack_record(os.getpid()))
    printed = devstack(tmp_path, "env")
    assert printed.returncode == 0
    assert f"DATABASE_URL={DB}\n" in printed.stdout and f"NATS_URL={NATS}\n" in printed.stdout
    show = "import os, sys; print(os.environ['DATABASE_URL']); sys.exit(3)"
    ran = devstack(tmp_path, "with-running", "--", sys.executable, "-c", show)
    assert (ran.returncode, ran.stdout.strip()) == (3, DB)  # the command's own exit code
    given = devstack(
        tmp_path / "none", "with-running", "--", sys.executable, "-c", show, DATABASE_URL="x://y"
    )
    assert given.stdout.strip() == "x://y"


def test_make_replay_and_verify_run_the_ledger_cli_through_it() -> None:
    planned = subprocess.run(
        ["make", "-n", "replay", "verify"],  # print the recipes, run nothing
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    assert "-m hazina_devstack with-running -- .venv/bin/hazina-ledger replay" in planned
    assert "-m hazina_devstack with-running -- .venv/bin/hazina-ledger verify" in planned
