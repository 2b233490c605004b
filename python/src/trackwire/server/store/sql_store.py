"""The tracking store: experiments, runs and what is logged to them, in SQL.

SQLAlchemy Core over SQLite (embedded default) or PostgreSQL. Entities come back
as protobuf messages, which is what both wires send, except the largest reads (a
page of runs, of metric history), which come back as rows for each wire to encode.
Every write is one transaction: a request is stored whole or not at all. The writes
a training loop makes (log_batch and the RPCs built on it, create_run) run their Core
statements on the driver's cursor (store/driver.py): SQLAlchemy's cost per statement
is ten times what SQLite takes to store a metric.
"""

from __future__ import annotations

import base64
import json
import math
import operator
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from types import SimpleNamespace
from typing import Any, NamedTuple, cast

from sqlalchemy import (
    Connection,
    Engine,
    Row,
    Table,
    and_,
    bindparam,
    delete,
    func,
    literal_column,
    or_,
    select,
    text,
    tuple_,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from trackwire import limits
from trackwire.errors import AlreadyExists, InvalidArgument, NotFound
from trackwire.server.quotas import Quotas
from trackwire.server.search.experiments import plan_experiment_search
from trackwire.server.search.runs import plan_run_search
from trackwire.server.store import chart_buckets
from trackwire.server.store import schema as t
from trackwire.server.store.driver import DriverConnection, DriverWrites
from trackwire.v1 import entities_pb2 as pb
from trackwire.v1.tracking_service_pb2 import GetMetricBucketsResponse, RunColumns

ACTIVE = "active"
DELETED = "deleted"
DEFAULT_EXPERIMENT_ID = "0"
DEFAULT_EXPERIMENT_NAME = "Default"
RUN_NAME_TAG = "mlflow.runName"
USER_TAG = "mlflow.user"

# Chunk size for IN (...) lists: SQLite binds at most 32,766 parameters.
_IN_CHUNK = 10_000

# A metric point as the store takes it: (key, step, timestamp, value), NaN as float("nan").
MetricPoint = tuple[str, int, int, float]


_RUN_BY_ID = select(t.runs).where(t.runs.c.run_id == bindparam("run_id"))

# Statements of the hot write path, run on the driver's cursor (store/driver.py).
_METRIC_COLUMNS = ("run_id", "key", "step", "timestamp", "value")
_ENTRY_COLUMNS = ("run_id", "key", "value")  # params and tags
_RUN_COLUMNS = (
    "run_id",
    "experiment_id",
    "run_name",
    "user_id",
    "status",
    "start_time",
    "end_time",
    "artifact_uri",
    "lifecycle_stage",
)
_EXPERIMENT_FOR_RUN = select(
    t.experiments.c.artifact_location, t.experiments.c.lifecycle_stage
).where(t.experiments.c.experiment_id == bindparam("experiment_id"))
_INSERT_RUN = t.runs.insert().values({c: bindparam(c) for c in _RUN_COLUMNS})
_INSERT_TAG = t.tags.insert().values({c: bindparam(c) for c in _ENTRY_COLUMNS})
_INSERT_PARAM = t.params.insert().values({c: bindparam(c) for c in _ENTRY_COLUMNS})
_RUN_STAGE = select(t.runs.c.lifecycle_stage).where(t.runs.c.run_id == bindparam("run_id"))
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
_SET_RUN_NAME = (
    update(t.runs).where(t.runs.c.run_id == bindparam("run_id")).values(run_name=bindparam("name"))
)


def now_millis() -> int:
    return int(time.time() * 1000)


def status_name(status: pb.RunStatus.ValueType) -> str:
    return pb.RunStatus.Name(status).removeprefix("RUN_STATUS_")


def status_value(name: str) -> pb.RunStatus.ValueType:
    return pb.RunStatus.Value("RUN_STATUS_" + name)


def _run_not_found(run_id: str) -> NotFound:
    return NotFound(f"Run with id={run_id} not found")


def _require_active(run_id: str, lifecycle_stage: str) -> None:
    if lifecycle_stage != ACTIVE:
        raise InvalidArgument(
            f"The run {run_id} must be in the 'active' state. Current state is {lifecycle_stage}."
        )


def _metric_rows(run_id: str, metrics: Sequence[MetricPoint]) -> tuple[list, list] | None:
    """The rows of `metrics` for the history table, and the newest row of each key, which
    competes with the stored latest value; None when there are no metrics."""
    if not metrics:
        return None
    rows = [(run_id, k, s, ts, None if v != v else v) for k, s, ts, v in metrics]  # NaN: NULL
    newest_first = operator.itemgetter(2, 3)  # (step, timestamp)
    keys = {row[1] for row in rows}
    if len(keys) == 1:
        return rows, [max(reversed(rows), key=newest_first)]  # ties: the last one logged
    by_key: dict[str, tuple] = {}
    for row in rows:
        best = by_key.get(row[1])
        if best is None or newest_first(row) >= newest_first(best):
            by_key[row[1]] = row
    return rows, list(by_key.values())


def metric_value(stored: float | None) -> float:
    """A stored metric value as logged: NaN is stored as NULL."""
    return math.nan if stored is None else stored


def _experiment_id(experiment_id: str) -> int:
    try:
        return int(experiment_id)
    except (TypeError, ValueError):
        raise NotFound(f"No Experiment with id={experiment_id!r} exists.") from None


class SqlStore:
    """Queries and transactions of the tracking store over one engine."""

    def __init__(self, engine: Engine):
        self.engine = engine
        dialect = engine.dialect.name
        # The dialect's INSERT, which has ON CONFLICT (both dialects spell it the same way).
        self._insert = cast(
            Callable[[Table], Any],
            {"sqlite": sqlite.insert, "postgresql": postgresql.insert}[dialect],
        )
        self.quotas = Quotas()
        self.driver = DriverWrites(engine)
        # Statements of the per-request hot path, built once (see store/driver.py).
        self._claim = (
            self._insert(t.applied_requests)
            .values(
                request_id=bindparam("request_id"),
                run_id=bindparam("run_id"),
                applied_time=bindparam("applied_time"),
            )
            .on_conflict_do_nothing()
            .returning(t.applied_requests.c.request_id)
        )
        tag = self._insert(t.tags).values({c: bindparam(c) for c in _ENTRY_COLUMNS})
        self._upsert_tag = tag.on_conflict_do_update(
            index_elements=["run_id", "key"], set_={"value": tag.excluded.value}
        )
        # A point goes in as seq 0; one already there at that step and timestamp (rare: the
        # same step logged twice within a millisecond) makes _insert_metrics take seq from
        # the history instead.
        self._insert_metric = (
            self._insert(t.metrics)
            .values({**{c: bindparam(c) for c in _METRIC_COLUMNS}, "seq": literal_column("0")})
            .on_conflict_do_nothing()
            .inline()  # no RETURNING of the key: nothing reads it
        )
        latest = self._insert(t.latest_metrics).values({c: bindparam(c) for c in _METRIC_COLUMNS})
        stored, excluded = t.latest_metrics.c, latest.excluded
        self._upsert_latest = latest.on_conflict_do_update(
            index_elements=["run_id", "key"],
            set_={"step": excluded.step, "timestamp": excluded.timestamp, "value": excluded.value},
            where=or_(
                excluded.step > stored.step,
                and_(excluded.step == stored.step, excluded.timestamp >= stored.timestamp),
            ),
        )

    # -- transactions --------------------------------------------------------

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        with self.engine.connect() as conn, self.driver.lock:
            conn.info["write"] = True
            with conn.begin():
                yield conn

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        with self.engine.connect() as conn:
            conn.info["write"] = False
            with conn.begin():
                yield conn

    # -- experiments -----------------------------------------------------------

    def ensure_default_experiment(self, artifact_location: str) -> None:
        """Creates experiment "0" named "Default" once; safe when replicas race."""
        now = now_millis()
        with self._write() as conn:
            conn.execute(
                self._insert(t.experiments)
                .values(
                    experiment_id=0,
                    name=DEFAULT_EXPERIMENT_NAME,
                    artifact_location=artifact_location,
                    lifecycle_stage=ACTIVE,
                    creation_time=now,
                    last_update_time=now,
                )
                .on_conflict_do_nothing()
            )

    def create_experiment(
        self,
        name: str,
        artifact_location_for,
        tags: Sequence[pb.ExperimentTag],
        owner: str = "",
    ) -> str:
        """`artifact_location_for(experiment_id)` chooses the location once the id is known.

        A non-empty `owner` (the authenticated creator) gets MANAGE on the experiment.
        """
        now = now_millis()
        try:
            with self._write() as conn:
                experiment_id = conn.execute(
                    t.experiments.insert()
                    .values(
                        name=name,
                        artifact_location="",
                        lifecycle_stage=ACTIVE,
                        creation_time=now,
                        last_update_time=now,
                    )
                    .returning(t.experiments.c.experiment_id)
                ).scalar_one()
                conn.execute(
                    update(t.experiments)
                    .where(t.experiments.c.experiment_id == experiment_id)
                    .values(artifact_location=artifact_location_for(str(experiment_id)))
                )
                if tags:
                    conn.execute(
                        t.experiment_tags.insert(),
                        [
                            {"experiment_id": experiment_id, "key": tag.key, "value": tag.value}
                            for tag in {tag.key: tag for tag in tags}.values()
                        ],
                    )
                    self.quotas.check_experiment_tags(conn, experiment_id, len(tags))
                if owner:
                    conn.execute(
                        t.experiment_permissions.insert().values(
                            experiment_id=experiment_id, user_name=owner, permission="MANAGE"
                        )
                    )
        except IntegrityError:
            raise AlreadyExists(f"Experiment(name={name}) already exists.") from None
        return str(experiment_id)

    def get_experiment(self, experiment_id: str) -> pb.Experiment:
        with self._read() as conn:
            return self._experiment(conn, _experiment_id(experiment_id))

    def get_experiment_by_name(self, name: str) -> pb.Experiment:
        with self._read() as conn:
            found = conn.execute(
                select(t.experiments.c.experiment_id).where(t.experiments.c.name == name)
            ).scalar()
            if found is None:
                raise NotFound(f"Could not find experiment with name '{name}'")
            return self._experiment(conn, found)

    def _experiment(self, conn: Connection, experiment_id: int) -> pb.Experiment:
        row = conn.execute(
            select(t.experiments).where(t.experiments.c.experiment_id == experiment_id)
        ).first()
        if row is None:
            raise NotFound(f"No Experiment with id={experiment_id} exists.")
        tags = conn.execute(
            select(t.experiment_tags.c.key, t.experiment_tags.c.value).where(
                t.experiment_tags.c.experiment_id == experiment_id
            )
        ).all()
        return _experiment_message(row, tags)

    def search_experiments(
        self,
        filter_string: str,
        order_by: Sequence[str],
        view_type: int,
        max_results: int,
        page_token: str,
    ) -> tuple[list[pb.Experiment], str]:
        plan = plan_experiment_search(
            filter_string=filter_string,
            order_by=order_by,
            view_type=view_type,
            max_results=max_results,
            page_token=page_token,
        )
        with self._read() as conn:
            rows, next_token = plan.page(conn.execute(plan.statement).all())
            ids = [row.experiment_id for row in rows]
            tags_by_id: dict[int, list] = {i: [] for i in ids}
            for chunk in _chunks(ids):
                for tag in conn.execute(
                    select(t.experiment_tags).where(t.experiment_tags.c.experiment_id.in_(chunk))
                ):
                    tags_by_id[tag.experiment_id].append(tag)
        return [_experiment_message(row, tags_by_id[row.experiment_id]) for row in rows], next_token

    def _active_experiment(self, conn: Connection, experiment_id: int):
        row = conn.execute(
            select(t.experiments.c.lifecycle_stage).where(
                t.experiments.c.experiment_id == experiment_id
            )
        ).first()
        if row is None:
            raise NotFound(f"No Experiment with id={experiment_id} exists.")
        return row.lifecycle_stage

    def set_experiment_lifecycle(self, experiment_id: str, stage: str) -> None:
        """Deletes or restores an experiment, and with it the runs deleted with it."""
        eid = _experiment_id(experiment_id)
        now = now_millis()
        with self._write() as conn:
            current = self._active_experiment(conn, eid)
            if eid == 0 and stage == DELETED:
                raise InvalidArgument("Cannot delete the default experiment '0'.")
            if current == stage:
                raise InvalidArgument(
                    f"Cannot {'delete' if stage == DELETED else 'restore'} experiment "
                    f"{experiment_id}: it is already {stage}."
                )
            conn.execute(
                update(t.experiments)
                .where(t.experiments.c.experiment_id == eid)
                .values(lifecycle_stage=stage, last_update_time=now)
            )
            conn.execute(
                update(t.runs)
                .where(t.runs.c.experiment_id == eid, t.runs.c.lifecycle_stage != stage)
                .values(lifecycle_stage=stage, deleted_time=now if stage == DELETED else None)
            )

    def rename_experiment(self, experiment_id: str, new_name: str) -> None:
        eid = _experiment_id(experiment_id)
        try:
            with self._write() as conn:
                if self._active_experiment(conn, eid) != ACTIVE:
                    raise InvalidArgument(
                        f"Cannot rename experiment {experiment_id}: it is deleted."
                    )
                conn.execute(
                    update(t.experiments)
                    .where(t.experiments.c.experiment_id == eid)
                    .values(name=new_name, last_update_time=now_millis())
                )
        except IntegrityError:
            raise AlreadyExists(f"Experiment(name={new_name}) already exists.") from None

    def set_experiment_tag(self, experiment_id: str, key: str, value: str) -> None:
        eid = _experiment_id(experiment_id)
        with self._write() as conn:
            if self._active_experiment(conn, eid) != ACTIVE:
                raise InvalidArgument(
                    f"Cannot set a tag on experiment {experiment_id}: it is deleted."
                )
            statement = self._insert(t.experiment_tags).values(
                experiment_id=eid, key=key, value=value
            )
            conn.execute(
                statement.on_conflict_do_update(
                    index_elements=["experiment_id", "key"], set_={"value": value}
                )
            )
            self.quotas.check_experiment_tags(conn, eid, 1)

    def delete_experiment_tag(self, experiment_id: str, key: str) -> None:
        eid = _experiment_id(experiment_id)
        with self._write() as conn:
            if self._active_experiment(conn, eid) != ACTIVE:
                raise InvalidArgument(
                    f"Cannot delete a tag of experiment {experiment_id}: it is deleted."
                )
            deleted = conn.execute(
                delete(t.experiment_tags).where(
                    t.experiment_tags.c.experiment_id == eid, t.experiment_tags.c.key == key
                )
            ).rowcount
            if not deleted:
                raise NotFound(f"No tag with name: {key} in experiment {experiment_id}.")

    # -- runs ------------------------------------------------------------------

    def create_run(
        self,
        experiment_id: str,
        user_id: str,
        run_name: str,
        start_time: int,
        tags: Sequence[pb.RunTag],
    ) -> pb.Run:
        """Creates a RUNNING run below its experiment's artifact location."""
        eid = _experiment_id(experiment_id)
        run_id = uuid.uuid4().hex
        tag_values = {tag.key: tag.value for tag in tags}
        run_name = run_name or tag_values.get(RUN_NAME_TAG) or _generated_run_name(run_id)
        tag_values[RUN_NAME_TAG] = run_name
        if user_id:
            tag_values.setdefault(USER_TAG, user_id)
        with self.driver.transaction() as conn:
            experiment = conn.execute(_EXPERIMENT_FOR_RUN, {"experiment_id": eid}).fetchone()
            if experiment is None:
                raise NotFound(f"No Experiment with id={experiment_id} exists.")
            artifact_location, stage = experiment
            if stage != ACTIVE:
                raise InvalidArgument(
                    f"Cannot create a run in experiment {experiment_id}: it is deleted."
                )
            row = {
                "run_id": run_id,
                "experiment_id": eid,
                "run_name": run_name,
                "user_id": user_id,
                "status": "RUNNING",
                "start_time": start_time,
                "end_time": None,
                "artifact_uri": f"{artifact_location}/{run_id}/artifacts",
                "lifecycle_stage": ACTIVE,
            }
            conn.execute(_INSERT_RUN, row)
            conn.executemany(
                _INSERT_TAG, _ENTRY_COLUMNS, [(run_id, k, v) for k, v in tag_values.items()]
            )
            self.quotas.add_run(conn, eid)
            self.quotas.check_new_run_tags(conn, run_id, len(tag_values))
        # The new run holds exactly what was just written: no need to read it back.
        run = pb.Run()
        run.info.CopyFrom(_run_info(SimpleNamespace(**row)))
        run.data.tags.extend(pb.RunTag(key=k, value=v) for k, v in tag_values.items())
        return run

    def get_run(self, run_id: str) -> pb.Run:
        with self._read() as conn:
            runs = self._runs(conn, [run_id]).messages()
        if not runs:
            raise _run_not_found(run_id)
        return runs[0]

    def run_info(self, run_id: str) -> pb.RunInfo:
        with self._read() as conn:
            row = self._run_row(conn, run_id)
        return _run_info(row)

    def _run_row(self, conn: Connection, run_id: str):
        row = conn.execute(_RUN_BY_ID, {"run_id": run_id}).first()
        if row is None:
            raise _run_not_found(run_id)
        return row

    def _active_run(self, conn: Connection, run_id: str):
        row = self._run_row(conn, run_id)
        _require_active(run_id, row.lifecycle_stage)
        return row

    def update_run(
        self,
        run_id: str,
        status: pb.RunStatus.ValueType | None,
        end_time: int | None,
        run_name: str | None,
    ) -> pb.RunInfo:
        with self._write() as conn:
            self._active_run(conn, run_id)
            values: dict = {}
            if status is not None:
                values["status"] = status_name(status)
            if end_time is not None:
                values["end_time"] = end_time
            if run_name:
                values["run_name"] = run_name
                conn.execute(
                    self._upsert_tag, {"run_id": run_id, "key": RUN_NAME_TAG, "value": run_name}
                )
            if values:
                conn.execute(update(t.runs).where(t.runs.c.run_id == run_id).values(**values))
            return _run_info(self._run_row(conn, run_id))

    def set_run_lifecycle(self, run_id: str, stage: str) -> None:
        with self._write() as conn:
            row = self._run_row(conn, run_id)
            if stage == ACTIVE:
                experiment_stage = self._active_experiment(conn, row.experiment_id)
                if experiment_stage != ACTIVE:
                    raise InvalidArgument(
                        f"Cannot restore run {run_id}: its experiment is deleted."
                    )
            conn.execute(
                update(t.runs)
                .where(t.runs.c.run_id == run_id)
                .values(
                    lifecycle_stage=stage, deleted_time=now_millis() if stage == DELETED else None
                )
            )

    def delete_runs(self, experiment_id: str, max_timestamp_millis: int, max_runs: int) -> int:
        """Deletes the oldest active runs started at or before the time; how many."""
        eid = _experiment_id(experiment_id)
        runs = t.runs.c
        with self._write() as conn:
            self._active_experiment(conn, eid)
            oldest = (
                select(runs.run_id)
                .where(
                    runs.experiment_id == eid,
                    runs.lifecycle_stage == ACTIVE,
                    runs.start_time <= max_timestamp_millis,
                )
                .order_by(runs.start_time, runs.run_id)
                .limit(max_runs)
            )
            return conn.execute(
                update(t.runs)
                .where(runs.run_id.in_(oldest.scalar_subquery()))
                .values(lifecycle_stage=DELETED, deleted_time=now_millis())
            ).rowcount

    def search_runs(
        self,
        experiment_ids: Sequence[str],
        filter_string: str,
        view_type: int,
        max_results: int,
        order_by: Sequence[str],
        page_token: str,
        columns: RunColumns | None = None,
    ) -> tuple[RunRows, str]:
        """A page of runs; with `columns`, each carries only the keys named there."""
        ids = []
        for experiment_id in experiment_ids:
            try:
                ids.append(int(experiment_id))
            except ValueError:
                raise InvalidArgument(
                    f"Invalid experiment id {experiment_id!r}: experiment ids are integers."
                ) from None
        plan = plan_run_search(
            experiment_ids=ids,
            filter_string=filter_string,
            order_by=order_by,
            view_type=view_type,
            max_results=max_results,
            page_token=page_token,
        )
        with self._read() as conn:
            rows, next_token = plan.page(conn.execute(plan.statement).all())
            return self._hydrate(conn, rows, columns), next_token

    def _runs(self, conn: Connection, run_ids: Sequence[str]) -> RunRows:
        rows: list[Row] = []
        for chunk in _chunks(list(run_ids)):
            rows.extend(conn.execute(select(t.runs).where(t.runs.c.run_id.in_(chunk))).all())
        return self._hydrate(conn, rows)

    def _hydrate(self, conn: Connection, rows, columns: RunColumns | None = None) -> RunRows:
        """The params, tags, latest metrics and inputs of the runs of `rows`.

        With `columns`, only the named params, tags and metrics are read, and no inputs.
        """
        runs = RunRows(rows)
        reads = [
            (_PARAMS, runs.params, None if columns is None else columns.param_keys),
            (_TAGS, runs.tags, None if columns is None else columns.tag_keys),
            (_LATEST_METRICS, runs.metrics, None if columns is None else columns.metric_keys),
        ]
        for chunk in _chunks([row.run_id for row in rows]):
            for (every_key, some_keys), by_run, keys in reads:
                if keys is None:
                    found = _driver_rows(conn, every_key, {"run_ids": chunk})
                elif keys:
                    found = _driver_rows(conn, some_keys, {"run_ids": chunk, "keys": list(keys)})
                else:
                    continue
                for row in found:
                    by_run[row[0]].append(row)
            if columns is None:
                self._read_inputs(conn, chunk, runs.inputs)
        return runs

    def _read_inputs(
        self, conn: Connection, run_ids: list[str], inputs_by_run: dict[str, pb.RunInputs]
    ) -> None:
        inputs = conn.execute(_RUN_INPUTS, {"run_ids": run_ids}).all()
        if not inputs:
            return
        by_input: dict[int, pb.DatasetInput] = {}
        for row in inputs:
            run_inputs = inputs_by_run.setdefault(row.run_id, pb.RunInputs())
            dataset_input = run_inputs.dataset_inputs.add()
            dataset_input.dataset.CopyFrom(
                pb.Dataset(
                    name=row.name,
                    digest=row.digest,
                    source_type=row.source_type,
                    source=row.source,
                    schema=row.schema,
                    profile=row.profile,
                )
            )
            by_input[row.input_id] = dataset_input
        for tag in conn.execute(
            select(t.input_tags).where(t.input_tags.c.input_id.in_(list(by_input)))
        ):
            by_input[tag.input_id].tags.add(key=tag.key, value=tag.value)

    # -- logging ---------------------------------------------------------------

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
        with self.driver.transaction() as conn:
            stage = conn.execute(_RUN_STAGE, {"run_id": run_id}).fetchone()
            if stage is None:
                raise _run_not_found(run_id)
            _require_active(run_id, stage[0])
            if request_id and not self._claim_request(conn, run_id, request_id):
                return
            before = self.quotas.count_run_entries(conn, run_id, len(params), len(tags))
            if params:
                self._insert_params(conn, run_id, params)
            if tags:
                self._upsert_tags(conn, run_id, tags)
            if rows:
                self._insert_metrics(conn, *rows)
            self.quotas.check_run_entries(conn, run_id, before, len(metrics))

    def _claim_request(self, conn: DriverConnection, run_id: str, request_id: str) -> bool:
        """Records the request id in this transaction; False when it was applied already."""
        claimed = conn.execute(
            self._claim,
            {"request_id": request_id, "run_id": run_id, "applied_time": now_millis()},
        ).fetchone()
        return claimed is not None

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
        conn.execute(_SAVEPOINT)
        if conn.executemany(self._insert_metric, _METRIC_COLUMNS, rows) != len(rows):
            # Some points share a step and timestamp with an earlier one: start again, each
            # point numbered after those before it (the statement sees its own inserts).
            conn.execute(_ROLLBACK_TO_SAVEPOINT)
            conn.executemany(_INSERT_METRIC_AFTER_OTHERS, _METRIC_COLUMNS, rows)
        conn.executemany(self._upsert_latest, _METRIC_COLUMNS, newest)

    def delete_tag(self, run_id: str, key: str) -> None:
        with self._write() as conn:
            self._active_run(conn, run_id)
            deleted = conn.execute(
                delete(t.tags).where(t.tags.c.run_id == run_id, t.tags.c.key == key)
            ).rowcount
            if not deleted:
                raise NotFound(f"No tag with name: {key} in run with id {run_id}")

    def log_inputs(self, run_id: str, dataset_inputs: Sequence[pb.DatasetInput]) -> None:
        with self._write() as conn:
            row = self._active_run(conn, run_id)
            for dataset_input in dataset_inputs:
                ds = dataset_input.dataset
                dataset_id = conn.execute(
                    select(t.datasets.c.dataset_id).where(
                        t.datasets.c.experiment_id == row.experiment_id,
                        t.datasets.c.name == ds.name,
                        t.datasets.c.digest == ds.digest,
                    )
                ).scalar()
                if dataset_id is None:
                    dataset_id = conn.execute(
                        t.datasets.insert()
                        .values(
                            experiment_id=row.experiment_id,
                            name=ds.name,
                            digest=ds.digest,
                            source_type=ds.source_type,
                            source=ds.source,
                            schema=ds.schema,
                            profile=ds.profile,
                        )
                        .returning(t.datasets.c.dataset_id)
                    ).scalar_one()
                input_id = conn.execute(
                    select(t.run_inputs.c.input_id).where(
                        t.run_inputs.c.run_id == run_id, t.run_inputs.c.dataset_id == dataset_id
                    )
                ).scalar()
                if input_id is not None:
                    continue  # already an input of this run: MLflow ignores repeats
                input_id = conn.execute(
                    t.run_inputs.insert()
                    .values(run_id=run_id, dataset_id=dataset_id)
                    .returning(t.run_inputs.c.input_id)
                ).scalar_one()
                tags = {tag.key: tag.value for tag in dataset_input.tags}
                if tags:
                    conn.execute(
                        t.input_tags.insert(),
                        [{"input_id": input_id, "key": k, "value": v} for k, v in tags.items()],
                    )

    # -- metric history --------------------------------------------------------

    def metric_history_page(
        self, run_id: str, key: str, page_token: str, max_results: int
    ) -> tuple[list[tuple[float | None, int, int, int]], str]:
        """One page of a metric's history as (value, timestamp, step, seq) rows, value None
        for NaN, keyset-paged on (step, timestamp, seq)."""
        if max_results < 0 or max_results > limits.MAX_METRIC_HISTORY_PAGE_SIZE:
            raise InvalidArgument(
                f"max_results must be between 1 and {limits.MAX_METRIC_HISTORY_PAGE_SIZE}, "
                f"got {max_results}."
            )
        page_size = max_results or limits.MAX_METRIC_HISTORY_PAGE_SIZE
        params = {"run_id": run_id, "key": key, "limit": page_size + 1}
        statement = _HISTORY_PAGE
        if page_token:
            step, timestamp, seq = _decode_history_token(page_token, run_id, key)
            params.update(step=step, timestamp=timestamp, seq=seq)
            statement = _HISTORY_PAGE_AFTER
        with self._read() as conn:
            self._run_row(conn, run_id)
            rows = _driver_rows(conn, statement, params)
        next_token = ""
        if len(rows) > page_size:
            del rows[page_size:]
            _, timestamp, step, seq = rows[-1]
            next_token = _encode_history_token(run_id, key, (step, timestamp, seq))
        return rows, next_token

    def stream_metric_history(
        self, run_id: str, key: str, chunk_size: int
    ) -> Iterator[list[tuple[int, int, float | None]]]:
        """The whole history as chunks of (step, timestamp, value) rows, value None for NaN,
        read in one snapshot.

        SQLite's cursor steps through the statement as rows are fetched, so its rows come
        straight from the driver (SQLAlchemy's Row objects would double the time); other
        databases stream through a server-side cursor.
        """
        params = {"run_id": run_id, "key": key}
        with self._read() as conn:
            self._run_row(conn, run_id)
            if conn.dialect.name == "sqlite":
                cursor = conn.execute(_HISTORY, params).cursor
                yield from iter(lambda: cast(list, cursor.fetchmany(chunk_size)), [])
                return
            result = conn.execution_options(stream_results=True, yield_per=chunk_size).execute(
                _HISTORY, params
            )
            for partition in result.partitions(chunk_size):
                yield [tuple(row) for row in partition]

    def metric_history_bulk_interval(
        self,
        run_ids: Sequence[str],
        key: str,
        start_step: int | None,
        end_step: int | None,
        max_steps: int,
    ) -> list[pb.MetricWithRunId]:
        """Per run, the points at at most `max_steps` steps spread evenly over the range."""
        m = t.metrics.c
        in_range = [m.key == key]
        if start_step is not None:
            in_range.append(m.step >= start_step)
        if end_step is not None:
            in_range.append(m.step <= end_step)
        points: list[pb.MetricWithRunId] = []
        with self._read() as conn:
            for run_id in run_ids:
                self._run_row(conn, run_id)
                steps = (
                    conn.execute(
                        select(m.step)
                        .where(m.run_id == run_id, *in_range)
                        .distinct()
                        .order_by(m.step)
                    )
                    .scalars()
                    .all()
                )
                chosen = _spread(steps, max_steps)
                for chunk in _chunks(chosen):
                    rows = conn.execute(
                        _HISTORY.where(m.step.in_(chunk)), {"run_id": run_id, "key": key}
                    )
                    points.extend(
                        pb.MetricWithRunId(
                            key=key,
                            value=metric_value(row.value),
                            timestamp=row.timestamp,
                            step=row.step,
                            run_id=run_id,
                        )
                        for row in rows
                    )
        return points

    def metric_buckets(
        self,
        run_ids: Sequence[str],
        key: str,
        start_step: int | None,
        end_step: int | None,
        buckets: int,
    ) -> GetMetricBucketsResponse:
        """Per run, the metric summarised in `buckets` step buckets (see chart_buckets)."""
        with self._read() as conn:
            return chart_buckets.metric_buckets(conn, run_ids, key, start_step, end_step, buckets)


def _encode_history_token(run_id: str, key: str, after: tuple[int, int, int]) -> str:
    raw = json.dumps({"run": run_id, "key": key, "after": after}).encode()
    return base64.urlsafe_b64encode(raw).decode()


def _decode_history_token(token: str, run_id: str, key: str) -> tuple[int, int, int]:
    try:
        data = json.loads(base64.urlsafe_b64decode(token.encode()))
        after = tuple(int(v) for v in data["after"])
        valid = data["run"] == run_id and data["key"] == key and len(after) == 3
    except (ValueError, KeyError, TypeError):
        valid = False
    if not valid:
        raise InvalidArgument(f"Invalid page_token {token!r} for the history of {key!r}.")
    return after  # type: ignore[return-value]


def _spread(steps: Sequence[int], count: int) -> list[int]:
    """At most `count` of the sorted `steps`, evenly spread, first and last included."""
    if len(steps) <= count:
        return list(steps)
    if count == 1:
        return [steps[-1]]
    last = len(steps) - 1
    return sorted({steps[round(i * last / (count - 1))] for i in range(count)})


class RunRows:
    """Runs as the store read them, for each wire to build its own output from: protobuf
    messages (`messages`), or JSON written straight from the rows by the HTTP gateway.

    `infos` are the runs as RunRow tuples, in order. `params` and `tags` map a run id to
    its (run_id, key, value) rows, `metrics` to its (run_id, key, value, timestamp, step)
    latest-metric rows (value None for NaN), and `inputs` holds the runs with dataset inputs.
    Read them with `.get(run_id, ())`: a run without rows has no entry.
    """

    def __init__(self, rows: Sequence[Row]):
        """`rows` start with the runs table's columns (a search adds its sort keys)."""
        self.infos = [RunRow._make(_RUN_ROW(row)) for row in rows]
        self.params: defaultdict[str, list[tuple]] = defaultdict(list)
        self.tags: defaultdict[str, list[tuple]] = defaultdict(list)
        self.metrics: defaultdict[str, list[tuple]] = defaultdict(list)
        self.inputs: dict[str, pb.RunInputs] = {}

    def messages(self) -> list[pb.Run]:
        runs = []
        for row in self.infos:
            run = pb.Run(info=_run_info(row))
            run_id = row.run_id
            data = run.data
            metrics = self.metrics.get(run_id)
            if metrics:
                add_metric = data.metrics.add
                for _, key, value, timestamp, step in metrics:
                    add_metric(
                        key=key,
                        value=metric_value(value),
                        timestamp=timestamp,
                        step=step,
                    )
            for field, entries in ((data.params, self.params), (data.tags, self.tags)):
                rows = entries.get(run_id)
                if rows:
                    add_entry = field.add
                    for _, key, value in rows:
                        add_entry(key=key, value=value)
            inputs = self.inputs.get(run_id)
            if inputs is not None:
                run.inputs.CopyFrom(inputs)
            runs.append(run)
        return runs


class RunRow(NamedTuple):
    """What a run's info is made of, as a plain tuple: a SQLAlchemy Row's attribute access
    costs ten times as much, and a page of runs reads ten thousand of them."""

    run_id: str
    experiment_id: int
    run_name: str
    user_id: str
    status: str
    start_time: int
    end_time: int | None
    artifact_uri: str
    lifecycle_stage: str


# RunRow's columns in a row that starts with the runs table's columns.
_RUN_ROW = operator.itemgetter(*(t.runs.c.keys().index(name) for name in RunRow._fields))


def _driver_rows(conn: Connection, statement, params: dict[str, Any]) -> list[Any]:
    """The rows of a SELECT as the driver's own tuples.

    The statement still goes through SQLAlchemy (compiled once and cached, IN lists
    expanded), but on large reads its Row objects would cost as much as the database's work.
    """
    return cast(list[Any], conn.execute(statement, params).cursor.fetchall())


def _run_entity_reads(table: Table, *columns) -> tuple[Any, Any]:
    """Selects of a run entity table for the runs of `run_ids`: every key, and named `keys`."""
    every = select(*columns).where(table.c.run_id.in_(bindparam("run_ids", expanding=True)))
    return every, every.where(table.c.key.in_(bindparam("keys", expanding=True)))


_PARAMS = _run_entity_reads(t.params, t.params.c.run_id, t.params.c.key, t.params.c.value)
_TAGS = _run_entity_reads(t.tags, t.tags.c.run_id, t.tags.c.key, t.tags.c.value)
_LATEST_METRICS = _run_entity_reads(
    t.latest_metrics,
    *(t.latest_metrics.c[name] for name in ("run_id", "key", "value", "timestamp", "step")),
)

_RUN_INPUTS = (
    select(t.run_inputs.c.input_id, t.run_inputs.c.run_id, t.datasets)
    .join(t.datasets, t.datasets.c.dataset_id == t.run_inputs.c.dataset_id)
    .where(t.run_inputs.c.run_id.in_(bindparam("run_ids", expanding=True)))
    .order_by(t.run_inputs.c.input_id)
)

# A metric's history in the order of the table's primary key (run_id, key, step, timestamp,
# seq): a range scan, no sort.
_m = t.metrics.c
_HISTORY_OF = (_m.run_id == bindparam("run_id"), _m.key == bindparam("key"))
_HISTORY_ORDER = (_m.step, _m.timestamp, _m.seq)
_HISTORY = select(_m.step, _m.timestamp, _m.value).where(*_HISTORY_OF).order_by(*_HISTORY_ORDER)
_HISTORY_PAGE = (
    select(_m.value, _m.timestamp, _m.step, _m.seq)
    .where(*_HISTORY_OF)
    .order_by(*_HISTORY_ORDER)
    .limit(bindparam("limit"))
)
_HISTORY_PAGE_AFTER = _HISTORY_PAGE.where(
    tuple_(*_HISTORY_ORDER) > tuple_(bindparam("step"), bindparam("timestamp"), bindparam("seq"))
)


def _experiment_message(row, tags: Iterable) -> pb.Experiment:
    return pb.Experiment(
        experiment_id=str(row.experiment_id),
        name=row.name,
        artifact_location=row.artifact_location,
        lifecycle_stage=row.lifecycle_stage,
        creation_time=row.creation_time,
        last_update_time=row.last_update_time,
        tags=[pb.ExperimentTag(key=tag.key, value=tag.value) for tag in tags],
    )


def _run_info(row) -> pb.RunInfo:
    info = pb.RunInfo(
        run_id=row.run_id,
        run_uuid=row.run_id,
        run_name=row.run_name,
        experiment_id=str(row.experiment_id),
        user_id=row.user_id,
        status=status_value(row.status),
        start_time=row.start_time,
        artifact_uri=row.artifact_uri,
        lifecycle_stage=row.lifecycle_stage,
    )
    if row.end_time is not None:
        info.end_time = row.end_time
    return info


def _generated_run_name(run_id: str) -> str:
    return f"run-{run_id[:8]}"


def _chunks(items: list, size: int = _IN_CHUNK) -> Iterator[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
