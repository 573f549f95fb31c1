"""The system log staff read at ``/api/logs``: the tail of the log file every service writes to.

Why a file: each service already writes structured JSON logs (structlog) to its output, with phone
numbers, national ids, tokens and passwords masked as they are written; the local runtime
(``make run``) collects every process's output, prefixed ``HH:MM:SS <process> | ``, in
``$HAZINA_STATE_DIR/logs/hazina.log``. Reading that file shows the whole system's log without any
service sending its logs anywhere new. A deployment that keeps its logs elsewhere names the file
in ``HAZINA_LOG_FILE``; with no file the answer is honestly empty.

Every line is masked once more when read (the masking is cheap and lines written by other
programs, or before a masking rule existed, pass through here too).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from hazina_identity.application.oversight import LogFile
from hazina_servicekit.logging import mask_personal_data, mask_text

# Only the end of the file is read: the page shows at most the newest thousand entries.
TAIL_BYTES = 4 * 1024 * 1024
_PREFIX = re.compile(r"^(\d{2}:\d{2}:\d{2}) (\S+)\s*\| ?(.*)$")
_SECRET_IN_TEXT = re.compile(r"(?i)(password|secret|token)(\s*[:=]\s*)\S+")
_LEVELS = {"warning": "warn", "critical": "error", "exception": "error", "fatal": "error"}
_ERROR_WORDS = re.compile(r"Traceback|\bERROR\b|\b\w+(Error|Exception):")
_WARN_WORDS = re.compile(r"\bWARN(ING)?\b")


def _level(name: object) -> str:
    text = str(name or "info").lower()
    return _LEVELS.get(text, text)


def _masked_text(text: str) -> str:
    return _SECRET_IN_TEXT.sub(lambda m: f"{m.group(1)}{m.group(2)}***", mask_text(text))


def parse_line(line: str) -> dict[str, str] | None:
    """One line of the collected log as the page shows it, masked; None for a blank line."""
    if not line.strip():
        return None
    clock, process, content = "", "", line
    prefixed = _PREFIX.match(line)
    if prefixed:
        clock, process, content = prefixed.groups()
        process = process.split(".")[0]  # honcho's "identity.1": the first identity process
    record: Any = None
    if content.startswith("{"):
        try:
            record = json.loads(content)
        except ValueError:
            record = None
    if isinstance(record, dict):
        masked = dict(mask_personal_data(None, "", record))
        event = str(masked.pop("event", ""))
        service = str(masked.pop("service", "") or process)
        timestamp = str(masked.pop("timestamp", "") or clock)
        level = _level(masked.pop("level", "info"))
        details = " ".join(f"{key}={_masked_text(str(value))}" for key, value in masked.items())
        message = f"{service}: {event}" + (f" {details}" if details else "")
        raw = json.dumps({"timestamp": timestamp, "level": level, "event": event, **masked})
        return {
            "timestamp": timestamp,
            "level": level,
            "message": _masked_text(message),
            "raw": _masked_text(raw),
        }
    text = _masked_text(content)
    if _ERROR_WORDS.search(content):
        level = "error"
    elif _WARN_WORDS.search(content):
        level = "warn"
    else:
        level = "info"
    message = f"{process}: {text}" if process else text
    return {"timestamp": clock, "level": level, "message": message, "raw": _masked_text(line)}


class FileSystemLog:
    def __init__(self, path: Path | None) -> None:
        self._path = path

    @property
    def source(self) -> str | None:
        return self._path.name if self._path is not None else None

    def entries(self, *, file: LogFile, level: str | None, limit: int) -> list[dict[str, str]]:
        if self._path is None or not self._path.is_file():
            return []
        with self._path.open("rb") as handle:
            size = handle.seek(0, 2)
            handle.seek(max(0, size - TAIL_BYTES))
            lines = handle.read().decode("utf-8", errors="replace").splitlines()
        if size > TAIL_BYTES:
            lines = lines[1:]  # the first line was cut in half
        wanted = _level(level) if level else None
        found: list[dict[str, str]] = []
        for line in reversed(lines):  # newest first
            entry = parse_line(line)
            if entry is None:
                continue
            if file == "error" and entry["level"] != "error":
                continue
            if wanted is not None and entry["level"] != wanted:
                continue
            found.append(entry)
            if len(found) >= limit:
                break
        return found
