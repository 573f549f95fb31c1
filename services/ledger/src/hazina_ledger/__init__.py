"""Hazina ledger: every shilling that moves is an immutable event; every balance is derived."""
