"""Write the USSD service's stored-events fixture for the release checked out: once per release.

Not collected by ``make test`` (the name does not start with ``test_``); run it by path on a
committed tree, then commit the new file under ``tests/fixtures/stored_events/``:

    DATABASE_URL=postgresql://... .venv/bin/pytest services/ussd/tests/write_stored_events.py

It drives the service as Africa's Talking and staff would: a PIN set, three wrong PINs and the
lock, an admin's unlock, a wrong PIN forgiven by the right one, the language chosen, the PIN
changed, a loan applied for and an STK Push requested. ``test_stored_events.py`` proves that
later code still reads them. Never regenerate an existing file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from ussd_harness import Phone, World

from hazina_servicekit.stored_events import release_of, write_fixture
from hazina_ussd.bootstrap import Container

HERE = Path(__file__).parent
PIN = "4826"  # pragma: allowlist secret


def test_write_stored_events(
    client: TestClient, world: World, container: Container, mint: Any
) -> None:
    release = release_of(HERE.parent / "src")
    client_id = world.client("254711000099", national_id="29001234")
    world.savings(client_id, 2_000_00)
    phone = Phone(client, "254711000099")
    phone.dial()
    phone.send("29001234")
    phone.send(PIN)
    phone.send(PIN)
    phone.dial()
    for wrong in ("1111", "2222", "3333"):
        phone.send(wrong)
    client.post(f"/api/ussd/borrowers/{client_id}/unlock", headers=mint.headers("super_admin"))
    phone.dial()
    phone.send("1111")
    phone.send(PIN)  # the right one forgives the wrong one
    for step in ("6", "1", "2", "6", "2", PIN, "5093", "5093"):  # Kiswahili, then a new PIN
        phone.send(step)
    phone.dial()
    for step in ("5093", "1", "5000", "2", "3", "1"):
        phone.send(step)
    world.disbursed_loan(world.client("254711000098", national_id="29001235"))
    other = Phone(client, "254711000098")
    other.dial()
    for step in ("29001235", PIN, PIN, "3", "1", "1"):  # sign up, then repay by STK Push
        other.send(step)
    write_fixture(
        container.ussd, HERE / "fixtures" / "stored_events", release=release, service="ussd"
    )
