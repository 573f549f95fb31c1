"""What every service's ``bootstrap.build`` hands back, as a base for its ``Container``.

Each service's container adds the parts of its own (its application, read models, adapters);
these are the ones every service has: its settings, its database pool, the verifier of staff
tokens, its parking lot and the ``Service`` that runs it all (``run_service`` declares it over
these parts and starts it), and how they are closed.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Generic, Self, TypeVar

from eventsourcing.application import Application
from fastapi import FastAPI
from psycopg_pool import ConnectionPool

from hazina_servicekit.auth import TokenVerifier
from hazina_servicekit.parking import ParkingLot
from hazina_servicekit.runtime import Worker
from hazina_servicekit.service import Consumer, Followed, Job, Relay, Runtime, Service
from hazina_servicekit.settings import ServiceSettings

Settings = TypeVar("Settings", bound=ServiceSettings)


def staff_token_verifier(
    settings: ServiceSettings, given: TokenVerifier | None = None
) -> TokenVerifier:
    """How a service other than identity judges staff tokens: by identity's published keys
    (``jwks_url``, ``token_issuer``), unless one is ``given`` (a test's)."""
    if given is not None:
        return given
    return TokenVerifier.from_url(settings.jwks_url, issuer=settings.token_issuer)


@dataclass(kw_only=True)
class ServiceParts(Generic[Settings]):
    settings: Settings
    pool: ConnectionPool
    verifier: TokenVerifier
    parking: ParkingLot
    service: Service = field(init=False)

    def run_service(
        self,
        name: str,
        app: Application[uuid.UUID],
        http: Callable[[Self, Runtime], FastAPI],
        *,
        relay: Relay | None = None,
        consumers: Sequence[Consumer] = (),
        projections: Sequence[Followed] = (),
        jobs: Sequence[Job] = (),
        workers: Sequence[Worker] = (),
        on_stop: Sequence[Callable[[], Awaitable[None]]] = (),
        follows_revocations: bool = True,
        drain_nats: bool = True,
    ) -> None:
        """Declare the service these parts make (``Service``: its settings, pool, parking lot and
        token verifier are these parts'; ``http`` builds its HTTP app over them) and start it."""
        self.service = Service(
            name=name,
            settings=self.settings,
            app=app,
            pool=self.pool,
            parking=self.parking,
            verifier=self.verifier,
            http=lambda runtime: http(self, runtime),
            relay=relay,
            consumers=consumers,
            projections=projections,
            jobs=jobs,
            workers=workers,
            on_stop=on_stop,
            follows_revocations=follows_revocations,
            drain_nats=drain_nats,
        )
        self.service.start()

    def close(self) -> None:
        """Close the service's application, then its pool (a subclass closes its own parts first)."""
        self.service.app.close()
        self.pool.close()
