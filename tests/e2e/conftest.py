"""The whole system started exactly as ``make run`` starts it: separate processes behind Caddy."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from hazina_devstack.testing import ADMIN_PASSWORD, RunningSystem, SystemStartError, started_system

__all__ = ["ADMIN_PASSWORD", "RunningSystem"]


@pytest.fixture(scope="module")
def system(
    pg_server_url: str, nats_server_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningSystem]:
    try:
        with started_system(
            pg_server_url, nats_server_url, tmp_path_factory.mktemp("devstack")
        ) as running:
            yield running
    except SystemStartError as exc:
        pytest.fail(str(exc))
