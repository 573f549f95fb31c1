"""The ledger's domain errors; the API maps each family to one HTTP status."""

from __future__ import annotations


class LedgerError(Exception):
    """A rule of the ledger refused a request."""


class InvalidRequestError(LedgerError):
    """The request cannot be carried out as given (400)."""


class EntryNotBalancedError(LedgerError):
    """A journal entry's debits do not equal its credits; nothing is stored."""


class UnknownAccountError(LedgerError):
    """An account id that is not in the chart of accounts."""


class ScheduleTermsError(InvalidRequestError):
    """Loan terms from which no schedule can be built."""


class NotFoundError(LedgerError):
    """The loan, client, receipt or withdrawal does not exist here (404)."""


class InvalidStateError(LedgerError):
    """The account is in a state that does not allow this (409, with the current status)."""


class ReceiptConflictError(LedgerError):
    """A receipt number already used for a different amount or target; flagged, never posted."""


class InsufficientBalanceError(InvalidStateError):
    """A withdrawal larger than the available savings balance."""


class MakerCheckerViolationError(LedgerError):
    """The staff member who asked for something may not also approve it (403)."""


class AwaitingPrerequisiteError(LedgerError):
    """An event arrived before the one it depends on (a repayment before the disbursement).

    The consumer parks it and retries; it is never dropped.
    """

    def __init__(self, message: str, *, waiting_for: str) -> None:
        super().__init__(message)
        self.waiting_for = waiting_for
