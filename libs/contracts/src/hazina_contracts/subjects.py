"""Stream and subject names: one JetStream stream per producing service, subjects <service>.<aggregate>.<event>."""

from __future__ import annotations

import re
from enum import StrEnum


class Stream(StrEnum):
    """JetStream streams, one per producing service; each captures ``<prefix>.>``."""

    IDENTITY = "IDENTITY"
    ORIGINATION = "ORIGINATION"
    LEDGER = "LEDGER"
    PAYMENTS = "PAYMENTS"
    PARTNERS = "PARTNERS"
    USSD = "USSD"

    @property
    def subject_prefix(self) -> str:
        return _PREFIX[self]

    @property
    def wildcard(self) -> str:
        return f"{self.subject_prefix}.>"


_PREFIX = {
    Stream.IDENTITY: "identity",
    Stream.ORIGINATION: "origination",
    Stream.LEDGER: "ledger",
    Stream.PAYMENTS: "payments",
    Stream.PARTNERS: "partners",
    Stream.USSD: "ussd",
}

# Messages a consumer gave up on, with the error, so nothing is dropped silently.
DEAD_LETTER_STREAM = "DEADLETTER"
DEAD_LETTER_PREFIX = "deadletter"

_TOKEN = re.compile(r"^[a-z][a-z0-9_]*$")


def event_subject(stream: Stream, aggregate: str, event: str) -> str:
    """``identity.user.created`` from (IDENTITY, "user", "created")."""
    for part in (aggregate, event):
        if not _TOKEN.match(part):
            raise ValueError(f"subject token '{part}' must be lower snake case")
    return f"{stream.subject_prefix}.{aggregate}.{event}"


def dead_letter_subject(service: str, consumer: str) -> str:
    return f"{DEAD_LETTER_PREFIX}.{service}.{consumer}"
