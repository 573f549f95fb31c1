"""Text that may come in through the edge: refused when it holds what no stored text may hold.

An accepted request becomes an event, and an event is forever. PostgreSQL ``text`` cannot hold
NUL, a lone surrogate cannot be encoded as UTF-8, and control characters in a name or a receipt
number are never what a person meant; an event carrying one could never be projected. So every
string a request carries is one of these types, checked before anything is written:

- ``PlainText``: no C0 or C1 control character (tab and newlines included), no DEL, no surrogate,
  no Unicode non-character. For names, identifiers, search terms, path segments.
- ``MultilineText``: the same, but tab, ``\\n`` and ``\\r`` are allowed: for notes, reasons and
  descriptions where a line break is sensible.

Nothing is stripped or replaced silently: text that breaks the rule is refused with a message the
error model prefixes with the field's name (``name: must not contain control characters ...``).
Length and pattern rules still go on the field (``Field(max_length=...)``, ``Query(...)``).

A ``str`` subclass that reads and normalises itself (``ReceiptNumber``, ``Msisdn`` from
``hazina_contracts``) takes the rule too: ``Annotated[ReceiptNumber, TextRule()]``. For those the
text is checked as it was sent, before the type trims or upper-cases it, so a control character
is named as such and never trimmed away unseen.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import GetCoreSchemaHandler
from pydantic_core import core_schema


def _noncharacters() -> str:
    """U+FDD0..U+FDEF and the last two code points of every plane, as a regex class body."""
    ranges = ["\ufdd0-\ufdef"]
    for plane in range(17):
        low = plane * 0x10000 + 0xFFFE
        ranges.append(f"{chr(low)}{chr(low + 1)}")
    return "".join(ranges)


_ALWAYS = "\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff" + _noncharacters()
_FORBIDDEN_PLAIN = re.compile(f"[{_ALWAYS}\t\n\r]")
_FORBIDDEN_MULTILINE = re.compile(f"[{_ALWAYS}]")


def _describe(ch: str) -> str:
    code = ord(ch)
    if 0xD800 <= code <= 0xDFFF:
        kind = "an unpaired surrogate"
    elif code <= 0x1F or 0x7F <= code <= 0x9F:
        kind = "a control character"
    else:
        kind = "a Unicode non-character"
    return f"{kind} (U+{code:04X})"


def text_problem(value: str, *, multiline: bool = False) -> str | None:
    """Why ``value`` may not be stored as text, or ``None`` when it may.

    For edges that are not pydantic fields (an imported spreadsheet's cells, a statement's rows).
    """
    found = (_FORBIDDEN_MULTILINE if multiline else _FORBIDDEN_PLAIN).search(value)
    if found is None:
        return None
    allowed = "" if multiline else "; use a single line"
    return (
        f"must not contain control characters: found {_describe(found.group())} "
        f"at position {found.start() + 1}{allowed}"
    )


@dataclass(frozen=True)
class TextRule:
    """The pydantic marker behind ``PlainText`` and ``MultilineText`` (the route audit looks for it)."""

    multiline: bool = False

    def check(self, value: str) -> str:
        problem = text_problem(value, multiline=self.multiline)
        if problem is not None:
            raise ValueError(problem)
        return value

    def check_sent(self, value: Any) -> Any:
        """The check on input not yet read as text (anything else is left to the type's reading)."""
        return self.check(value) if isinstance(value, str) else value

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        if isinstance(source, type) and issubclass(source, str) and source is not str:
            return core_schema.no_info_before_validator_function(self.check_sent, handler(source))
        return core_schema.no_info_after_validator_function(self.check, handler(source))


PlainText = Annotated[str, TextRule()]
MultilineText = Annotated[str, TextRule(multiline=True)]

LIKE_ESCAPE = "\\"


def like_contains(term: str) -> str:
    """A LIKE/ILIKE pattern matching ``term`` literally anywhere: use with ``ESCAPE '\\'``.

    ``%`` and ``_`` in a search box are characters to find, not wildcards; without this,
    ``search=%`` matches every row.
    """
    escaped = (
        term.replace(LIKE_ESCAPE, LIKE_ESCAPE * 2)
        .replace("%", LIKE_ESCAPE + "%")
        .replace("_", LIKE_ESCAPE + "_")
    )
    return f"%{escaped}%"
