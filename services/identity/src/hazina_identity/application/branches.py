"""Opening branches and changing their details: the super admin's, one code per branch."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any, Protocol

from eventsourcing.application import AggregateNotFoundError, Application

from hazina_identity.domain.branch import Branch, BranchDetails
from hazina_identity.domain.errors import IdentityError


class BranchCodeTakenError(IdentityError):
    pass


class BranchNotFoundError(IdentityError):
    pass


class BranchDirectory(Protocol):
    """The branches read model, and the staff lists that name each person's branch."""

    def branches(self) -> list[dict[str, Any]]: ...
    def branch(self, branch_id: uuid.UUID) -> dict[str, Any] | None: ...
    def staff(self, roles: tuple[str, ...], active: bool | None = None) -> list[dict[str, Any]]: ...
    def staff_member(self, user_id: uuid.UUID) -> dict[str, Any] | None: ...

    def holder_of_code(self, code: str) -> uuid.UUID | None:
        """The branch that has ``code`` now, if any."""
        ...

    def codes_locked(self) -> AbstractContextManager[None]:
        """A lock that makes "is the code free?" and "take it" one step across processes."""
        ...


class Branches:
    """Branch use cases on identity's event store (branches are published on IDENTITY)."""

    def __init__(
        self, app: Application[uuid.UUID], codes: BranchDirectory, catch_up: Callable[[], object]
    ) -> None:
        self.app = app
        self.codes = codes
        self.catch_up = catch_up  # the branch read model, brought up to the last saved event

    def get(self, branch_id: uuid.UUID) -> Branch:
        try:
            branch: Branch = self.app.repository.get(branch_id)
        except AggregateNotFoundError:
            raise BranchNotFoundError("Branch not found") from None
        if not isinstance(branch, Branch):
            raise BranchNotFoundError("Branch not found")
        return branch

    def open(self, details: BranchDetails, *, by: uuid.UUID, correlation_id: str | None) -> Branch:
        with self.codes.codes_locked():
            self._refuse_taken(details.code, None)
            branch = Branch.open(details, by=by, correlation_id=correlation_id)
            self.app.save(branch)
            self.catch_up()
        return branch

    def change(
        self,
        branch_id: uuid.UUID,
        details: BranchDetails,
        *,
        by: uuid.UUID,
        correlation_id: str | None,
    ) -> Branch:
        with self.codes.codes_locked():
            branch = self.get(branch_id)
            self._refuse_taken(details.code, branch.id)
            if branch.change_details(details, by=by, correlation_id=correlation_id):
                self.app.save(branch)
                self.catch_up()
        return branch

    def _refuse_taken(self, code: str, mine: uuid.UUID | None) -> None:
        self.catch_up()
        holder = self.codes.holder_of_code(code)
        if holder is not None and holder != mine:
            raise BranchCodeTakenError(f"A branch with code '{code}' already exists")
