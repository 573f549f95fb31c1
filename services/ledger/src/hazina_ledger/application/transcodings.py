"""How the event store encodes the ledger's values that JSON has no type for.

The library registers UUID, Decimal and datetime. A savings account's snapshot (taken every 100
events) also holds a ``set`` (its reversed deposits) and ``Withdrawal`` values; without these, the
snapshot could not be encoded after the batch's events were recorded, the group commit fell back
to re-running each command alone, and those callers heard "duplicate" for what had just posted.
A new value type in an aggregate's state or an event needs its transcoding here
(``tests/test_group_commit_fast_path.py`` runs the money loop and fails on any fallback).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from eventsourcing.persistence import JSONTranscoder, Transcoding

from hazina_ledger.domain.savings_account import Withdrawal


class SetAsList(Transcoding):
    type = set
    name = "set"

    def encode(self, obj: set[Any]) -> list[Any]:
        return sorted(obj, key=repr)  # one order, so equal sets are stored alike

    def decode(self, data: list[Any]) -> set[Any]:
        return set(data)


class WithdrawalAsDict(Transcoding):
    type = Withdrawal
    name = "ledger.Withdrawal"

    def encode(self, obj: Withdrawal) -> dict[str, Any]:
        return dataclasses.asdict(obj)

    def decode(self, data: dict[str, Any]) -> Withdrawal:
        return Withdrawal(**data)


TRANSCODINGS: tuple[Transcoding, ...] = (SetAsList(), WithdrawalAsDict())


def register_ledger_transcodings(transcoder: JSONTranscoder) -> None:
    for transcoding in TRANSCODINGS:
        transcoder.register(transcoding)
