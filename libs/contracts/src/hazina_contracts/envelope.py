"""The envelope every published event travels in."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

from hazina_contracts.events.base import ContractEvent, event_class


class EventEnvelope(BaseModel):
    """Routing and tracing metadata around a versioned contract event's ``data``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    event_id: UUID
    type: str = Field(min_length=1)
    version: int = Field(ge=1)
    occurred_at: AwareDatetime
    producer: str = Field(min_length=1)
    correlation_id: str = Field(min_length=1)
    causation_id: str | None = None
    subject: str = Field(min_length=1)
    data: dict[str, Any]

    @field_validator("occurred_at")
    @classmethod
    def _in_utc(cls, value: datetime) -> datetime:
        return value.astimezone(UTC)

    def event(self) -> ContractEvent:
        """The contract event carried in ``data``, read by the model of its type and version
        (``LookupError`` for one this build does not know)."""
        return event_class(self.type, self.version).model_validate(self.data)

    def to_bytes(self) -> bytes:
        return self.model_dump_json().encode()

    @classmethod
    def from_bytes(cls, payload: bytes) -> EventEnvelope:
        return cls.model_validate_json(payload)
