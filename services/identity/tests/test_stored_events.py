"""What earlier releases of identity stored, as today's code must read it: the aggregates, the
directory projection and the relay's contract mapping.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

from hazina_identity.adapters.contract_mapping import to_contract
from hazina_identity.bootstrap import Container, build
from hazina_identity.domain.roles import Role
from hazina_identity.domain.sign_in_address import SignInAddress
from hazina_identity.domain.staff_user import StaffUser
from hazina_identity.settings import IdentitySettings
from hazina_servicekit.promises import StoredEventsPromise
from hazina_servicekit.stored_events import published, read_fixture


class TestStoredEvents(StoredEventsPromise):
    package = "hazina_identity"
    prefix = "hazina.identity"
    some_stored_classes = {
        "StaffUser",
        "StaffUser.Created",
        "SignInAddress",
        "SignInAddress.LockedOut",
    }

    @pytest.fixture
    def container(self, database_url: str, nats_url: str) -> Iterator[Container]:
        """Identity on an empty store: not even the super admin is seeded (the fixture has one)."""
        settings = IdentitySettings(
            database_url=database_url, nats_url=nats_url, run_workers=False, argon2_memory_kib=8192
        )
        with closing(build(settings, seed=False)) as built:
            yield built

    def check_read_back(self, container: Container, aggregates: list[Any], fixture: Path) -> None:
        users = {a.username: a for a in aggregates if isinstance(a, StaffUser)}
        assert users["superadmin"].role == Role.SUPER_ADMIN and users["superadmin"].active
        wanjiru = users["wanjiru"]
        assert (wanjiru.role, wanjiru.active, wanjiru.name) == (
            Role.INITIATOR_ADMIN,
            True,
            "Wanjiru Njoroge",
        )
        assert wanjiru.password_hash.startswith("$argon2id$") and wanjiru.last_login_at is not None
        [address] = [a for a in aggregates if isinstance(a, SignInAddress)]
        assert address.locked_until is not None

        assert container.directory_projection.catch_up() == len(read_fixture(fixture))
        listed = container.directory.get(wanjiru.id)
        assert listed is not None and (listed["role"], listed["active"]) == (
            "initiator_admin",
            True,
        )

        assert {
            c.TYPE for c in published(container.identity, to_contract)
        } >= {  # at today's versions (UserDeactivated v2)
            "UserCreated",
            "UserDeactivated",
            "LockedOut",
            "AddressLockedOut",
        }
