"""Hazina's public contracts: what crosses a service boundary, and nothing else."""

from hazina_contracts.envelope import EventEnvelope
from hazina_contracts.money import KES, MoneyParseError, parse_kes_to_cents

__all__ = ["KES", "EventEnvelope", "MoneyParseError", "parse_kes_to_cents"]
