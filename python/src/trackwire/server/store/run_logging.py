"""What a training loop logs to a run: metrics, params and tags (LogBatch and the RPCs built
on it), and tag deletion. The hot path: its statements run on the driver's cursor
(store/driver.py), built once."""

from __future__ import annotations

import operator
from collections.abc import Iterable, Sequence

from sqlalchemy import (
    and_,
    bindparam,
    case,
    delete,
    func,
    literal_column,
    or_,
    select,
    text,
    update,
)

from trackwire.errors import InvalidArgument, NotFound
from trackwire.server.store import schema as t
from trackwire.server.store.applied_requests import AppliedRequests
from trackwire.server.store.database import Database
from trackwire.server.store.driver import DriverConnection
from trackwire.server.store.lookups import active_run, require_active, run_not_found
from trackwire.server.store.metric_blocks import BLOCK_SHIFT
from trackwire.server.store.quotas import LOCK_RUN, Quotas
from trackwire.server.store.rows import RUN_NAME_TAG, MetricPoint

_METRIC_COLUMNS = ("run_id", "key", "step", "timestamp", "value")
_LATEST_COLUMNS = (*_METRIC_COLUMNS, "summarized_below")
_STEP = operator.itemgetter(2)
_NEWEST_FIRST = operator.itemgetter(2, 3)  # (step, timestamp)
_ENTRY_COLUMNS = ("run_id", "key", "value")  # params and tags
_INSERT_PARAM = t.params.insert().values({c: bindparam(c) for c in _ENTRY_COLUMNS})
_RUN_PARAMS = select(t.params.c.key, t.params.c.value).where(
    t.params.c.run_id == bindparam("run_id")
)
_SAVEPOINT = text("SAVEPOINT new_points")
_ROLLBACK_TO_SAVEPOINT = text("ROLLBACK TO SAVEPOINT new_points")
_NEXT_SEQ = (
    select(func.coalesce(func.max(t.metrics.c.seq) + 1, 0))
    .where(*(t.metrics.c[c] == bindparam(c) for c in ("run_id", "key", "step", "timestamp")))
    .scalar_subquery()
)
_INSERT_METRIC_AFTER_OTHERS = (
    t.metrics.insert()
    .values({**{c: bindparam(c) for c in _METRIC_COLUMNS}, "seq": _NEXT_SEQ})
    .inline()
)
# PostgreSQL takes a batch's points by COPY (store/driver.py), numbered seq 0.
_COPY_METRIC_COLUMNS = (*_METRIC_COLUMNS, "seq")
_COPY_METRIC_TYPES = ("varchar", "varchar", "int8", "int8", "float8", "int4")
_SET_RUN_NAME = (
    update(t.runs).where(t.runs.c.run_id == bindparam("run_id")).values(run_name=bindparam("name"))
)


def _metric_rows(run_id: str, metrics: Sequence[MetricPoint]) -> tuple[list, list] | None:
    """The rows of `metrics` for the history table, and per key the newest row, which
    competes with the stored latest value, with the first block the batch touches (the
    summaries' watermark falls to it); None when there are no metrics."""
    if not metrics:
        return None
    rows = [(run_id, k, s, ts, None if v != v else v) for k, s, ts, v, _ in metrics]  # NaN: NULL
    keys = {row[1] for row in rows}
    if len(keys) == 1:
        groups: Iterable[list[tuple]] = (rows,)
    else:
        by_key: dict[str, list[tuple]] = {key: [] for key in keys}
        for row in rows:
            by_key[row[1]].append(row)
        groups = by_key.values()
    return rows, [
        # max() keeps the first of equals: reversed, the last logged wins a tie.
        (*max(reversed(group), key=_NEWEST_FIRST), min(map(_STEP, group)) >> BLOCK_SHIFT)
        for group in groups
    ]


class RunLogging:
    def __init__(self, db: Database, quotas: Quotas):
        self.db = db
        self.quotas = quotas
        self.applied = AppliedRequests(db)
        insert = db.insert
        tag = insert(t.tags).values({c: bindparam(c) for c in _ENTRY_COLUMNS})
        self._upsert_tag = tag.on_conflict_do_update(
            index_elements=["run_id", "key"], set_={"value": tag.excluded.value}
        )
        # A point goes in as seq 0; one already there at that step and timestamp (rare: the
        # same step logged twice within a millisecond) makes _insert_metrics take seq from
        # the history instead.
        self._insert_metric = (
            insert(t.metrics)
            .values({**{c: bindparam(c) for c in _METRIC_COLUMNS}, "seq": literal_column("0")})
            .on_conflict_do_nothing()
            .inline()  # no RETURNING of the key: nothing reads it
        )
        # The newest point replaces the stored one; a point below the block summaries'
        # watermark lowers it (store/metric_blocks.py), newer or not.
        latest = insert(t.latest_metrics).values({c: bindparam(c) for c in _LATEST_COLUMNS})
        stored, excluded = t.latest_metrics.c, latest.excluded
        newer = or_(
            excluded.step > stored.step,
            and_(excluded.step == stored.step, excluded.timestamp >= stored.timestamp),
        )
        lower = excluded.summarized_below < stored.summarized_below
        self._upsert_latest = latest.on_conflict_do_update(
            index_elements=["run_id", "key"],
            set_={
                **{c: case((newer, excluded[c]), else_=stored[c]) for c in _METRIC_COLUMNS[2:]},
                "summarized_below": case(
                    (lower, excluded.summarized_below), else_=stored.summarized_below
                ),
            },
            where=or_(newer, lower),
        )

    def log_batch(
        self,
        run_id: str,
        metrics: Sequence[MetricPoint],
        params: dict[str, str],
        tags: dict[str, str],
        request_id: str = "",
    ) -> None:
        """Stores metrics, params and tags of one run in one transaction, or nothing.

        `metrics` are (key, step, timestamp, value) tuples. A non-empty `request_id` makes
        the call idempotent: when a request with that id was applied before (a client retry
        after a lost response), nothing is stored.
        """
        rows = _metric_rows(run_id, metrics)  # before the write lock: hold it for SQL only
        with self.db.write_statements() as conn:
            # The run's row first: the quota counts of its writers go one at a time, and
            # every writer of a run takes its locks in one order (the row's metric counter
            # is updated last), so concurrent batches never deadlock.
            locked = conn.execute(LOCK_RUN, {"run_id": run_id}).fetchone()
            if locked is None:
                raise run_not_found(run_id)
            stage, metric_steps = locked
            require_active(run_id, stage)
            if request_id and not self.applied.claim(conn, request_id, run_id):
                return
            before = self.quotas.count_run_entries(conn, run_id, len(params), len(tags))
            if params:
                self._insert_params(conn, run_id, params)
            if tags:
                self._upsert_tags(conn, run_id, tags)
            if rows:
                self._insert_metrics(conn, *rows)
            self.quotas.check_run_entries(conn, run_id, before)
            if metrics:
                self.quotas.add_metric_steps(conn, run_id, metric_steps, len(metrics))

    def _insert_params(self, conn: DriverConnection, run_id: str, params: dict[str, str]) -> None:
        # A run has at most a few thousand params (a quota): reading them all is cheap.
        existing = dict(conn.execute(_RUN_PARAMS, {"run_id": run_id}).fetchall())
        for k, v in params.items():
            if k in existing and existing[k] != v:
                raise InvalidArgument(
                    f"Changing param values is not allowed. Param with key='{k}' was already "
                    f"logged with value='{existing[k]}' for run ID='{run_id}'. Attempted logging "
                    f"new value '{v}'."
                )
        new = [(run_id, k, v) for k, v in params.items() if k not in existing]
        conn.executemany(_INSERT_PARAM, _ENTRY_COLUMNS, new)

    def _upsert_tags(self, conn: DriverConnection, run_id: str, tags: dict[str, str]) -> None:
        conn.executemany(
            self._upsert_tag, _ENTRY_COLUMNS, [(run_id, k, v) for k, v in tags.items()]
        )
        if RUN_NAME_TAG in tags:
            conn.execute(_SET_RUN_NAME, {"run_id": run_id, "name": tags[RUN_NAME_TAG]})

    def _insert_metrics(
        self, conn: DriverConnection, rows: list[tuple], newest: list[tuple]
    ) -> None:
        if len(rows) == 1:
            # One point (LogMetric): one statement, which inserts it or, when a point is
            # stored at its step and timestamp, nothing; no savepoint to go back to.
            if not conn.executemany(self._insert_metric, _METRIC_COLUMNS, rows):
                conn.executemany(_INSERT_METRIC_AFTER_OTHERS, _METRIC_COLUMNS, rows)
        else:
            conn.execute(_SAVEPOINT)
            if not self._insert_new_points(conn, rows):
                # Some points share a step and timestamp with an earlier one: start again,
                # each point numbered after those before it (the statement sees its own
                # inserts).
                conn.execute(_ROLLBACK_TO_SAVEPOINT)
                conn.executemany(_INSERT_METRIC_AFTER_OTHERS, _METRIC_COLUMNS, rows)
        conn.executemany(self._upsert_latest, _LATEST_COLUMNS, newest)

    def _insert_new_points(self, conn: DriverConnection, rows: list[tuple]) -> bool:
        """Inserts the rows numbered seq 0; False when one of them has a point stored at
        its step and timestamp (on PostgreSQL none is then inserted, on SQLite the others
        are: the caller goes back to its savepoint either way)."""
        if self.db.dialect != "postgresql":
            return conn.executemany(self._insert_metric, _METRIC_COLUMNS, rows) == len(rows)
        return conn.copy_rows(
            "metrics", _COPY_METRIC_COLUMNS, _COPY_METRIC_TYPES, ((*row, 0) for row in rows)
        )

    def delete_tag(self, run_id: str, key: str) -> None:
        with self.db.write() as conn:
            active_run(conn, run_id)
            deleted = conn.execute(
                delete(t.tags).where(t.tags.c.run_id == run_id, t.tags.c.key == key)
            ).rowcount
            if not deleted:
                raise NotFound(f"No tag with name: {key} in run with id {run_id}")
