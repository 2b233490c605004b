"""`trackwire gc`: purges deleted runs, logged models and experiments for good, artifacts
included.

Deleted runs stay restorable (and keep counting against quotas) until purged.
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass

from trackwire.errors import InvalidArgument, NotFound
from trackwire.server.artifacts.local import LocalArtifactRepository
from trackwire.server.artifacts.locations import PROXY_SCHEME, ArtifactLocations
from trackwire.server.store.database import Database
from trackwire.server.store.engine import create_store_engine, upgrade_schema
from trackwire.server.store.purge import CHUNK, Purge
from trackwire.server.store.rows import now_millis

_AGE = re.compile(r"^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")


def parse_age(text: str) -> int:
    """`30d`, `12h`, `1d12h30m`, `90s` -> milliseconds."""
    match = _AGE.match(text.strip())
    if not text.strip() or match is None:
        raise InvalidArgument(
            f"Invalid age {text!r}: use days, hours, minutes and seconds like 30d, 12h or 1d6h."
        )
    days, hours, minutes, seconds = (int(part or 0) for part in match.groups())
    return (((days * 24 + hours) * 60 + minutes) * 60 + seconds) * 1000


@dataclass
class GcReport:
    runs: int = 0
    logged_models: int = 0
    experiments: int = 0


def collect_garbage(
    backend_store_uri: str, artifacts_destination: str, older_than_millis: int = 0
) -> GcReport:
    """Purges runs, logged models and experiments deleted at least `older_than_millis` ago."""
    engine = create_store_engine(backend_store_uri)
    try:
        upgrade_schema(engine)
        purge = Purge(Database(engine))
        locations = ArtifactLocations(artifacts_destination)
        cutoff = now_millis() - older_than_millis
        report = GcReport()
        experiments = purge.deleted_experiments(cutoff)
        doomed = [row.experiment_id for row in experiments]

        def delete_artifacts_and_folder(artifact_uri: str) -> None:
            repository = _delete_artifacts(locations, artifact_uri)
            if isinstance(repository, LocalArtifactRepository):
                # Roots are <experiment location>/<run_id>/artifacts (runs) and
                # <experiment location>/models/<model_id>/artifacts: drop the owner's folder.
                with contextlib.suppress(OSError):
                    repository.root.parent.rmdir()

        while True:
            purged = purge.runs(cutoff, doomed, delete_artifacts_and_folder)
            report.runs += purged
            if purged < CHUNK:
                break
        while True:
            purged = purge.logged_models(cutoff, doomed, delete_artifacts_and_folder)
            report.logged_models += purged
            if purged < CHUNK:
                break
        for row in experiments:
            if purge.experiment(row.experiment_id):
                report.experiments += 1
                if row.artifact_location.startswith(PROXY_SCHEME + ":"):
                    # The server chose this location: nothing but this experiment's
                    # artifacts lives there.
                    _delete_artifacts(locations, row.artifact_location)
        return report
    finally:
        engine.dispose()


def _delete_artifacts(locations: ArtifactLocations, uri: str):
    repository = locations.repository(uri)
    with contextlib.suppress(NotFound):  # nothing was ever uploaded
        repository.delete("")
    return repository
