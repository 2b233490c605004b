"""Assembles the services of one server (or of an embedded client) from its settings."""

from __future__ import annotations

from dataclasses import dataclass

from trackwire.server.artifact_service import ArtifactService
from trackwire.server.artifacts.locations import ArtifactLocations
from trackwire.server.auth.guard import Guard, secure
from trackwire.server.auth.permissions import READ
from trackwire.server.auth.tokens import TokenStore
from trackwire.server.quotas import Quotas
from trackwire.server.service import TrackingService
from trackwire.server.store.engine import create_store_engine, upgrade_schema
from trackwire.server.store.sql_store import DEFAULT_EXPERIMENT_ID, SqlStore
from trackwire.v1 import artifact_service_pb2, tracking_service_pb2


@dataclass(frozen=True)
class AuthSettings:
    """`trackwire server --auth`: tokens required, experiment permissions enforced."""

    # The permission of a user on an experiment they have no grant for (MLflow: READ).
    default_permission: str = READ


@dataclass
class Services:
    tracking: TrackingService
    artifacts: ArtifactService
    store: SqlStore
    # Set when authentication is on: verifies the tokens the wires receive.
    tokens: TokenStore | None = None

    def close(self) -> None:
        self.store.engine.dispose()


def open_services(
    backend_store_uri: str,
    artifacts_destination: str,
    *,
    quotas: Quotas | None = None,
    auth: AuthSettings | None = None,
    fsync_commits: bool = False,
) -> Services:
    """Opens (creating or upgrading) the store and the artifact locations."""
    engine = create_store_engine(backend_store_uri, fsync_commits)
    upgrade_schema(engine)
    store = SqlStore(engine)
    if quotas is not None:
        store.quotas = quotas
    locations = ArtifactLocations(artifacts_destination)
    store.ensure_default_experiment(locations.default_experiment_location(DEFAULT_EXPERIMENT_ID))
    services = Services(
        tracking=TrackingService(store, locations),
        artifacts=ArtifactService(store, locations),
        store=store,
    )
    if auth is not None:
        guard = Guard(store, services.tracking.permissions, auth.default_permission)
        services.tokens = TokenStore(engine)
        services.tracking = secure(
            tracking_service_pb2.DESCRIPTOR.services_by_name["TrackingService"],
            services.tracking,
            guard,
        )
        services.artifacts = secure(
            artifact_service_pb2.DESCRIPTOR.services_by_name["ArtifactService"],
            services.artifacts,
            guard,
        )
    return services
