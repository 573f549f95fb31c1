"""Typed identifiers that cross service boundaries."""

from typing import NewType
from uuid import UUID

UserId = NewType("UserId", UUID)
ClientId = NewType("ClientId", UUID)
GroupId = NewType("GroupId", UUID)
LoanId = NewType("LoanId", UUID)
