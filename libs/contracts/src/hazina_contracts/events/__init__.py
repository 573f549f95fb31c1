"""Versioned public events, one module per producing service."""

from hazina_contracts.events.base import ContractEvent, all_events, event_class
from hazina_contracts.events import identity  # noqa: F401  (registers the identity events)

__all__ = ["ContractEvent", "all_events", "event_class"]
