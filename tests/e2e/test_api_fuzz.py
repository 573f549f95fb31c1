"""Schemathesis over every operation of every service's OpenAPI document, through the front door.

The documents are fetched where a staff frontend would fetch them (``/api/<service>/openapi.json``
behind Caddy) and every operation gets a bounded number of generated requests, valid and invalid,
as the seeded super admin. A test fails on any 5xx, and on any answer the document does not
describe: an undeclared status, another content type, or a body that breaks the declared schema.
Generation is derandomized, so a failure comes back on the next run exactly as it was.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    ignored_auth,
    response_schema_conformance,
    status_code_conformance,
)

from hazina_devstack.testing import RunningSystem

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def system(system_of_its_own: RunningSystem) -> RunningSystem:
    """A system of this module's own: fuzzed sign-ins lock 127.0.0.1 out, and fuzzed
    requests change records and settings every other test would see."""
    return system_of_its_own


SERVICES = ["identity", "origination", "ledger", "payments", "ussd"]

# Generated requests per operation (valid and invalid together). Small enough that the five
# services' ~100 operations take a minute or two on a 2-core machine.
EXAMPLES_PER_OPERATION = 20
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    ignored_auth,  # an operation that declares a token must refuse a request without one
]
# Signing out and changing one's password act on the caller: they run as a staff member of
# their own so the super admin's session, which every other operation uses, stays valid.
SELF_SERVICE = {"/api/auth/logout", "/api/auth/change-password"}
FUZZ_SETTINGS = settings(
    max_examples=EXAMPLES_PER_OPERATION,
    derandomize=True,
    database=None,
    deadline=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)


@dataclass(frozen=True)
class Caller:
    """Whom the generated requests are sent as (kept out of reprs: failures are printed)."""

    admin: dict[str, str] = field(repr=False)
    officer: dict[str, str] = field(repr=False)
    callback_token: str = field(repr=False)


def _login(client: httpx.Client, username: str, password: str) -> dict[str, str]:
    response = client.post("/api/auth/login", json={"username": username, "password": password})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['token']}"}


@pytest.fixture(scope="module")
def caller(system) -> Caller:  # type: ignore[no-untyped-def]
    """Sessions taken before any operation is fuzzed (fuzzed sign-ins soon lock 127.0.0.1 out)."""
    with httpx.Client(base_url=system.url, timeout=30) as client:
        admin = _login(client, system.admin_username, system.admin_password)
        username, password = f"fuzz{uuid.uuid4().hex[:8]}", "Fuzz-Officer-Pass-1"
        created = client.post(
            "/api/users",
            json={
                "username": username,
                "password": password,
                "role": "loan_officer",
                "regions": ["Nairobi"],
            },
            headers=admin,
        )
        assert created.status_code == 201, created.text
        officer = _login(client, username, password)
    token = (system.state_dir / "mpesa-callback-token").read_text().strip()
    return Caller(admin=admin, officer=officer, callback_token=token)


def _fuzz(operation: Any, caller: Caller) -> str | None:
    """Run one operation's generated requests; the first failure found, described, or None."""
    # Daraja's callbacks end in the shared token: a generated one is only ever refused (403);
    # with the real one the generated bodies reach the callback handling itself.
    fixed = {"token": caller.callback_token} if "{token}" in operation.path else None
    cases = st.one_of(
        operation.as_strategy(GenerationMode.POSITIVE, path_parameters=fixed),
        operation.as_strategy(GenerationMode.NEGATIVE, path_parameters=fixed),
    )
    headers = caller.officer if operation.path in SELF_SERVICE else caller.admin

    @FUZZ_SETTINGS
    @given(case=cases)
    def answers_as_documented(case: Any) -> None:
        case.call_and_validate(headers=headers, checks=CHECKS, timeout=30)

    try:
        answers_as_documented()
    except (Exception, BaseExceptionGroup) as failure:  # schemathesis groups distinct failures
        return f"{operation.method.upper()} {operation.path}\n{failure}"
    return None


@pytest.mark.parametrize("service", SERVICES)
def test_every_operation_answers_as_documented(system, caller: Caller, service: str) -> None:  # type: ignore[no-untyped-def]
    document = schemathesis.openapi.from_url(f"{system.url}/api/{service}/openapi.json")
    operations = [result.ok() for result in document.get_all_operations()]
    assert operations, f"{service} documents no operation"
    failures = [found for op in operations if (found := _fuzz(op, caller)) is not None]
    if failures:
        # The services' own account of their 500s (the log masks personal data and tokens).
        errors = [line[-2000:] for line in system.output if "unhandled_error" in line][-5:]
        pytest.fail(
            f"{len(failures)} of {len(operations)} {service} operations:\n\n"
            + "\n\n".join(failures)
            + ("\n\nThe services logged:\n" + "".join(errors) if errors else ""),
            pytrace=False,
        )
