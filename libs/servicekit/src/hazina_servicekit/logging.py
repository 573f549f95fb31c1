"""structlog JSON logs with correlation ids; phone numbers, national ids and secrets masked."""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Mapping, MutableMapping
from typing import Any

import structlog

_SECRET_KEYS = re.compile(
    r"pass(word)?|secret|token|authorization|credential|api[_-]?key|(^|_)pin($|_)", re.I
)
_PHONE_KEYS = re.compile(r"phone|msisdn|mobile", re.I)
_NATIONAL_ID_KEYS = re.compile(r"national_?id|id_?number", re.I)
# Kenyan mobile numbers in any common spelling: 2547XXXXXXXX, +2541XXXXXXXX, 07XXXXXXXX, 01XXXXXXXX.
_PHONE_IN_TEXT = re.compile(r"(?<!\d)(?:\+?254|0)(?:7|1)\d{8}(?!\d)")


def mask_phone(value: str) -> str:
    digits = re.sub(r"\D", "", value)
    if len(digits) < 6:
        return "***"
    return f"{digits[:3]}****{digits[-3:]}"


def mask_national_id(value: str) -> str:
    text = str(value)
    return "****" + text[-2:] if len(text) > 2 else "****"


def mask_text(value: str) -> str:
    """Free text (an error message) with any Kenyan phone number in it masked."""
    return _PHONE_IN_TEXT.sub(lambda m: mask_phone(m.group(0)), value)


def _mask_value(key: str, value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _mask_value(str(k), v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_mask_value(key, v) for v in value]
    if value is None or (isinstance(value, bool | int | float) and not _PHONE_KEYS.search(key)):
        return value
    if _SECRET_KEYS.search(key) and not key.endswith("_id"):
        return "***"
    if _PHONE_KEYS.search(key):
        return mask_phone(str(value))
    if _NATIONAL_ID_KEYS.search(key):
        return mask_national_id(str(value))
    if isinstance(value, str):
        return mask_text(value)
    return value


def mask_personal_data(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """structlog processor: no phone number, national id, password or token leaves in clear."""
    return {key: _mask_value(key, value) for key, value in event_dict.items()}


def configure_logging(service: str, *, level: str = "INFO", json: bool = True) -> None:
    processors: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        mask_personal_data,
        structlog.processors.format_exc_info,
    ]
    renderer: Any = (
        structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[*processors, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=structlog.PrintLoggerFactory(sys.stdout),
        cache_logger_on_first_use=False,
    )
    structlog.contextvars.bind_contextvars(service=service)
    # Route the standard library's records (uvicorn, psycopg) through the same masking.
    logging.basicConfig(level=level.upper(), stream=sys.stdout, format="%(message)s", force=True)
    logging.getLogger("uvicorn.access").disabled = True
