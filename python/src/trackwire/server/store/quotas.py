"""Quotas that keep one user from filling the store: the limits hosted MLflow enforces.

Checks run inside the write transaction that would exceed a limit, so the request is
refused whole and nothing is stored. They never count big tables: runs per experiment and
metric points per run are counters on the experiment and run rows; params and tags of a
run (at most a few thousand) are counted through their primary-key index.

Concurrent writers (threads, or replicas on one PostgreSQL database) must not both pass a
check on counts that neither sees the other's rows in: a write that counts first locks the
row it counts for (the run, or the experiment) with SELECT ... FOR UPDATE, so the counts of
one run are checked one writer at a time, while other runs' writers go on in parallel.
SQLite needs no lock of its own: it runs one write transaction at a time.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, bindparam, func, select, update

from trackwire.errors import ResourceExhausted
from trackwire.server.store import schema as t
from trackwire.server.store.driver import DriverConnection

# Quotas are checked in SQLAlchemy transactions and in the store's driver-level ones.
WriteConnection = Connection | DriverConnection


def _count_of(table, key_column):
    return select(func.count()).select_from(table).where(key_column == bindparam("key"))


# Built once: constructing a statement per call costs more than running it.
# (SQLite compiles FOR UPDATE to nothing.)
# The run's stage and its metric points so far, its row locked (see above).
LOCK_RUN = (
    select(t.runs.c.lifecycle_stage, t.runs.c.metric_count)
    .where(t.runs.c.run_id == bindparam("run_id"))
    .with_for_update()
)
_LOCK_EXPERIMENT = (
    select(t.experiments.c.experiment_id)
    .where(t.experiments.c.experiment_id == bindparam("key"))
    .with_for_update()
)
_COUNT_PARAMS = _count_of(t.params, t.params.c.run_id)
_COUNT_TAGS = _count_of(t.tags, t.tags.c.run_id)
_COUNT_EXPERIMENT_TAGS = _count_of(t.experiment_tags, t.experiment_tags.c.experiment_id)
# The run's counter is read with its lock (LOCK_RUN) and only added to here.
_ADD_METRIC_STEPS = (
    update(t.runs)
    .where(t.runs.c.run_id == bindparam("key"))
    .values(metric_count=t.runs.c.metric_count + bindparam("added"))
)
# Counters are added to, then read: SQLite runs an UPDATE ... RETURNING through a temporary
# table whose page cache it allocates and frees each time, which cost a small write a fifth.
_ADD_RUN = (
    update(t.experiments)
    .where(t.experiments.c.experiment_id == bindparam("key"))
    .values(run_count=t.experiments.c.run_count + 1)
)
_RUNS = select(t.experiments.c.run_count).where(t.experiments.c.experiment_id == bindparam("key"))


@dataclass(frozen=True)
class Quotas:
    max_runs_per_experiment: int = 500_000
    max_params_per_run: int = 1_600
    max_tags_per_run: int = 1_600
    max_metric_steps_per_run: int = 1_000_000
    max_tags_per_experiment: int = 1_000

    def lock_experiment(self, conn: WriteConnection, experiment_id: int) -> None:
        """Before tags are written to an experiment: serialises its tag count (see above)."""
        conn.execute(_LOCK_EXPERIMENT, {"key": experiment_id})

    def count_run_entries(
        self, conn: WriteConnection, run_id: str, params: int, tags: int
    ) -> tuple[int | None, int | None]:
        """Before a write of `params` params and `tags` tags to a run whose row the
        transaction locked (LOCK_RUN): the run's params and tags when the write could exceed
        a limit (None when it cannot, or adds none)."""
        return (
            _near_limit(conn, _COUNT_PARAMS, run_id, params, self.max_params_per_run),
            _near_limit(conn, _COUNT_TAGS, run_id, tags, self.max_tags_per_run),
        )

    def check_run_entries(
        self, conn: WriteConnection, run_id: str, before: tuple[int | None, int | None]
    ) -> None:
        """After a write of params and tags to a run: refuses it when the run went over a
        limit."""
        params_before, tags_before = before
        if params_before is not None:
            _refuse_above(
                _count(conn, _COUNT_PARAMS, run_id),
                params_before,
                self.max_params_per_run,
                f"params per run (--max-params-per-run) in run {run_id}",
                "params are write-once: log further values in a new run",
            )
        if tags_before is not None:
            _refuse_above(
                _count(conn, _COUNT_TAGS, run_id),
                tags_before,
                self.max_tags_per_run,
                f"tags per run (--max-tags-per-run) in run {run_id}",
                "delete tags the run no longer needs (DeleteTag)",
            )

    def add_metric_steps(self, conn: WriteConnection, run_id: str, stored: int, added: int) -> None:
        """Counts `added` points into a run that held `stored` when the transaction locked it
        (LOCK_RUN); refuses them above the limit."""
        _refuse_above(
            stored + added,
            stored,
            self.max_metric_steps_per_run,
            f"total metric steps per run (--max-metric-steps-per-run) in run {run_id}",
            "log further steps to a new run, or log fewer points (e.g. every n-th step)",
        )
        conn.execute(_ADD_METRIC_STEPS, {"key": run_id, "added": added})

    def check_new_run_tags(self, conn: WriteConnection, run_id: str, tags: int) -> None:
        """After a run was created with `tags` tags."""
        _refuse_above(
            tags,
            0,
            self.max_tags_per_run,
            "tags per run (--max-tags-per-run) in a new run",
            "create the run with fewer tags",
        )

    def add_run(self, conn: WriteConnection, experiment_id: int) -> None:
        """Counts a new run of an experiment; refuses it above the limit."""
        conn.execute(_ADD_RUN, {"key": experiment_id})
        after = _count(conn, _RUNS, experiment_id)
        _refuse_above(
            after,
            after - 1,
            self.max_runs_per_experiment,
            f"runs per experiment (--max-runs-per-experiment) in experiment {experiment_id}",
            "delete old runs (DeleteRuns, or DeleteRun) and purge them with `trackwire gc` "
            "(deleted runs count until they are purged), or log to another experiment",
        )

    def check_experiment_tags(self, conn: WriteConnection, experiment_id: int, added: int) -> None:
        """After tags were written to an experiment (`added` of them, new or overwritten)."""
        after = _count(conn, _COUNT_EXPERIMENT_TAGS, experiment_id)
        _refuse_above(
            after,
            max(after - added, 0),
            self.max_tags_per_experiment,
            f"tags per experiment (--max-tags-per-experiment) in experiment {experiment_id}",
            "delete tags the experiment no longer needs (DeleteExperimentTag)",
        )


def _count(conn: WriteConnection, statement, key) -> int:
    return _one(conn.execute(statement, {"key": key}))


def _one(result) -> int:
    """The value of a count, or of a counter on a row the transaction holds."""
    row = result.fetchone()
    assert row is not None
    return row[0]


def _near_limit(conn: WriteConnection, statement, key, adding: int, limit: int) -> int | None:
    """The count, when adding `adding` entries might exceed `limit`; else None (no check)."""
    if not adding:
        return None
    # Counting is cheap (a primary-key range of at most `limit` rows), but most writes are
    # far below the limit: one count before decides whether a count after is needed.
    count = _count(conn, statement, key)
    return count if count + adding > limit else None


def _refuse_above(after: int, before: int, limit: int, what: str, remedy: str) -> None:
    if after > limit:
        raise ResourceExhausted(
            f"Quota exceeded: the limit of {limit} {what} would be exceeded "
            f"(current count {before}, {after} with this request). To free room: {remedy}."
        )
