"""Hazina's public contracts: what crosses a service boundary, and nothing else."""

from hazina_contracts.envelope import EventEnvelope
from hazina_contracts.money import KES, AmountCents, MoneyParseError, parse_kes_to_cents
from hazina_contracts.phones import Msisdn, MsisdnError
from hazina_contracts.receipts import MpesaReceipt, ReceiptError, ReceiptNumber

__all__ = [
    "KES",
    "AmountCents",
    "EventEnvelope",
    "MoneyParseError",
    "MpesaReceipt",
    "Msisdn",
    "MsisdnError",
    "ReceiptError",
    "ReceiptNumber",
    "parse_kes_to_cents",
]
