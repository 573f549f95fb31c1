"""A borrower's USSD access: their PIN (as a hash), wrong tries, the lock, their language.

One aggregate per client, its id derived from the client id. Every PIN set or changed, wrong
try, lock, unlock and language choice is an event; the PIN itself never is (only its hash).
"""

from __future__ import annotations

import uuid
from typing import Any

from eventsourcing.domain import Aggregate, event

from hazina_ussd.domain.pin import MAX_WRONG_PINS

ACCESS_NAMESPACE = uuid.UUID("0f6a1c52-8d3e-4b7a-9c21-5e4d3b2a1f08")


class BorrowerAccess(Aggregate):
    TOPIC = "hazina.ussd.BorrowerAccess"

    class Created(Aggregate.Created):
        TOPIC = "hazina.ussd.BorrowerAccess.Created"

    @staticmethod
    def create_id(client_id: uuid.UUID, **_: Any) -> uuid.UUID:
        return uuid.uuid5(ACCESS_NAMESPACE, str(client_id))

    class Opened(Aggregate.Created):
        TOPIC = "hazina.ussd.BorrowerAccess.Opened"
        client_id: uuid.UUID
        pin_hash: str
        language: str

    @event(Opened)
    def __init__(self, *, client_id: uuid.UUID, pin_hash: str, language: str) -> None:
        self.client_id = client_id
        self.pin_hash = pin_hash
        self.language = language
        self.wrong_pins = 0
        self.locked = False
        self.locks = 0
        self.last_attempt: str | None = None

    class PinChanged(Aggregate.Event):
        TOPIC = "hazina.ussd.BorrowerAccess.PinChanged"
        pin_hash: str

    @event(PinChanged)
    def change_pin(self, pin_hash: str) -> None:
        self.pin_hash = pin_hash

    def wrong_pin(self, attempt: str) -> bool:
        """Count a wrong PIN once per attempt (a repeated hop is the same attempt); True when
        this one locks the access."""
        if self.locked or attempt == self.last_attempt:
            return False
        if self.wrong_pins + 1 >= MAX_WRONG_PINS:
            self._locked(attempt=attempt)
            return True
        self._pin_failed(attempt=attempt)
        return False

    class PinFailed(Aggregate.Event):
        TOPIC = "hazina.ussd.BorrowerAccess.PinFailed"
        attempt: str

    @event(PinFailed)
    def _pin_failed(self, attempt: str) -> None:
        self.wrong_pins += 1
        self.last_attempt = attempt

    class Locked(Aggregate.Event):
        TOPIC = "hazina.ussd.BorrowerAccess.Locked"
        attempt: str

    @event(Locked)
    def _locked(self, attempt: str) -> None:
        self.wrong_pins += 1
        self.last_attempt = attempt
        self.locked = True
        self.locks += 1

    def pin_accepted(self) -> None:
        if self.wrong_pins:
            self._pin_accepted()

    class PinAccepted(Aggregate.Event):
        TOPIC = "hazina.ussd.BorrowerAccess.PinAccepted"

    @event(PinAccepted)
    def _pin_accepted(self) -> None:
        self.wrong_pins = 0

    def unlock(self, by: uuid.UUID) -> bool:
        if not self.locked:
            return False
        self._unlocked(by=by)
        return True

    class Unlocked(Aggregate.Event):
        TOPIC = "hazina.ussd.BorrowerAccess.Unlocked"
        by: uuid.UUID

    @event(Unlocked)
    def _unlocked(self, by: uuid.UUID) -> None:
        self.locked = False
        self.wrong_pins = 0
        self.last_attempt = None

    def choose_language(self, language: str) -> None:
        if language != self.language:
            self._language_chosen(language=language)

    class LanguageChosen(Aggregate.Event):
        TOPIC = "hazina.ussd.BorrowerAccess.LanguageChosen"
        language: str

    @event(LanguageChosen)
    def _language_chosen(self, language: str) -> None:
        self.language = language
