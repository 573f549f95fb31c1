"""What the use cases need from outside: read-side lookups and a place for photos."""

from __future__ import annotations

import uuid
from typing import Protocol


class Lookups(Protocol):
    """Questions answered from origination's own read models and its savings projection."""

    def client_in_group(self, group_id: uuid.UUID, national_id: str) -> uuid.UUID | None: ...

    def client_by_national_id(self, national_id: str) -> uuid.UUID | None: ...

    def repaid_loans(self, client_id: uuid.UUID) -> int: ...

    def open_guarantees(self, client_id: uuid.UUID) -> int: ...

    def savings_cents(self, client_id: uuid.UUID) -> int: ...

    def active_products_of_type(self, product_type: str) -> list[uuid.UUID]: ...

    def loan_of_guarantor(self, guarantor_id: uuid.UUID) -> uuid.UUID | None: ...

    def groups_named(self, names: list[str]) -> list[str]: ...

    def national_ids_taken(self, national_ids: list[str]) -> list[str]: ...


class PhotoStore(Protocol):
    def save(self, data: bytes, extension: str) -> str:
        """Store the bytes; returns the content-addressed file name."""
        ...
