"""An Africa's Talking simulator: bulk SMS in the real wire format, with delivery reports.

- ``POST /version1/messaging`` (form: ``username``, ``to`` comma-separated, ``message``, ``from``;
  header ``apiKey``) -> 201 ``{"SMSMessageData": {"Message", "Recipients": [{"statusCode",
  "number", "status", "cost", "messageId"}]}}``; a wrong key or username -> 401 plain text, as
  Africa's Talking answers.
- Each accepted message is recorded and, when a delivery-report URL is set, reported there
  (form: ``id``, ``status``, ``phoneNumber``, ``networkCode``, ``retryCount``, ``failureReason``)
  after a short delay; ``duplicate_reports`` sends each report twice, as the real one may.
- ``GET /_control/messages?to=`` lists what was sent (newest last); ``DELETE`` forgets them;
  ``POST /_control/sms {"outcome", "count"}`` makes the next sends answer a recipient status
  (``success``, ``invalid_number`` 403, ``insufficient_balance`` 405, ``gateway_error`` 501) or
  fail whole (``unauthorized`` 401, ``server_error`` 500); ``POST /_control/report`` sends a
  report for a message now (any status, for tests of late and out-of-order reports).
"""

from __future__ import annotations

import asyncio
import secrets
import threading
from typing import Any

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse
from pydantic import BaseModel

from hazina_simulators.common import BackgroundTasks, OutcomeQueue, now_eat

SIM_API_KEY = "sim-at-api-key"  # pragma: allowlist secret
_RECIPIENT_OUTCOMES = {
    "success": (101, "Success"),
    "invalid_number": (403, "InvalidPhoneNumber"),
    "insufficient_balance": (405, "InsufficientBalance"),
    "gateway_error": (501, "GatewayError"),
}


class AfricasTalkingConfig(BaseModel):
    api_key: str = SIM_API_KEY
    usernames: list[str] = ["sandbox"]
    delivery_report_url: str | None = None
    report_delay_seconds: float = 0.2
    duplicate_reports: bool = False
    network_code: str = "63902"


class Control(BaseModel):
    outcome: str
    count: int = 1


class ReportNow(BaseModel):
    messageId: str  # noqa: N815
    status: str = "Success"
    failureReason: str | None = None  # noqa: N815


def create_app(config: AfricasTalkingConfig | None = None) -> FastAPI:
    cfg = config or AfricasTalkingConfig()
    lock = threading.Lock()
    messages: list[dict[str, Any]] = []
    outcomes = OutcomeQueue(set(_RECIPIENT_OUTCOMES) | {"unauthorized", "server_error"})
    tasks = BackgroundTasks()
    app = FastAPI(title="Africa's Talking simulator")
    app.router.on_shutdown.append(tasks.close)

    async def report(message: dict[str, Any], status: str, reason: str | None) -> None:
        if not cfg.delivery_report_url:
            return
        form = {
            "id": message["messageId"],
            "status": status,
            "phoneNumber": message["number"],
            "networkCode": cfg.network_code,
            "retryCount": "0",
        }
        if reason:
            form["failureReason"] = reason
        async with httpx.AsyncClient(timeout=10) as client:
            for _ in range(2 if cfg.duplicate_reports else 1):
                try:
                    await client.post(cfg.delivery_report_url, data=form)
                except httpx.HTTPError:
                    return  # Africa's Talking does not retry a report either

    async def later(message: dict[str, Any]) -> None:
        await asyncio.sleep(cfg.report_delay_seconds)
        await report(message, "Success", None)

    @app.post("/version1/messaging")
    async def send(request: Request) -> Any:
        form = await request.form()
        outcome = outcomes.pop().name
        if (
            request.headers.get("apiKey") != cfg.api_key
            or form.get("username") not in cfg.usernames
            or outcome == "unauthorized"
        ):
            return PlainTextResponse("The supplied authentication is invalid", status_code=401)
        if outcome == "server_error":
            return PlainTextResponse("Internal Server Error", status_code=500)
        text = str(form.get("message") or "")
        numbers = [n.strip() for n in str(form.get("to") or "").split(",") if n.strip()]
        if not text or not numbers:
            return PlainTextResponse("Invalid request", status_code=400)
        code, status = _RECIPIENT_OUTCOMES[outcome]
        recipients = []
        for number in numbers:
            entry = {
                "statusCode": code,
                "number": number,
                "status": status,
                "cost": "KES 0.8000" if code == 101 else "0",
                "messageId": f"ATXid_{secrets.token_hex(16)}" if code == 101 else "None",
            }
            recipients.append(entry)
            if code == 101:
                record = {
                    **entry,
                    "message": text,
                    "from": form.get("from"),
                    "at": now_eat().isoformat(),
                }
                with lock:
                    messages.append(record)
                tasks.spawn(later(record))
        sent = sum(1 for r in recipients if r["statusCode"] == 101)
        return JSONResponse(
            {
                "SMSMessageData": {
                    "Message": f"Sent to {sent}/{len(numbers)} Total Cost: KES {0.8 * sent:.4f}",
                    "Recipients": recipients,
                }
            },
            status_code=201,
        )

    @app.get("/_control/messages")
    def sent_messages(to: str | None = None) -> list[dict[str, Any]]:
        with lock:
            found = list(messages)
        if to:
            wanted = to if to.startswith("+") else f"+{to}"
            found = [m for m in found if m["number"] == wanted]
        return found

    @app.delete("/_control/messages")
    def forget() -> dict[str, int]:
        with lock:
            count = len(messages)
            messages.clear()
        return {"forgotten": count}

    @app.post("/_control/sms")
    def next_sends(control: Control) -> dict[str, list[str]]:
        try:
            outcomes.push(control.outcome, control.count, None, {})
        except ValueError as exc:
            return JSONResponse({"message": str(exc)}, status_code=400)  # type: ignore[return-value]
        return {"pending": outcomes.pending()}

    @app.post("/_control/report")
    async def report_now(body: ReportNow) -> dict[str, bool]:
        with lock:
            message = next((m for m in messages if m["messageId"] == body.messageId), None)
        if message is None:
            return JSONResponse({"message": "unknown message"}, status_code=404)  # type: ignore[return-value]
        await report(message, body.status, body.failureReason)
        return {"reported": True}

    return app
