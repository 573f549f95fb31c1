"""Hazina's public contracts: what crosses a service boundary, and nothing else."""

from hazina_contracts.envelope import EventEnvelope
from hazina_contracts.money import KES, Money, MoneyParseError, parse_kes_to_cents

__all__ = ["KES", "EventEnvelope", "Money", "MoneyParseError", "parse_kes_to_cents"]
