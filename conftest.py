"""How ``make test`` shares its tests between pytest-xdist workers (``-n 2 --dist loadscope``),
and the Hypothesis settings every property test runs under.

A work unit is one test module, as ``loadscope`` makes it, except that a package of end-to-end
tests sharing one system (``tests/e2e/dhamira``, whose ``conftest.py`` starts it once for the
package) is one unit: split between workers, each would start that system again.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, settings

# Property tests judge results, never time: a busy machine (CI, two xdist workers, PostgreSQL
# and NATS beside them) once took 259 ms over an example Hypothesis allows 200 ms by default.
settings.register_profile("hazina", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("hazina")

# Packages whose tests share a package-scoped system: one worker runs the whole package.
ONE_WORKER_PACKAGES = ("tests/e2e/dhamira/",)


def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    if config.getoption("dist") != "loadscope":
        return None  # xdist's own scheduler for the other modes
    from xdist.scheduler import LoadScopeScheduling

    class PackageScopeScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            for package in ONE_WORKER_PACKAGES:
                if nodeid.startswith(package):
                    return package
            return str(super()._split_scope(nodeid))

    return PackageScopeScheduling(config, log)
