"""Africa's Talking's bulk SMS API (``POST /version1/messaging``, form-encoded, ``apiKey`` header).

A recipient status 100-102 is accepted; 405 (balance) and 500-502 are worth retrying; anything
else (an invalid number, a blacklisted or DND recipient) never is. A top-level failure may come
as plain text with a non-2xx status: 5xx is retried, 4xx is not (a wrong key needs a person).
"""

from __future__ import annotations

import httpx

from hazina_ussd.application.ports import Accepted, Rejected, SendResult

ACCEPTED = {100, 101, 102}
RETRYABLE = {405, 500, 501, 502}


class AfricasTalkingSms:
    def __init__(
        self,
        *,
        base_url: str,
        username: str,
        api_key: str,
        sender_id: str | None = None,
        timeout_seconds: float = 10.0,
    ) -> None:
        self.username = username
        self.sender_id = sender_id
        self._client = httpx.Client(
            base_url=base_url.rstrip("/"),
            timeout=timeout_seconds,
            headers={"apiKey": api_key, "Accept": "application/json"},
        )

    def send(self, to: str, text: str) -> SendResult:
        form = {"username": self.username, "to": f"+{to.lstrip('+')}", "message": text}
        if self.sender_id:
            form["from"] = self.sender_id
        response = self._client.post("/version1/messaging", data=form)
        if response.status_code >= 300:
            return Rejected(
                str(response.status_code), response.status_code >= 500, response.text[:200]
            )
        try:
            recipients = response.json()["SMSMessageData"]["Recipients"]
            first = recipients[0]
            code = int(first["statusCode"])
        except (ValueError, KeyError, IndexError, TypeError):
            return Rejected("unreadable", True, response.text[:200])
        if code in ACCEPTED:
            return Accepted(str(first["messageId"]))
        return Rejected(str(code), code in RETRYABLE, str(first.get("status", "")))

    def close(self) -> None:
        self._client.close()
