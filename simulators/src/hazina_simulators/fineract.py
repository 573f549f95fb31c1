"""An Apache Fineract / Mifos X 1.x simulator: only what the gateway calls, with Fineract's habits —
HTTP Basic plus the ``Fineract-Platform-TenantId`` header on every request, 400 for any field a
command does not whitelist, dates answered as ``[yyyy, m, d]`` arrays, loans in real status codes
(100 -> 200 -> 300 -> 600/700), a unique loan-transaction ``externalId`` (403 on a repeat), and
``Idempotency-Key`` replays marked ``x-served-from-cache: true``.
"""

from __future__ import annotations

import base64
import secrets
import threading
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

BASE = "/fineract-provider/api/v1"

STATUS = {
    100: ("loanStatusType.submitted.and.pending.approval", "Submitted and pending approval"),
    200: ("loanStatusType.approved", "Approved"),
    300: ("loanStatusType.active", "Active"),
    600: ("loanStatusType.closed.obligations.met", "Closed (obligations met)"),
    700: ("loanStatusType.overpaid", "Overpaid"),
}
APPROVE_FIELDS = {
    "approvedOnDate",
    "approvedLoanAmount",
    "expectedDisbursementDate",
    "netDisbursalAmount",
    "disbursementData",
    "note",
    "locale",
    "dateFormat",
    "loanId",
}
DISBURSE_FIELDS = {
    "actualDisbursementDate",
    "transactionAmount",
    "externalId",
    "note",
    "paymentTypeId",
    "accountNumber",
    "checkNumber",
    "routingCode",
    "receiptNumber",
    "bankNumber",
    "adjustRepaymentDate",
    "fixedEmiAmount",
    "netDisbursalAmount",
    "postDatedChecks",
    "locale",
    "dateFormat",
}
REPAYMENT_FIELDS = {
    "transactionDate",
    "transactionAmount",
    "externalId",
    "note",
    "locale",
    "dateFormat",
    "paymentTypeId",
    "accountNumber",
    "checkNumber",
    "routingCode",
    "receiptNumber",
    "bankNumber",
    "loanId",
}
DEPOSIT_FIELDS = {
    "transactionDate",
    "transactionAmount",
    "paymentTypeId",
    "accountNumber",
    "checkNumber",
    "routingCode",
    "receiptNumber",
    "bankNumber",
    "note",
    "locale",
    "dateFormat",
}


class FineractConfig(BaseModel):
    username: str = "mifos"
    password: str = "password"
    tenant: str = "default"


def _error(status: int, code: str, message: str, *, parameter: str | None = None) -> JSONResponse:
    error: dict[str, object] = {
        "developerMessage": message,
        "defaultUserMessage": message,
        "userMessageGlobalisationCode": code,
        "parameterName": parameter,
        "value": None,
        "args": [],
    }
    return JSONResponse(
        {
            "developerMessage": message,
            "httpStatusCode": str(status),
            "defaultUserMessage": message,
            "userMessageGlobalisationCode": code,
            "errors": [error] if parameter else [],
        },
        status_code=status,
    )


def _day(value: date) -> list[int]:
    return [value.year, value.month, value.day]


class FineractState:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        self.products: dict[int, dict[str, Any]] = {
            1: {
                "id": 1,
                "name": "Biashara Loan",
                "shortName": "BL",
                "currency": {"code": "KES", "decimalPlaces": 2},
                "principal": 20000.0,
                "minPrincipal": 1000.0,
                "maxPrincipal": 500000.0,
                "numberOfRepayments": 6,
                "minNumberOfRepayments": 1,
                "maxNumberOfRepayments": 24,
                "interestRatePerPeriod": 4.5,
            },
        }
        self.clients: dict[int, dict[str, Any]] = {
            1: {
                "id": 1,
                "accountNo": "000000001",
                "externalId": None,
                "status": {"id": 300, "code": "clientStatusType.active", "value": "Active"},
                "active": True,
                "firstname": "Jane",
                "lastname": "Wanjiku",
                "displayName": "Jane Wanjiku",
                "mobileNo": "0712345678",
                "officeId": 1,
                "officeName": "Head Office",
            },
        }
        self.loans: dict[int, dict[str, Any]] = {}
        self.savings: dict[int, dict[str, Any]] = {
            1: {"id": 1, "clientId": 1, "status": 300, "balance": Decimal(0), "transactions": []}
        }
        self.external_ids: set[str] = set()
        self.idempotent: dict[str, tuple[int, Any]] = {}
        self.next_txn = 1
        self.add_loan(client_id=1, principal=Decimal(20000), status=100)
        self.add_loan(client_id=1, principal=Decimal(5000), status=200)

    def add_loan(
        self, *, client_id: int, principal: Decimal, status: int, product_id: int = 1
    ) -> dict[str, Any]:
        loan_id = len(self.loans) + 1
        loan = {
            "id": loan_id,
            "accountNo": f"{loan_id:09d}",
            "externalId": None,
            "clientId": client_id,
            "loanProductId": product_id,
            "principal": principal,
            "approvedPrincipal": principal if status >= 200 else None,
            "status": status,
            "submittedOnDate": date.today(),
            "approvedOnDate": date.today() if status >= 200 else None,
            "actualDisbursementDate": None,
            "transactions": [],
            "outstanding": Decimal(0),
        }
        self.loans[loan_id] = loan
        return loan

    def view(self, loan: dict[str, Any], *, with_transactions: bool) -> dict[str, Any]:
        code, value = STATUS[loan["status"]]
        client = self.clients.get(loan["clientId"], {})
        body: dict[str, Any] = {
            "id": loan["id"],
            "accountNo": loan["accountNo"],
            "externalId": loan["externalId"],
            "status": {
                "id": loan["status"],
                "code": code,
                "value": value,
                "pendingApproval": loan["status"] == 100,
                "waitingForDisbursal": loan["status"] == 200,
                "active": loan["status"] == 300,
                "closedObligationsMet": loan["status"] == 600,
                "closed": loan["status"] >= 600,
                "overpaid": loan["status"] == 700,
            },
            "clientId": loan["clientId"],
            "clientName": client.get("displayName"),
            "loanProductId": loan["loanProductId"],
            "loanProductName": self.products[loan["loanProductId"]]["name"],
            "currency": {"code": "KES", "decimalPlaces": 2},
            "principal": float(loan["principal"]),
            "approvedPrincipal": float(loan["approvedPrincipal"])
            if loan["approvedPrincipal"] is not None
            else None,
            "timeline": {
                k: _day(loan[k])
                for k in ("submittedOnDate", "approvedOnDate", "actualDisbursementDate")
                if loan[k]
            },
            "summary": {
                "principalDisbursed": float(loan["principal"]) if loan["status"] >= 300 else 0.0,
                "totalOutstanding": float(loan["outstanding"]),
            },
        }
        if with_transactions:
            body["transactions"] = [
                {**t, "date": _day(t["date"]), "amount": float(t["amount"])}
                for t in loan["transactions"]
            ]
        return body


class _ProblemError(Exception):
    def __init__(self, response: JSONResponse) -> None:
        self.response = response


def _amount(body: dict[str, Any], name: str) -> Decimal:
    try:
        value = Decimal(str(body[name]).replace(",", ""))
    except (KeyError, InvalidOperation):
        raise _ProblemError(
            _error(
                400,
                "validation.msg.validation.errors.exist",
                f"The parameter `{name}` is mandatory.",
                parameter=name,
            )
        ) from None
    if value <= 0:
        raise _ProblemError(
            _error(
                400,
                "validation.msg.validation.errors.exist",
                f"The parameter `{name}` must be greater than 0.",
                parameter=name,
            )
        )
    return value


def _date(body: dict[str, Any], name: str) -> date:
    fmt = (
        str(body.get("dateFormat") or "dd MMMM yyyy")
        .replace("yyyy", "%Y")
        .replace("MMMM", "%B")
        .replace("MM", "%m")
        .replace("dd", "%d")
    )
    if "locale" not in body:
        raise _ProblemError(
            _error(
                400,
                "validation.msg.validation.errors.exist",
                "The parameter `locale` is mandatory.",
                parameter="locale",
            )
        )
    try:
        return datetime.strptime(str(body[name]), fmt).date()
    except (KeyError, ValueError):
        raise _ProblemError(
            _error(
                400,
                "validation.msg.validation.errors.exist",
                f"The parameter `{name}` is invalid.",
                parameter=name,
            )
        ) from None


def _whitelist(body: dict[str, Any], allowed: set[str]) -> None:
    for name in body:
        if name not in allowed:
            raise _ProblemError(
                _error(
                    400,
                    "error.msg.parameter.unsupported",
                    f"The parameter {name} is not supported.",
                    parameter=name,
                )
            )


def create_app(config: FineractConfig | None = None) -> FastAPI:
    cfg = config or FineractConfig()
    state = FineractState()
    app = FastAPI(title="Fineract simulator")
    app.state.fineract = state

    @app.middleware("http")
    async def authenticate(request: Request, call_next: Any) -> Any:
        if not request.url.path.startswith(BASE):
            return await call_next(request)
        tenant = request.headers.get("fineract-platform-tenantid")
        if not tenant:
            return _error(
                400,
                "error.msg.tenant.identifier.missing",
                "No tenant identifier found: Add request header of 'fineract-platform-tenantid'",
            )
        if tenant != cfg.tenant:
            return _error(401, "error.msg.not.authenticated", "Invalid tenant identifier")
        if request.url.path != f"{BASE}/authentication":
            scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
            try:
                user, _, password = base64.b64decode(encoded).decode().partition(":")
            except Exception:
                user, password = "", ""
            if scheme.lower() != "basic" or (user, password) != (cfg.username, cfg.password):
                return _error(
                    401,
                    "error.msg.not.authenticated",
                    "Invalid authentication details were passed in api request.",
                )
        key = request.headers.get("idempotency-key")
        if key and request.method == "POST":
            cached = state.idempotent.get(f"{request.url.path}?{request.url.query}:{key}")
            if cached is not None:
                return JSONResponse(
                    cached[1], status_code=cached[0], headers={"x-served-from-cache": "true"}
                )
            response = await call_next(request)
            body = b"".join([chunk async for chunk in response.body_iterator])
            import json

            if response.status_code < 300:
                state.idempotent[f"{request.url.path}?{request.url.query}:{key}"] = (
                    response.status_code,
                    json.loads(body),
                )
            return JSONResponse(json.loads(body), status_code=response.status_code)
        return await call_next(request)

    @app.exception_handler(_ProblemError)
    async def problem(_: Request, exc: _ProblemError) -> JSONResponse:
        return exc.response

    @app.post(f"{BASE}/authentication")
    async def authentication(request: Request) -> JSONResponse:
        body = await request.json()
        if (body.get("username"), body.get("password")) != (cfg.username, cfg.password):
            return _error(
                401,
                "error.msg.not.authenticated",
                "Invalid authentication details were passed in api request.",
            )
        return JSONResponse(
            {
                "username": cfg.username,
                "userId": 1,
                "base64EncodedAuthenticationKey": base64.b64encode(
                    f"{cfg.username}:{cfg.password}".encode()
                ).decode(),
                "authenticated": True,
                "officeId": 1,
                "officeName": "Head Office",
                "roles": [{"id": 1, "name": "Super user"}],
                "permissions": ["ALL_FUNCTIONS"],
                "shouldRenewPassword": False,
                "isTwoFactorAuthenticationRequired": False,
            }
        )

    @app.get(f"{BASE}/loanproducts")
    async def products() -> list[dict[str, Any]]:
        return list(state.products.values())

    @app.get(f"{BASE}/loanproducts/{{product_id}}")
    async def product(product_id: int) -> JSONResponse:
        found = state.products.get(product_id)
        if found is None:
            return _error(
                404,
                "error.msg.loanproduct.id.invalid",
                f"Loan product with identifier {product_id} does not exist",
            )
        return JSONResponse(found)

    @app.get(f"{BASE}/clients/{{client_id}}")
    async def client(client_id: int) -> JSONResponse:
        found = state.clients.get(client_id)
        if found is None:
            return _error(
                404,
                "error.msg.client.id.invalid",
                f"Client with identifier {client_id} does not exist",
            )
        return JSONResponse(found)

    @app.get(f"{BASE}/loans")
    async def loans(request: Request) -> JSONResponse:
        params = request.query_params
        if "sqlSearch" in params:
            return _error(400, "error.msg.unknown.query.parameter", "sqlSearch is not supported")
        rows = list(state.loans.values())
        if status := params.get("status"):
            rows = [r for r in rows if r["status"] == int(status)]
        if account := params.get("accountNo"):
            rows = [r for r in rows if r["accountNo"] == account]
        offset, limit = int(params.get("offset", 0)), int(params.get("limit", 200))
        page = rows[offset : offset + limit]
        return JSONResponse(
            {
                "totalFilteredRecords": len(rows),
                "pageItems": [state.view(r, with_transactions=False) for r in page],
            }
        )

    def loan_or_404(loan_id: int) -> dict[str, Any]:
        loan = state.loans.get(loan_id)
        if loan is None:
            raise _ProblemError(
                _error(
                    404,
                    "error.msg.loan.id.invalid",
                    f"Loan with identifier {loan_id} does not exist",
                )
            )
        return loan

    @app.get(f"{BASE}/loans/{{loan_id}}")
    async def loan(loan_id: int, request: Request) -> JSONResponse:
        associations = request.query_params.get("associations", "all")
        return JSONResponse(
            state.view(
                loan_or_404(loan_id),
                with_transactions="transactions" in associations or associations == "all",
            )
        )

    @app.get(f"{BASE}/loans/{{loan_id}}/transactions/external-id/{{external_id}}")
    async def transaction_by_external_id(loan_id: int, external_id: str) -> JSONResponse:
        loan = loan_or_404(loan_id)
        for txn in loan["transactions"]:
            if txn.get("externalId") == external_id:
                return JSONResponse(
                    {**txn, "date": _day(txn["date"]), "amount": float(txn["amount"])}
                )
        return _error(
            404,
            "error.msg.loan.transaction.not.found",
            f"Transaction with external id {external_id} not found",
        )

    def add_transaction(
        loan: dict[str, Any], kind: str, body: dict[str, Any], amount: Decimal, on: date
    ) -> dict[str, Any]:
        external = body.get("externalId")
        if external and external in state.external_ids:
            raise _ProblemError(
                _error(
                    403,
                    "error.msg.loan.transaction.duplicate.externalId",
                    f"Loan transaction with external id {external} already exists",
                )
            )
        txn = {
            "id": state.next_txn,
            "externalId": external,
            "type": {"code": f"loanTransactionType.{kind}", "value": kind.title(), kind: True},
            "date": on,
            "amount": amount,
            "paymentDetailData": {
                "receiptNumber": body.get("receiptNumber"),
                "paymentType": {"id": body.get("paymentTypeId")},
            },
        }
        state.next_txn += 1
        if external:
            state.external_ids.add(external)
        loan["transactions"].append(txn)
        return txn

    @app.post(f"{BASE}/loans/{{loan_id}}")
    async def loan_command(loan_id: int, request: Request) -> JSONResponse:
        command = request.query_params.get("command")
        body = await request.json()
        with state.lock:
            loan = loan_or_404(loan_id)
            if command == "approve":
                _whitelist(body, APPROVE_FIELDS)
                on = _date(body, "approvedOnDate")
                if loan["status"] != 100:
                    return _error(
                        403,
                        "validation.msg.domain.rule.violation",
                        "Loan Account Approval is not allowed. Loan Account is not in submitted and pending approval state.",
                    )
                amount = (
                    _amount(body, "approvedLoanAmount")
                    if "approvedLoanAmount" in body
                    else loan["principal"]
                )
                loan.update(status=200, approvedOnDate=on, approvedPrincipal=amount)
                changes: dict[str, Any] = {
                    "status": {"id": 200, "code": STATUS[200][0], "value": STATUS[200][1]}
                }
            elif command == "disburse":
                _whitelist(body, DISBURSE_FIELDS)
                on = _date(body, "actualDisbursementDate")
                if loan["status"] != 200:
                    return _error(
                        403,
                        "validation.msg.domain.rule.violation",
                        "Loan Disbursal is not allowed. Loan Account is not in approved and not disbursed state.",
                    )
                amount = (
                    _amount(body, "transactionAmount")
                    if "transactionAmount" in body
                    else loan["approvedPrincipal"]
                )
                txn = add_transaction(loan, "disbursement", body, amount, on)
                loan.update(
                    status=300, actualDisbursementDate=on, principal=amount, outstanding=amount
                )
                changes = {
                    "status": {"id": 300, "code": STATUS[300][0], "value": STATUS[300][1]},
                    "transactionId": txn["id"],
                }
            elif command in {"undodisbursal", "undoapproval"}:
                _whitelist(body, {"note"})
                target = 200 if command == "undodisbursal" else 100
                if loan["status"] != (300 if command == "undodisbursal" else 200):
                    return _error(
                        403,
                        "validation.msg.domain.rule.violation",
                        f"{command} is not allowed in the loan's state",
                    )
                loan.update(status=target)
                changes = {
                    "status": {"id": target, "code": STATUS[target][0], "value": STATUS[target][1]}
                }
            else:
                return _error(
                    400,
                    "error.msg.unrecognized.query.param",
                    f"Unrecognized query param command={command}",
                )
        return JSONResponse(
            {
                "officeId": 1,
                "clientId": loan["clientId"],
                "loanId": loan_id,
                "resourceId": loan_id,
                "changes": changes,
            }
        )

    @app.post(f"{BASE}/loans/{{loan_id}}/transactions")
    async def loan_transaction(loan_id: int, request: Request) -> JSONResponse:
        if request.query_params.get("command") != "repayment":
            return _error(400, "error.msg.unrecognized.query.param", "Unrecognized command")
        body = await request.json()
        with state.lock:
            loan = loan_or_404(loan_id)
            _whitelist(body, REPAYMENT_FIELDS)
            on = _date(body, "transactionDate")
            amount = _amount(body, "transactionAmount")
            if loan["status"] not in {300, 700}:
                return _error(
                    403,
                    "validation.msg.domain.rule.violation",
                    "Loan Repayment is not allowed. Loan Account is not active.",
                )
            txn = add_transaction(loan, "repayment", body, amount, on)
            loan["outstanding"] -= amount
            if loan["outstanding"] == 0:
                loan["status"] = 600
            elif loan["outstanding"] < 0:
                loan["status"] = 700
        return JSONResponse(
            {
                "officeId": 1,
                "clientId": loan["clientId"],
                "loanId": loan_id,
                "resourceId": txn["id"],
                "resourceExternalId": txn["externalId"],
                "changes": {
                    "transactionDate": str(body["transactionDate"]),
                    "transactionAmount": str(body["transactionAmount"]),
                },
            }
        )

    @app.post(f"{BASE}/savingsaccounts/{{savings_id}}/transactions")
    async def savings_transaction(savings_id: int, request: Request) -> JSONResponse:
        if request.query_params.get("command") != "deposit":
            return _error(400, "error.msg.unrecognized.query.param", "Unrecognized command")
        body = await request.json()
        with state.lock:
            account = state.savings.get(savings_id)
            if account is None:
                return _error(
                    404,
                    "error.msg.saving.account.id.invalid",
                    f"Savings account with identifier {savings_id} does not exist",
                )
            _whitelist(body, DEPOSIT_FIELDS)
            on = _date(body, "transactionDate")
            amount = _amount(body, "transactionAmount")
            if account["status"] != 300:
                return _error(
                    403, "validation.msg.domain.rule.violation", "Savings account is not active"
                )
            txn_id = state.next_txn
            state.next_txn += 1
            account["balance"] += amount
            account["transactions"].append(
                {
                    "id": txn_id,
                    "date": on,
                    "amount": amount,
                    "receiptNumber": body.get("receiptNumber"),
                }
            )
        return JSONResponse(
            {
                "officeId": 1,
                "clientId": account["clientId"],
                "savingsId": savings_id,
                "resourceId": txn_id,
                "changes": {},
            }
        )

    class SeedLoan(BaseModel):
        client_id: int = 1
        principal: str = "10000"
        status: int = 200
        product_id: int = 1

    @app.post("/_control/loans")
    async def seed_loan(body: SeedLoan) -> dict[str, Any]:
        if body.status not in STATUS:
            return {"message": f"status must be one of {sorted(STATUS)}"}
        with state.lock:
            loan = state.add_loan(
                client_id=body.client_id,
                principal=Decimal(body.principal),
                status=body.status,
                product_id=body.product_id,
            )
        return state.view(loan, with_transactions=False)

    @app.post("/_control/reset")
    async def reset() -> dict[str, bool]:
        with state.lock:
            state.reset()
        return {"reset": True}

    @app.get("/_control/health")
    async def health() -> dict[str, str]:
        return {"status": "OK", "service": "fineract-simulator", "id": secrets.token_hex(2)}

    return app
