"""The ledger's settings, read from the environment once at start-up."""

from __future__ import annotations

import os

from pydantic import Field

from hazina_servicekit.settings import ServiceSettings, service_config


class LedgerSettings(ServiceSettings):
    """Each field is read from ``LEDGER_<FIELD>`` unless it names another variable."""

    model_config = service_config("LEDGER_")

    db_schema: str = "ledger"
    port: int = 8103
    rounding_mode: str = "HALF_EVEN"
    weekly_month_convention: str = Field(default="calendar")
    in_arrears_after_days: int = Field(default=1, ge=1)
    defaulted_after_days: int = Field(default=90, ge=1)
    arrears_tolerance_cents: int = Field(default=0, ge=0)
    arrears_check_interval_seconds: float = Field(default=3600.0, gt=0)
    parked_retry_interval_seconds: float = Field(default=5.0, gt=0)
    max_batch: int = Field(default=500, ge=1, le=5000)
    # The gateway's confirmations taken per batch by the payments consumer (one commit each). At
    # 200 a batch's fixed costs kept the consumer behind a busy paybill (bench/README.md: 500
    # and 1,000 drained the C2B bench's backlog in half the time; 2,000 was no better).
    consumer_batch_size: int = Field(default=500, ge=1, le=5000)
    # How long the batch of a ledger process that died waits before it is delivered again.
    consumer_ack_wait_seconds: float = Field(default=30.0, ge=1.0)
    pool_size: int = Field(default=8, ge=2)
    # Processes ``hazina-ledger replay`` splits its rebuild over, by aggregate (one per core, at most 2).
    replay_workers: int = Field(default_factory=lambda: min(os.cpu_count() or 1, 2), ge=1, le=16)
