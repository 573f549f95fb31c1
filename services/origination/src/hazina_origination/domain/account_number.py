"""Loan account numbers a borrower types into M-Pesa's paybill "account" field.

Ten digits: nine random ones (the first never 0, so it is never read as a phone number
starting 07/01) and a Damm check digit, which catches every single-digit typo and every
swap of two neighbouring digits. Digits only, because a feature phone's keypad makes
letters slow to type.
"""

from __future__ import annotations

import secrets

_DAMM = (
    (0, 3, 1, 7, 5, 9, 8, 6, 4, 2),
    (7, 0, 9, 2, 1, 5, 4, 8, 6, 3),
    (4, 2, 0, 6, 8, 7, 1, 3, 5, 9),
    (1, 7, 5, 0, 9, 8, 3, 4, 2, 6),
    (6, 1, 2, 3, 0, 4, 5, 9, 7, 8),
    (3, 6, 7, 4, 2, 0, 9, 5, 8, 1),
    (5, 8, 6, 9, 7, 2, 0, 1, 3, 4),
    (8, 9, 4, 5, 3, 6, 2, 0, 1, 7),
    (9, 4, 3, 8, 6, 1, 7, 2, 0, 5),
    (2, 5, 8, 1, 4, 3, 6, 7, 9, 0),
)
LENGTH = 10


def damm_check_digit(digits: str) -> str:
    interim = 0
    for ch in digits:
        interim = _DAMM[interim][int(ch)]
    return str(interim)


def is_valid_account_number(text: str) -> bool:
    """True when ``text`` is ten digits whose last is the Damm check digit of the others."""
    if len(text) != LENGTH or not text.isdigit() or text[0] == "0":
        return False
    return damm_check_digit(text) == "0"  # a correct Damm number checks to zero


def new_account_number(random_digits: str | None = None) -> str:
    body = random_digits or str(secrets.randbelow(9 * 10 ** (LENGTH - 2)) + 10 ** (LENGTH - 2))
    if len(body) != LENGTH - 1 or not body.isdigit() or body[0] == "0":
        raise ValueError("an account number body is nine digits not starting with 0")
    return body + damm_check_digit(body)
