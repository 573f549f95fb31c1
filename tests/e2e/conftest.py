"""The whole system started exactly as ``make run`` starts it: separate processes behind Caddy.

Starting one is the slow part of these tests, so modules whose tests make their own staff,
clients and loans share one (``system``); a module whose tests change what the whole system does
for everyone (signing-in locked out for 127.0.0.1, say) starts its own (``system_of_its_own``).
Every system has a NATS server of its own, so no other test's stream clean-up reaches it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from hazina_devstack.testing import (
    ADMIN_PASSWORD,
    RunningSystem,
    SystemStartError,
    started_system_alone,
)

__all__ = ["ADMIN_PASSWORD", "RunningSystem"]


def _started(pg_server_url: str, state_dir: Path) -> Iterator[RunningSystem]:
    try:
        with started_system_alone(pg_server_url, state_dir) as running:
            yield running
    except SystemStartError as exc:
        pytest.fail(str(exc))


@pytest.fixture(scope="session")
def system(pg_server_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSystem]:
    """One system for every module that asks for it: their tests must not depend on each
    other's records (each makes its own staff, clients, phones and products) nor change what
    the system does for everyone."""
    yield from _started(pg_server_url, tmp_path_factory.mktemp("devstack"))


@pytest.fixture(scope="module")
def system_of_its_own(
    pg_server_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningSystem]:
    """A system for one module alone, stopped when the module is done."""
    yield from _started(pg_server_url, tmp_path_factory.mktemp("devstack-alone"))
