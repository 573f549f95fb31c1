# ruff: noqa: ARG005 - every setup takes (desk, officer), whether it needs both or not
"""The role x route x ownership matrix of the payments gateway, checked against every route it serves.

The gateway runs without its workers here (no dispatcher, no consumers): records are made by
calling the consumers' handlers as the durable consumers do, and the rails are never asked.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest
from payments_factories import disbursement_requested, loan_initiated
from payments_harness import CALLBACK_TOKEN, Gateway, envelope

from hazina_payments_gateway.adapters import subscriptions
from hazina_payments_gateway.api.routes.callbacks import CALLBACKS
from hazina_payments_gateway.application.ports import ATTENTION, Accepted
from hazina_payments_gateway.application.records import B2CResult
from hazina_payments_gateway.bootstrap import build_app
from hazina_servicekit.matrix_rows import open_rows, parking_rows
from hazina_servicekit.ownership import record_ownership
from hazina_servicekit.promises import MatrixCaller, RoleMatrixPromise
from hazina_servicekit.testing import (
    PUBLIC,
    Access,
    Call,
)

ALL_STAFF = frozenset({"super_admin", "initiator_admin", "approver_admin", "loan_officer"})
DISBURSERS = frozenset({"super_admin", "approver_admin"})
FINANCE = frozenset({"super_admin", "initiator_admin", "approver_admin"})
STATEMENT_WITH_NO_ROWS = "Receipt No.,Completion Time,Details,Transaction Status,Paid In\n"


class Desk:
    """Disbursements of loans owned by a loan officer, made as origination's events would make them."""

    def __init__(self, gateway: Gateway) -> None:
        self.gateway = gateway
        self.container = gateway.container

    def _deliver(self, handler: Callable[..., None], event: Any) -> None:
        with self.container.pool.connection() as conn, conn.transaction():
            handler(envelope(event), conn)

    def disbursement(self, officer: uuid.UUID) -> uuid.UUID:
        loan, client = uuid.uuid4(), uuid.uuid4()
        account = f"LN{loan.hex[:6].upper()}"
        self._deliver(
            record_ownership,
            loan_initiated(
                loan_id=loan, client_id=client, loan_officer_id=officer, account_number=account
            ),
        )
        requested = disbursement_requested(loan_id=loan, client_id=client, account_number=account)
        self._deliver(subscriptions.disbursement_handler(self.container.app), requested)
        return requested.disbursement_id

    def failed(self, officer: uuid.UUID) -> uuid.UUID:
        """A disbursement whose B2C came back refused for a reason worth retrying."""
        app = self.container.app
        disbursement_id = self.disbursement(officer)
        order = app.begin_send(disbursement_id)
        assert order is not None
        app.record_send_result(disbursement_id, order.ocid, Accepted(conversation_id="AG_TEST"))
        self.container.projection.catch_up()
        outcome = app.apply_b2c_result(
            B2CResult(
                ocid=order.ocid,
                conversation_id="AG_TEST",
                result_code="1",
                description="The balance is insufficient for the transaction.",
                receipt=None,
                amount_cents=None,
                recipient_name=None,
                completed_at=None,
            )
        )
        assert outcome == "applied"
        return disbursement_id

    def stored_callback(self) -> int:
        """A callback awaiting staff: one the inbox could not use, stored and processed."""
        marker = uuid.uuid4().hex
        response = self.gateway.callback("balance/result", {"marker": marker})
        assert response.status_code == 200, response.text
        self.container.inbox.process_pending()
        with self.container.pool.connection() as conn:
            row = conn.execute(
                "SELECT id, status FROM callback_inbox WHERE convert_from(body, 'UTF8') LIKE %s",
                (f"%{marker}%",),
            ).fetchone()
        assert row is not None and row[1] in ATTENTION, row
        return int(row[0])


Setup = Callable[[Desk, uuid.UUID], Call]

MATRIX: dict[str, tuple[Access, Setup]] = {
    "GET /api/payments/disbursements": (
        Access(ALL_STAFF, scope="list"),
        lambda d, o: Call("GET", "/api/payments/disbursements", shows=str(d.disbursement(o))),
    ),
    "GET /api/payments/disbursements/{disbursement_id}": (
        Access(ALL_STAFF, scope="record"),
        lambda d, o: Call("GET", f"/api/payments/disbursements/{d.disbursement(o)}"),
    ),
    "POST /api/payments/disbursements/{disbursement_id}/retry": (
        Access(DISBURSERS),
        lambda d, o: Call("POST", f"/api/payments/disbursements/{d.failed(o)}/retry"),
    ),
    "GET /api/payments/reconciliation": (
        Access(FINANCE),
        lambda d, o: Call("GET", "/api/payments/reconciliation"),
    ),
    "POST /api/payments/reconciliation/pull": (
        Access(FINANCE),
        lambda d, o: Call("POST", "/api/payments/reconciliation/pull", {"json": {}}),
    ),
    "POST /api/payments/reconciliation/statement": (
        Access(FINANCE),
        lambda d, o: Call(
            "POST", "/api/payments/reconciliation/statement", {"content": STATEMENT_WITH_NO_ROWS}
        ),
    ),
    # Stored callbacks: raw money messages of every officer's borrowers.
    "GET /api/payments/inbox": (
        Access(FINANCE),
        lambda d, o: (d.stored_callback(), Call("GET", "/api/payments/inbox"))[1],
    ),
    "GET /api/payments/inbox/{row_id}": (
        Access(FINANCE),
        lambda d, o: Call("GET", f"/api/payments/inbox/{d.stored_callback()}"),
    ),
    "POST /api/payments/inbox/{row_id}/retry": (
        Access(FINANCE),
        lambda d, o: Call(
            "POST", f"/api/payments/inbox/{d.stored_callback()}/retry", {"json": {"reason": "look"}}
        ),
    ),
    "POST /api/payments/inbox/{row_id}/dismiss": (
        Access(FINANCE),
        lambda d, o: Call(
            "POST",
            f"/api/payments/inbox/{d.stored_callback()}/dismiss",
            {"json": {"reason": "seen"}},
        ),
    ),
    # Daraja's callbacks carry the shared secret in the path, not a staff token.
    **{
        f"POST /api/{prefix}/{path}/{{token}}": (
            PUBLIC,
            lambda d, o, prefix=prefix, path=path: Call(
                "POST", f"/api/{prefix}/{path}/{CALLBACK_TOKEN}", {"json": {}}
            ),
        )
        for prefix in ("pay", "mpesa")
        for path, _ in CALLBACKS
    },
    **parking_rows(
        "payments", read=Access(FINANCE), act=Access(DISBURSERS), lot=lambda d: d.container.parking
    ),
    **open_rows("payments"),
}


@pytest.fixture
def desk(start_gateway: Callable[..., Gateway]) -> Desk:
    return Desk(start_gateway(HAZINA_RUN_WORKERS=False))


class TestRoleMatrix(RoleMatrixPromise):
    matrix = MATRIX

    @pytest.fixture
    def served_app(self, desk: Desk) -> Any:
        return build_app(desk.container, verifier=desk.gateway.staff.verifier())  # as one serving

    @pytest.fixture
    def matrix_caller(self, desk: Desk) -> MatrixCaller:
        tokens = desk.gateway.staff

        def headers(role: str, officer: uuid.UUID | None) -> dict[str, str]:
            return tokens.headers(role, officer)

        return MatrixCaller(
            desk.gateway.http, desk, officers=(uuid.uuid4(), uuid.uuid4()), headers=headers
        )
