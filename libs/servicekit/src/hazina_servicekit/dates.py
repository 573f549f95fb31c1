"""Dates and times that come in through the edge: ISO text only, in a sane range of years.

pydantic's lax parsing reads ``0`` as 1970-01-01 and a number as a unix timestamp, and accepts
years no loan ever had (0713, 9999). A date in a request is a business date a person typed or a
rail reported, so:

- ``IsoDate``: ``YYYY-MM-DD`` text, a real calendar day, year within ``MIN_YEAR``..``MAX_YEAR``.
- ``IsoDateTime``: ISO 8601 text with a UTC offset (``2025-02-01T14:30:05+03:00`` or ``...Z``),
  same years; a time without an offset is refused (an event's time is an instant).

Anything else (numbers, booleans, other layouts) is refused with a message the error model
prefixes with the field's name. Code may still pass ``date``/``datetime`` objects directly.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import GetCoreSchemaHandler
from pydantic_core import core_schema

MIN_YEAR = 1900
MAX_YEAR = 2200

_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", re.ASCII)
_DATETIME = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:[.,][0-9]{1,9})?)?"
    r"(?:Z|z|[+-][0-9]{2}(?::?[0-9]{2})?)",
    re.ASCII,
)
_MAX_TEXT = 40


def _in_range(year: int) -> None:
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise ValueError(f"the year must be between {MIN_YEAR} and {MAX_YEAR}")


def read_iso_date(value: object) -> dt.date:
    """A ``YYYY-MM-DD`` date (or a ``date`` from code); raises ``ValueError`` saying what is wrong."""
    if isinstance(value, dt.datetime):
        raise ValueError("must be a date (YYYY-MM-DD), not a date and time")
    if isinstance(value, dt.date):
        _in_range(value.year)
        return value
    if not isinstance(value, str) or len(value) > _MAX_TEXT or not _DATE.fullmatch(value):
        raise ValueError("must be a date written YYYY-MM-DD")
    try:
        day = dt.date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"'{value}' is not a calendar date") from None
    _in_range(day.year)
    return day


def read_iso_datetime(value: object) -> dt.datetime:
    """An ISO 8601 date and time with a UTC offset (or an aware ``datetime`` from code)."""
    if isinstance(value, dt.datetime):
        moment = value
    elif isinstance(value, str) and len(value) <= _MAX_TEXT and _DATETIME.fullmatch(value):
        try:
            moment = dt.datetime.fromisoformat(value.replace("z", "Z").replace(",", "."))
        except ValueError:
            raise ValueError(f"'{value}' is not a real date and time") from None
    else:
        raise ValueError(
            "must be an ISO 8601 date and time with a UTC offset, e.g. 2025-02-01T14:30:00+03:00"
        )
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("must carry a UTC offset (e.g. +03:00 or Z)")
    _in_range(moment.year)
    return moment


@dataclass(frozen=True)
class DateRule:
    """The pydantic marker behind ``IsoDate`` and ``IsoDateTime`` (the route audit looks for it)."""

    with_time: bool = False

    def read(self, value: Any) -> Any:
        return read_iso_datetime(value) if self.with_time else read_iso_date(value)

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.no_info_before_validator_function(self.read, handler(source))


IsoDate = Annotated[dt.date, DateRule()]
IsoDateTime = Annotated[dt.datetime, DateRule(with_time=True)]
