"""Purging deleted runs, logged models and experiments for good (`trackwire gc`).

Runs and models are purged a chunk at a time, each chunk in one write transaction that re-reads
which are still deleted, so one restored meanwhile is left alone.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

from sqlalchemy import delete, select, update

from trackwire.server.store import schema as t
from trackwire.server.store.database import Database
from trackwire.server.store.rows import DEFAULT_EXPERIMENT_ID, DELETED

CHUNK = 100
# Tables holding rows of a run (the foreign keys cascade too; being explicit keeps purging
# independent of whether the database enforces them).
_RUN_CHILDREN = (
    t.metrics,
    t.metric_blocks,
    t.latest_metrics,
    t.params,
    t.tags,
    t.applied_requests,
    t.run_model_inputs,
    t.run_model_outputs,
)
_MODEL_CHILDREN = (
    t.logged_model_tags,
    t.logged_model_params,
    t.logged_model_metrics,
    t.run_model_inputs,
    t.run_model_outputs,
)


class Purge:
    def __init__(self, db: Database):
        self.db = db

    def deleted_experiments(self, cutoff: int) -> list[Any]:
        """(experiment_id, artifact_location) of experiments deleted at or before `cutoff`."""
        e = t.experiments.c
        with self.db.read() as conn:
            return list(
                conn.execute(
                    select(e.experiment_id, e.artifact_location).where(
                        e.lifecycle_stage == DELETED,
                        e.last_update_time <= cutoff,
                        e.experiment_id != int(DEFAULT_EXPERIMENT_ID),
                    )
                ).all()
            )

    def runs(
        self, cutoff: int, experiments: list[int], delete_artifacts: Callable[[str], None]
    ) -> int:
        """Purges up to CHUNK runs deleted at or before `cutoff` or belonging to
        `experiments`, calling `delete_artifacts(artifact_uri)` for each; how many."""
        r = t.runs.c
        old_enough = r.deleted_time <= cutoff
        if experiments:
            old_enough = old_enough | r.experiment_id.in_(experiments)
        with self.db.write() as conn:
            runs = conn.execute(
                select(r.run_id, r.experiment_id, r.artifact_uri)
                .where(r.lifecycle_stage == DELETED, old_enough)
                .limit(CHUNK)
            ).all()
            if not runs:
                return 0
            for run in runs:
                delete_artifacts(run.artifact_uri)
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

    def logged_models(
        self, cutoff: int, experiments: list[int], delete_artifacts: Callable[[str], None]
    ) -> int:
        """Purges up to CHUNK logged models deleted at or before `cutoff` (a deleted model's
        last update is its deletion) or belonging to `experiments` (deleting an experiment leaves
        its models active, as in MLflow), calling `delete_artifacts(artifact_uri)` for each; how
        many."""
        m = t.logged_models.c
        doomed = (m.lifecycle_stage == DELETED) & (m.last_updated_time <= cutoff)
        if experiments:
            doomed = doomed | m.experiment_id.in_(experiments)
        with self.db.write() as conn:
            models = conn.execute(
                select(m.model_id, m.artifact_uri).where(doomed).limit(CHUNK)
            ).all()
            for model in models:
                delete_artifacts(model.artifact_uri)
            ids = [model.model_id for model in models]
            for table in _MODEL_CHILDREN:
                conn.execute(delete(table).where(table.c.model_id.in_(ids)))
            conn.execute(delete(t.logged_models).where(m.model_id.in_(ids)))
            return len(models)

    def experiment(self, experiment_id: int) -> bool:
        """Deletes a still-deleted experiment that has no runs left; whether it did."""
        e = t.experiments.c
        with self.db.write() as conn:
            stage = conn.execute(
                select(e.lifecycle_stage).where(e.experiment_id == experiment_id)
            ).scalar()
            runs_left = conn.execute(
                select(t.runs.c.run_id).where(t.runs.c.experiment_id == experiment_id).limit(1)
            ).first()
            models_left = conn.execute(
                select(t.logged_models.c.model_id)
                .where(t.logged_models.c.experiment_id == experiment_id)
                .limit(1)
            ).first()
            if stage != DELETED or runs_left or models_left:
                return False  # restored meanwhile
            datasets = select(t.datasets.c.dataset_id).where(
                t.datasets.c.experiment_id == experiment_id
            )
            conn.execute(delete(t.run_inputs).where(t.run_inputs.c.dataset_id.in_(datasets)))
            for table in (t.datasets, t.experiment_tags, t.experiment_permissions):
                conn.execute(delete(table).where(table.c.experiment_id == experiment_id))
            conn.execute(delete(t.experiments).where(e.experiment_id == experiment_id))
            return True
