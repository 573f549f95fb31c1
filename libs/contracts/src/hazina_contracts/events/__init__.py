"""Versioned public events, one module per producing service."""

from hazina_contracts.events import identity, ledger, origination, payments, ussd
from hazina_contracts.events.base import ContractEvent, all_events, event_class

__all__ = [
    "ContractEvent",
    "all_events",
    "event_class",
    "identity",
    "ledger",
    "origination",
    "payments",
    "ussd",
]
