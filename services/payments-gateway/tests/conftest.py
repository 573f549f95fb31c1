"""Fixtures of the gateway's tests; the harness lives in payments_harness (importable by the tests)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from payments_harness import (
    daraja,
    daraja_keys,
    daraja_session,
    gateway,
    staff,
    start_gateway,
)

__all__ = ["daraja", "daraja_keys", "daraja_session", "gateway", "staff", "start_gateway"]
