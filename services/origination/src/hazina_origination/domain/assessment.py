"""The 5 Cs of credit: five scores of 1 to 5; below 18 of 25 the loan may not be approved."""

from __future__ import annotations

from dataclasses import dataclass

from hazina_origination.domain.errors import InvalidInputError

PASS_MARK = 18
CRITERIA = ("character", "capacity", "capital", "collateral", "conditions")


@dataclass(frozen=True)
class FiveCs:
    character: int
    capacity: int
    capital: int
    collateral: int
    conditions: int

    def __post_init__(self) -> None:
        for name in CRITERIA:
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 5:
                raise InvalidInputError(f"{name} must be a whole number from 1 to 5")

    @property
    def total(self) -> int:
        return sum(getattr(self, name) for name in CRITERIA)

    @property
    def passed(self) -> bool:
        return self.total >= PASS_MARK

    def as_dict(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in CRITERIA}
