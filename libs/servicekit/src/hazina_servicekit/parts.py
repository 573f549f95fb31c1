"""What every service's ``bootstrap.build`` hands back, as a base for its ``Container``.

Each service's container adds the parts of its own (its application, read models, adapters);
these are the ones every service has: its settings, its database pool, the verifier of staff
tokens and the ``Service`` that runs it all, and how they are closed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Generic, TypeVar

from psycopg_pool import ConnectionPool

from hazina_servicekit.auth import TokenVerifier
from hazina_servicekit.service import Service
from hazina_servicekit.settings import ServiceSettings

Settings = TypeVar("Settings", bound=ServiceSettings)


@dataclass(kw_only=True)
class ServiceParts(Generic[Settings]):
    settings: Settings
    pool: ConnectionPool
    verifier: TokenVerifier
    service: Service = field(init=False)

    def close(self) -> None:
        """Close the service's application, then its pool (a subclass closes its own parts first)."""
        self.service.app.close()
        self.pool.close()
