"""SMS: send what the outbox holds (retrying with backoff), and the daily reminders.

Every message is enqueued once per triggering fact (its key), in the same transaction as the
fact's record where there is one, so a fact delivered twice is one message. Sending is at least
once per attempt: a provider that accepted but whose answer was lost may get a second attempt.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

import structlog

from hazina_ussd.application.ports import (
    Accepted,
    BorrowerDirectory,
    Clock,
    JobRuns,
    Notice,
    SmsOutbox,
    SmsQueue,
    SmsSender,
)
from hazina_ussd.domain import texts
from hazina_ussd.domain.texts import Language, kes

log = structlog.get_logger(__name__)

BACKOFF = (
    timedelta(seconds=5),
    timedelta(seconds=30),
    timedelta(minutes=2),
    timedelta(minutes=10),
    timedelta(hours=1),
)


@dataclass
class SmsDispatcher:
    queue: SmsQueue
    sender: SmsSender
    clock: Clock

    def send_due(self, limit: int = 50) -> int:
        """Send up to ``limit`` due messages; returns how many were tried."""
        tried = 0
        while tried < limit:
            with self.queue.claim_due(self.clock.now()) as message:
                if message is None:
                    return tried
                tried += 1
                try:
                    result = self.sender.send(message.phone, message.text)
                except Exception as exc:  # a network failure: the message waits for its retry
                    result = None
                    error = f"{type(exc).__name__}: {exc}"
                now = self.clock.now()
                if isinstance(result, Accepted):
                    self.queue.mark_sent(message.message_id, result.provider_message_id, now)
                    continue
                if result is not None:
                    error = f"{result.code} {result.reason}"
                retryable = result is None or result.retryable
                if retryable and message.attempts < len(BACKOFF):
                    self.queue.mark_retry(
                        message.message_id, error, now + BACKOFF[message.attempts], now
                    )
                else:
                    self.queue.mark_failed(message.message_id, error, now)
                    log.warning("sms_failed", message_id=str(message.message_id), error=error)
        return tried


@dataclass
class Reminders:
    """The daily job: instalments due in three days, and overdue ones, each reminded once."""

    directory: BorrowerDirectory
    outbox: SmsOutbox
    runs: JobRuns
    language_of: Callable[[uuid.UUID], Language]
    paybill: str
    days_ahead: int = 3

    def run(self, today: date) -> int | None:
        """None when another instance has run (or is running) today's reminders."""
        if not self.runs.claim("reminders", today):
            return None
        sent = 0
        for reminder in self.directory.reminders_due(today, self.days_ahead):
            language = self.language_of(reminder.client_id)
            sent += self.outbox.enqueue(
                Notice(
                    key=f"{reminder.kind}:{reminder.loan_id}:{reminder.due_on.isoformat()}",
                    client_id=reminder.client_id,
                    phone=reminder.phone,
                    kind=reminder.kind,
                    language=language,
                    text=texts.sms(
                        reminder.kind,
                        language,
                        amount=kes(reminder.amount_cents),
                        account=reminder.account_number,
                        due=texts.day(reminder.due_on),
                        paybill=self.paybill,
                    ),
                )
            )
        log.info("reminders_run", day=today.isoformat(), enqueued=sent)
        return sent
