"""Assembles the services of one server (or of an embedded client) from its settings."""

from __future__ import annotations

from dataclasses import dataclass

from trackwire.server.artifact_service import ArtifactService
from trackwire.server.artifacts.locations import ArtifactLocations
from trackwire.server.service import TrackingService
from trackwire.server.store.engine import create_store_engine, upgrade_schema
from trackwire.server.store.sql_store import DEFAULT_EXPERIMENT_ID, SqlStore


@dataclass
class Services:
    tracking: TrackingService
    artifacts: ArtifactService
    store: SqlStore

    def close(self) -> None:
        self.store.engine.dispose()


def open_services(backend_store_uri: str, artifacts_destination: str) -> Services:
    """Opens (creating or upgrading) the store and the artifact locations."""
    engine = create_store_engine(backend_store_uri)
    upgrade_schema(engine)
    store = SqlStore(engine)
    locations = ArtifactLocations(artifacts_destination)
    store.ensure_default_experiment(locations.default_experiment_location(DEFAULT_EXPERIMENT_ID))
    return Services(
        tracking=TrackingService(store, locations),
        artifacts=ArtifactService(store, locations),
        store=store,
    )
