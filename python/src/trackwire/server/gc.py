"""`trackwire gc`: purges deleted runs and experiments for good, artifacts included.

Deleted runs stay restorable (and keep counting against quotas) until purged. Runs are
purged a chunk at a time, each chunk in one write transaction that re-reads which runs are
still deleted, so a run restored meanwhile is left alone.
"""

from __future__ import annotations

import contextlib
import re
from collections import Counter
from dataclasses import dataclass

from sqlalchemy import Connection, delete, select, update

from trackwire.errors import InvalidArgument, NotFound
from trackwire.server.artifacts.local import LocalArtifactRepository
from trackwire.server.artifacts.locations import PROXY_SCHEME, ArtifactLocations
from trackwire.server.auth.db import write_transaction
from trackwire.server.store import schema as t
from trackwire.server.store.engine import create_store_engine, upgrade_schema
from trackwire.server.store.sql_store import DEFAULT_EXPERIMENT_ID, DELETED, now_millis

_AGE = re.compile(r"^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")
_CHUNK = 100
# Tables holding rows of a run (the foreign keys cascade too; being explicit keeps gc
# independent of whether the database enforces them).
_RUN_CHILDREN = (t.metrics, t.latest_metrics, t.params, t.tags, t.applied_requests)


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
    experiments: int = 0


def collect_garbage(
    backend_store_uri: str, artifacts_destination: str, older_than_millis: int = 0
) -> GcReport:
    """Purges runs and experiments deleted at least `older_than_millis` ago."""
    engine = create_store_engine(backend_store_uri)
    try:
        upgrade_schema(engine)
        locations = ArtifactLocations(artifacts_destination)
        cutoff = now_millis() - older_than_millis
        report = GcReport()
        e = t.experiments.c
        with engine.connect() as conn:
            experiments = conn.execute(
                select(e.experiment_id, e.artifact_location).where(
                    e.lifecycle_stage == DELETED,
                    e.last_update_time <= cutoff,
                    e.experiment_id != int(DEFAULT_EXPERIMENT_ID),
                )
            ).all()
        doomed = [row.experiment_id for row in experiments]
        while True:
            with write_transaction(engine) as conn:
                purged = _purge_runs(conn, locations, cutoff, doomed)
            report.runs += purged
            if purged < _CHUNK:
                break
        for row in experiments:
            with write_transaction(engine) as conn:
                if _purge_experiment(conn, row.experiment_id):
                    report.experiments += 1
                    if row.artifact_location.startswith(PROXY_SCHEME + ":"):
                        # The server chose this location: nothing but this experiment's
                        # artifacts lives there.
                        _delete_artifacts(locations, row.artifact_location)
        return report
    finally:
        engine.dispose()


def _purge_runs(conn: Connection, locations: ArtifactLocations, cutoff: int, experiments) -> int:
    r = t.runs.c
    old_enough = r.deleted_time <= cutoff
    if experiments:
        old_enough = old_enough | r.experiment_id.in_(experiments)
    runs = conn.execute(
        select(r.run_id, r.experiment_id, r.artifact_uri)
        .where(r.lifecycle_stage == DELETED, old_enough)
        .limit(_CHUNK)
    ).all()
    if not runs:
        return 0
    for run in runs:
        repository = _delete_artifacts(locations, run.artifact_uri)
        if isinstance(repository, LocalArtifactRepository):
            # Runs' roots are <experiment location>/<run_id>/artifacts: drop the run's folder.
            with contextlib.suppress(OSError):
                repository.root.parent.rmdir()
    ids = [run.run_id for run in runs]
    inputs = select(t.run_inputs.c.input_id).where(t.run_inputs.c.run_id.in_(ids))
    conn.execute(delete(t.input_tags).where(t.input_tags.c.input_id.in_(inputs)))
    conn.execute(delete(t.run_inputs).where(t.run_inputs.c.run_id.in_(ids)))
    for table in _RUN_CHILDREN:
        conn.execute(delete(table).where(table.c.run_id.in_(ids)))
    conn.execute(delete(t.runs).where(r.run_id.in_(ids)))
    # Purged runs no longer count against the runs-per-experiment quota.
    for experiment_id, count in Counter(run.experiment_id for run in runs).items():
        conn.execute(
            update(t.experiments)
            .where(t.experiments.c.experiment_id == experiment_id)
            .values(run_count=t.experiments.c.run_count - count)
        )
    return len(runs)


def _purge_experiment(conn: Connection, experiment_id: int) -> bool:
    """Deletes a still-deleted experiment that has no runs left; whether it did."""
    e = t.experiments.c
    stage = conn.execute(select(e.lifecycle_stage).where(e.experiment_id == experiment_id)).scalar()
    runs_left = conn.execute(
        select(t.runs.c.run_id).where(t.runs.c.experiment_id == experiment_id).limit(1)
    ).first()
    if stage != DELETED or runs_left:
        return False  # restored meanwhile
    datasets = select(t.datasets.c.dataset_id).where(t.datasets.c.experiment_id == experiment_id)
    conn.execute(delete(t.run_inputs).where(t.run_inputs.c.dataset_id.in_(datasets)))
    for table in (t.datasets, t.experiment_tags, t.experiment_permissions):
        conn.execute(delete(table).where(table.c.experiment_id == experiment_id))
    conn.execute(delete(t.experiments).where(e.experiment_id == experiment_id))
    return True


def _delete_artifacts(locations: ArtifactLocations, uri: str):
    repository = locations.repository(uri)
    with contextlib.suppress(NotFound):  # nothing was ever uploaded
        repository.delete("")
    return repository
