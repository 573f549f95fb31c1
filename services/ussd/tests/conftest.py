"""Fixtures of the USSD service's tests; the harness lives in ussd_harness (importable by the tests)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from ussd_harness import client, clock, container, mint, settings, world

__all__ = ["client", "clock", "container", "mint", "settings", "world"]
