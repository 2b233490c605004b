"""Assembles the services of one server (or of an embedded client) from its settings."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from trackwire.server.artifact_service import ArtifactService
from trackwire.server.artifacts.locations import ArtifactLocations
from trackwire.server.auth.guard import Guard, secure
from trackwire.server.auth.permissions import READ
from trackwire.server.auth.tokens import TokenStore
from trackwire.server.chart_summaries import ChartSummaries
from trackwire.server.logged_model_service import LoggedModelService
from trackwire.server.registry_service import ModelRegistryService
from trackwire.server.responses import answering_messages
from trackwire.server.service import TrackingService
from trackwire.server.store.engine import create_store_engine, upgrade_schema
from trackwire.server.store.quotas import Quotas
from trackwire.server.store.registry import Registry
from trackwire.server.store.rows import DEFAULT_EXPERIMENT_ID
from trackwire.server.store.tracking_store import TrackingStore
from trackwire.v1 import (
    artifact_service_pb2,
    logged_model_service_pb2,
    model_registry_service_pb2,
    tracking_service_pb2,
)

_TRACKING = tracking_service_pb2.DESCRIPTOR.services_by_name["TrackingService"]
REGISTRY = model_registry_service_pb2.DESCRIPTOR.services_by_name["ModelRegistryService"]
LOGGED_MODEL_SERVICE = logged_model_service_pb2.DESCRIPTOR.services_by_name["LoggedModelService"]


@dataclass(frozen=True)
class AuthSettings:
    """`trackwire server --auth`: tokens required, experiment permissions enforced."""

    # The permission of a user on an experiment they have no grant for (MLflow: READ).
    default_permission: str = READ


@dataclass
class Services:
    # Answers messages (or, for the largest reads, ResponseFields: see responses.py).
    tracking_fields: TrackingService
    artifacts: ArtifactService
    logged_models: LoggedModelService
    store: TrackingStore
    registry: ModelRegistryService
    chart_summaries: ChartSummaries
    # Set when authentication is on: verifies the tokens the wires receive, and decides what
    # each caller may do.
    tokens: TokenStore | None = None
    guard: Guard | None = None

    @cached_property
    def tracking(self) -> TrackingService:
        """The tracking service answering messages only (gRPC, the embedded client)."""
        return answering_messages(_TRACKING, self.tracking_fields)

    def close(self) -> None:
        self.chart_summaries.close()
        self.store.db.engine.dispose()


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
    store = TrackingStore(engine, quotas)
    locations = ArtifactLocations(artifacts_destination)
    store.experiments.ensure_default(locations.default_experiment_location(DEFAULT_EXPERIMENT_ID))
    chart_summaries = ChartSummaries(store.db)
    services = Services(
        tracking_fields=TrackingService(store, locations, chart_summaries),
        artifacts=ArtifactService(store, locations),
        logged_models=LoggedModelService(store, locations),
        store=store,
        registry=ModelRegistryService(store, Registry(store.db)),
        chart_summaries=chart_summaries,
    )
    if auth is not None:
        guard = Guard(
            store,
            services.tracking_fields.permissions,
            auth.default_permission,
            services.registry.registry,
        )
        services.tokens = TokenStore(store.db)
        services.guard = guard
        services.tracking_fields = secure(_TRACKING, services.tracking_fields, guard)
        services.artifacts = secure(
            artifact_service_pb2.DESCRIPTOR.services_by_name["ArtifactService"],
            services.artifacts,
            guard,
        )
        services.registry = secure(REGISTRY, services.registry, guard)
        services.logged_models = secure(LOGGED_MODEL_SERVICE, services.logged_models, guard)
    return services
