"""PIN rules: four digits, not one a thief tries first."""

from __future__ import annotations

import itertools

PIN_LENGTH = 4
MAX_WRONG_PINS = 3
# The PINs people choose most (after repeated digits and runs, which are refused by rule).
COMMON = frozenset({"1122", "1212", "1313", "2580", "0852", "1004", "2000", "6969", "4321"})


def is_pin_shaped(text: str) -> bool:
    return len(text) == PIN_LENGTH and text.isascii() and text.isdigit()


def weakness(pin: str, national_id: str) -> str | None:
    """Why ``pin`` is too easy to guess, or None. Repeated digits, runs up or down, the most
    common PINs, and the end or start of the borrower's own national ID are refused."""
    if len(set(pin)) == 1:
        return "repeated digits"
    steps = {int(b) - int(a) for a, b in itertools.pairwise(pin)}
    if steps in ({1}, {-1}):
        return "a run of digits"
    if pin in COMMON:
        return "a common PIN"
    if national_id and (national_id.endswith(pin) or national_id.startswith(pin)):
        return "part of the national ID"
    return None
