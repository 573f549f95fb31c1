"""The gateway's business rules that need no I/O: references, ids, result codes, tariffs, URLs."""

from __future__ import annotations

import re
import unicodedata
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from itertools import pairwise

from hazina_contracts.money import parse_kes_to_cents
from hazina_contracts.phones import Msisdn, MsisdnError

# Daraja's timestamps are Kenyan local time.
EAT = timezone(timedelta(hours=3), "EAT")

_NOT_ALNUM = re.compile(r"[^A-Z0-9]")
# Safaricom refuses callback URLs containing any of these (any case).
FORBIDDEN_CALLBACK_WORDS = ("m-pesa", "mpesa", "safaricom", "exec", "exe", "cmd", "sql", "query")

# Result codes after which sending again cannot help (wrong amount, not an M-Pesa customer).
PERMANENT_B2C_CODES = frozenset({"2", "3", "8", "2040", "SFC_IC0003"})
# Status-query answers that mean "Daraja has no such transaction".
NOT_FOUND_STATUS_CODES = frozenset({"R000002", "SFC_IC0003", "2032"})
FINAL_FAILED_STATUSES = frozenset({"declined", "cancelled", "expired", "failed", "reversed"})


# Far above any single M-Pesa transaction (KES 250,000 for B2C, C2B and STK): a rail reporting
# more than this is not reporting a payment we can believe.
MAX_RAIL_AMOUNT_CENTS = 1_000_000 * 100
# How Daraja writes an amount: whole shillings, optionally with up to two decimals ("1200",
# "1200.00"); never exponents, thousands separators or signs.
_RAIL_AMOUNT = re.compile(r"^\d{1,9}(\.\d{1,2})?$")
_FULL_MSISDN = re.compile(r"^\+?\d{9,15}$")
_MASKED_MSISDN = re.compile(r"^[\d *]{6,24}$")
_HASHED_MSISDN = re.compile(r"^[0-9a-fA-F]{64}$")
# Characters that rewrite what a reader sees (bidirectional overrides and isolates).
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
# Control characters (NUL included), lone surrogates, private use, line/paragraph separators.
_UNSAFE_CATEGORIES = frozenset({"Cc", "Cs", "Co", "Zl", "Zp"})
# The only unsafe characters ASCII text can hold: its control characters (category Cc).
_ASCII_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class GatewayRuleError(ValueError):
    """Input the rails would refuse, caught before anything is sent."""


def unsafe_character(text: str) -> str | None:
    """The first character (as ``U+XXXX``) that has no place in a stored or displayed field, or None.

    A NUL cannot be stored in a PostgreSQL text column at all; the others hide or rewrite what
    staff read. Such input is kept raw and flagged, never turned into an event.
    """
    if text.isascii():  # what the rails send: one scan in C, not a look-up per character
        found = _ASCII_CONTROL.search(text)
        return f"U+{ord(found.group()):04X}" if found else None
    for ch in text:
        if ch in _BIDI_CONTROLS or unicodedata.category(ch) in _UNSAFE_CATEGORIES:
            return f"U+{ord(ch):04X}"
    return None


def is_rail_amount_text(text: str) -> bool:
    """Whether ``text`` is written the way Daraja writes amounts (see ``_RAIL_AMOUNT``)."""
    return bool(_RAIL_AMOUNT.match(text))


def msisdn_shape(text: str) -> str | None:
    """``full`` (digits), ``masked`` (C2B v2: ``2547 ***** 678``), ``hashed`` (C2B v1: SHA-256 hex),
    or None when it is none of the ways Daraja sends a phone number."""
    if _FULL_MSISDN.match(text):
        return "full"
    if _HASHED_MSISDN.match(text):
        return "hashed"
    if "*" in text and _MASKED_MSISDN.match(text):
        return "masked"
    return None


def _visible_digits(masked: str) -> tuple[str, str]:
    compact = masked.replace(" ", "")
    return compact.split("*", 1)[0], compact.rsplit("*", 1)[-1]


def _as_254(full: str) -> str:
    """A phone Daraja sent in full, as an ``Msisdn`` when it is a Kenyan mobile, else its digits."""
    try:
        return Msisdn(full)
    except MsisdnError:
        return full.lstrip("+")  # not a Kenyan mobile: compared as sent


def phones_agree(first: str | None, second: str | None) -> bool:
    """Whether two reports of the payer's phone can be the same number.

    The same payment arrives with the number in full (STK), masked (C2B v2) or hashed (C2B v1):
    only forms that can be compared are compared; anything that cannot be told apart agrees.
    """
    if not first or not second:
        return True
    a, b = first.strip(), second.strip()
    shape_a, shape_b = msisdn_shape(a), msisdn_shape(b)
    if shape_a == shape_b == "full":
        return _as_254(a) == _as_254(b)
    if shape_a == shape_b == "hashed":
        return a.lower() == b.lower()
    if "hashed" in (shape_a, shape_b) or None in (shape_a, shape_b):
        return True  # a hash of an unknown input, or a form Daraja never sends: cannot tell
    if shape_a == shape_b == "masked":
        (pa, sa), (pb, sb) = _visible_digits(a), _visible_digits(b)
        return (pa.startswith(pb) or pb.startswith(pa)) and (sa.endswith(sb) or sb.endswith(sa))
    full, masked = (a, b) if shape_a == "full" else (b, a)
    prefix, suffix = _visible_digits(masked)
    number = _as_254(full)
    return number.startswith(prefix) and number.endswith(suffix)


def normalise_reference(text: str | None) -> str:
    """What a borrower typed as 'account number', compared without case, spaces or punctuation."""
    return _NOT_ALNUM.sub("", (text or "").upper())


def loan_id_reference(loan_id: uuid.UUID) -> str:
    """A loan id as a borrower might type it (the seed uses the loan id as the paybill account)."""
    return normalise_reference(loan_id.hex)


def originator_conversation_id(disbursement_id: uuid.UUID, attempt: int) -> str:
    """Our B2C OriginatorConversationID: derived, at most 20 characters, one per (disbursement, attempt).

    Daraja refuses a repeat of it, which is the only server-side guard against paying twice.
    """
    if attempt < 1 or attempt > 99:
        raise GatewayRuleError("attempt must be between 1 and 99")
    return f"D{disbursement_id.hex[:16].upper()}-{attempt}"


def is_retryable_b2c_failure(result_code: str) -> bool:
    """Whether a failed payment may be tried again (after an operator fixes float or credentials)."""
    return result_code.strip() not in PERMANENT_B2C_CODES


def whole_shillings(amount_cents: int) -> int:
    """M-Pesa B2C/C2B/STK move whole shillings only."""
    if amount_cents <= 0 or amount_cents % 100:
        raise GatewayRuleError("M-Pesa amounts must be a positive whole number of shillings")
    return amount_cents // 100


def check_callback_url(url: str) -> None:
    lowered = url.lower()
    for word in FORBIDDEN_CALLBACK_WORDS:
        if word in lowered:
            raise GatewayRuleError(
                f"Safaricom refuses callback URLs containing '{word}': {url.split('//')[0]}//…"
            )


def parse_daraja_compact_time(value: object) -> datetime:
    """``20250201143005`` (string or number, EAT) -> aware datetime."""
    text = str(value).strip()
    if not re.fullmatch(r"\d{14}", text):
        raise GatewayRuleError(f"'{text}' is not a YYYYMMDDHHmmss time")
    # By slices, not strptime (a tenth of its cost, on every confirmation); an impossible date
    # raises ValueError as strptime did.
    return datetime(
        int(text[:4]),
        int(text[4:6]),
        int(text[6:8]),
        int(text[8:10]),
        int(text[10:12]),
        int(text[12:14]),
        tzinfo=EAT,
    )


def parse_daraja_dmy_time(value: object) -> datetime:
    """B2C's ``15.01.2025 10:42:07`` (EAT) -> aware datetime."""
    return datetime.strptime(str(value).strip(), "%d.%m.%Y %H:%M:%S").replace(tzinfo=EAT)


@dataclass(frozen=True)
class TariffBand:
    min_cents: int
    max_cents: int
    charge_cents: int


@dataclass(frozen=True)
class B2CTariff:
    """Safaricom's B2C charge per amount band; the B2C result does not report it, so it is configured."""

    bands: tuple[TariffBand, ...]

    @classmethod
    def parse(cls, rows: list[list[object]] | list[tuple[object, ...]]) -> B2CTariff:
        bands = []
        for row in rows:
            if len(row) != 3:
                raise GatewayRuleError("each tariff band is [min_kes, max_kes, charge_kes]")
            low, high, charge = (parse_kes_to_cents(v) for v in row)
            if high < low:
                raise GatewayRuleError("a tariff band's maximum is below its minimum")
            bands.append(TariffBand(low, high, charge))
        bands.sort(key=lambda b: b.min_cents)
        for before, after in pairwise(bands):
            if after.min_cents <= before.max_cents:
                raise GatewayRuleError("tariff bands overlap")
        if not bands:
            raise GatewayRuleError("the tariff needs at least one band")
        return cls(tuple(bands))

    def charge_for(self, amount_cents: int) -> int:
        for band in self.bands:
            if band.min_cents <= amount_cents <= band.max_cents:
                return band.charge_cents
        if amount_cents > self.bands[-1].max_cents:
            return self.bands[-1].charge_cents
        return self.bands[0].charge_cents


# Illustrative bands (KES) for a registered-customer B2C payment. Configure your contract's tariff
# with PAYMENTS_B2C_TARIFF; these are a placeholder, not Safaricom's published figures.
DEFAULT_B2C_TARIFF: list[list[object]] = [
    ["10", "100", "0"],
    ["101", "1500", "5"],
    ["1501", "5000", "9"],
    ["5001", "20000", "11"],
    ["20001", "250000", "13"],
]
