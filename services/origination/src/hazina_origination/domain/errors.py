"""What can go wrong in origination, in words a loan officer or an admin understands."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


class OriginationError(Exception):
    """Base of origination's domain errors; the message is shown to staff as it is."""


class InvalidInputError(OriginationError):
    """A value that can never be accepted (a malformed phone, a score of 7)."""


class NotFoundError(OriginationError):
    pass


class NotPermittedError(OriginationError):
    """The role may act in general, but not on this record (another officer's group, maker-checker)."""


class AlreadyExistsError(OriginationError):
    pass


class IllegalTransitionError(OriginationError):
    """The record's current status does not allow this step; the message names the status."""


@dataclass(frozen=True)
class RuleFailure:
    rule: str
    message: str


class NotEligibleError(OriginationError):
    """One or more of the product's eligibility rules failed; each says which and why."""

    def __init__(self, failures: Sequence[RuleFailure]) -> None:
        self.failures = list(failures)
        super().__init__("; ".join(f.message for f in self.failures))
