"""Base of every public event: a name, a version and a subject, registered once."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict

from hazina_contracts.subjects import Stream, event_subject

_REGISTRY: dict[tuple[str, int], type[ContractEvent]] = {}


class ContractEvent(BaseModel):
    """A public fact one service tells the others. Change it only by raising ``VERSION``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    TYPE: ClassVar[str]
    VERSION: ClassVar[int]
    STREAM: ClassVar[Stream]
    AGGREGATE: ClassVar[str]
    EVENT: ClassVar[str]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "TYPE" in cls.__dict__:
            key = (cls.TYPE, cls.VERSION)
            if key in _REGISTRY:
                raise TypeError(f"{cls.TYPE} v{cls.VERSION} is defined twice")
            _REGISTRY[key] = cls

    @classmethod
    def subject(cls) -> str:
        return event_subject(cls.STREAM, cls.AGGREGATE, cls.EVENT)


def event_class(type_: str, version: int) -> type[ContractEvent]:
    """Look up the model for an envelope's ``type`` and ``version``."""
    try:
        return _REGISTRY[(type_, version)]
    except KeyError:
        raise LookupError(f"unknown event {type_} v{version}") from None


def all_events() -> list[type[ContractEvent]]:
    """The published events: those defined in this package (tests may define their own)."""
    published = (c for c in _REGISTRY.values() if c.__module__.startswith("hazina_contracts."))
    return sorted(published, key=lambda c: (c.TYPE, c.VERSION))
