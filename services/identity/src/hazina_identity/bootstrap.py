"""The one place identity is wired together: settings in, a ready container out."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import structlog
from fastapi import FastAPI

from hazina_contracts.subjects import Stream
from hazina_identity.adapters import oversight
from hazina_identity.adapters.branch_directory import DDL as DIRECTORY_DDL
from hazina_identity.adapters.branch_directory import BranchDirectory, apply_directory_event
from hazina_identity.adapters.contract_mapping import to_contract
from hazina_identity.adapters.login_attempts import PostgresLoginAttempts
from hazina_identity.adapters.passwords import Argon2Hasher
from hazina_identity.adapters.sessions import PostgresSessionStore, StoredRevocations
from hazina_identity.adapters.signing_keys import SigningKeys
from hazina_identity.adapters.system import SystemClock
from hazina_identity.adapters.system_log import FileSystemLog
from hazina_identity.adapters.user_directory import UserDirectory
from hazina_identity.api.app import create_app
from hazina_identity.api.deps import IdentityApi
from hazina_identity.api.routes.oversight import OversightApi
from hazina_identity.application.branches import Branches
from hazina_identity.application.identity import Identity, generate_password
from hazina_identity.application.ports import Clock
from hazina_identity.domain.login_throttle import ThrottlePolicy
from hazina_identity.settings import IdentitySettings
from hazina_servicekit.auth import TokenVerifier
from hazina_servicekit.parking import ParkingLot
from hazina_servicekit.parts import ServiceParts
from hazina_servicekit.projection import Projection
from hazina_servicekit.service import Relay, Runtime, event_store, open_store

SERVICE = "identity"
log = structlog.get_logger(__name__)


@dataclass(kw_only=True)
class Container(ServiceParts[IdentitySettings]):
    identity: Identity
    keys: SigningKeys
    directory: UserDirectory
    directory_projection: Projection
    clock: Clock
    oversight: OversightApi


def build(
    settings: IdentitySettings, *, clock: Clock | None = None, seed: bool = True
) -> Container:
    clock = clock or SystemClock()
    pool = open_store(settings)
    access_ttl = timedelta(seconds=settings.access_token_ttl_seconds)
    keys = SigningKeys(pool, issuer=settings.token_issuer, access_ttl=access_ttl)
    keys.ensure_key(clock.now())
    window = timedelta(seconds=settings.login_window_seconds)
    lockout = timedelta(seconds=settings.lockout_seconds)
    identity = Identity(
        event_store(settings),
        hasher=Argon2Hasher(
            time_cost=settings.argon2_time_cost, memory_cost=settings.argon2_memory_kib
        ),
        clock=clock,
        sessions=PostgresSessionStore(
            pool, ttl=timedelta(seconds=settings.refresh_token_ttl_seconds)
        ),
        attempts=PostgresLoginAttempts(pool, keep_for=4 * max(window, lockout)),
        signer=keys,
        throttle=ThrottlePolicy(
            pair_max_failures=settings.login_max_failures,
            address_max_failures=settings.address_max_failures,
            window=window,
            lockout=lockout,
            unfamiliar_free_failures=settings.unfamiliar_free_failures,
            backoff_base=timedelta(seconds=settings.backoff_base_seconds),
            familiar_for=timedelta(days=settings.known_address_days),
        ),
    )
    parking = ParkingLot(pool, identity)
    projection = Projection(
        identity, pool, "staff_directory", apply_directory_event, DIRECTORY_DDL, parking=parking
    )
    oversight.prepare(pool)
    container = Container(
        settings=settings,
        pool=pool,
        identity=identity,
        keys=keys,
        directory=UserDirectory(pool),
        directory_projection=projection,
        parking=parking,
        # Identity refuses revoked tokens from its own tables, written before the facts are
        # saved: no wait for its events to come back over NATS, and no dependence on NATS.
        verifier=TokenVerifier(
            keys.jwks,
            issuer=settings.token_issuer,
            min_refresh_seconds=0,
            revocations=StoredRevocations(pool),
        ),
        clock=clock,
        oversight=OversightApi(
            audit=oversight.PostgresAuditTrail(pool),
            notifications=oversight.PostgresNotifications(pool),
            system_log=FileSystemLog(settings.system_log_path),
        ),
    )
    if seed:
        seed_super_admin(container)
    container.run_service(
        SERVICE,
        identity,
        http_app,
        relay=Relay(Stream.IDENTITY, to_contract),
        consumers=oversight.consumers(),  # the audit log and staff notifications
        projections=[projection],
        # Identity refuses revoked tokens from its own tables (the verifier above).
        follows_revocations=False,
    )
    return container


def seed_super_admin(container: Container) -> None:
    """The first start creates the super admin; a generated password is shown once, never logged."""
    settings = container.settings
    given = settings.seed_superadmin_password
    password = given.get_secret_value() if given else generate_password()
    created = container.identity.ensure_super_admin(
        username=settings.seed_superadmin_username,
        password=password,
        national_id=settings.seed_superadmin_national_id,
        phone=settings.seed_superadmin_phone,
    )
    if created is None:
        return
    log.info("super_admin_seeded", username=created.username)
    if given is None:
        if settings.seed_superadmin_password_file:
            path = Path(settings.seed_superadmin_password_file)
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as handle:
                handle.write(password + "\n")
            return  # the local runtime shows it once, on the terminal only, never in its log file
        sys.stderr.write(
            "\n*** Hazina first start: super admin "
            f"'{created.username}' was created with password: {password}\n"
            "*** It is shown only this once. Change it after signing in.\n\n"
        )
        sys.stderr.flush()


def http_app(container: Container, runtime: Runtime) -> FastAPI:
    """Identity's HTTP app over the parts ``build`` made, with the workers ``runtime`` brings."""
    api = IdentityApi(
        identity=container.identity,
        directory=container.directory,
        directory_projection=container.directory_projection,
        parking=container.parking,
        branches=Branches(
            container.identity,
            BranchDirectory(container.pool),
            container.directory_projection.catch_up,
        ),
        branch_directory=BranchDirectory(container.pool),
    )
    return create_app(api, runtime, oversight_api=container.oversight, jwks=container.keys.jwks)
