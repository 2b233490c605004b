"""Runs: creation, reads, updates, lifecycle, and SearchRuns with its hydration."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, String, Table, any_, bindparam, select, update
from sqlalchemy.dialects.postgresql import ARRAY

from trackwire.errors import InvalidArgument, NotFound, Unavailable
from trackwire.server.store import schema as t
from trackwire.server.store.applied_requests import AppliedRequests
from trackwire.server.store.database import Database
from trackwire.server.store.inputs import read_inputs
from trackwire.server.store.lookups import (
    active_run,
    experiment_key,
    experiment_stage,
    run_not_found,
    run_row,
)
from trackwire.server.store.page_tokens import PageTokens
from trackwire.server.store.quotas import Quotas
from trackwire.server.store.rows import (
    ACTIVE,
    DELETED,
    RUN_NAME_TAG,
    USER_TAG,
    Fields,
    RunEntities,
    RunRow,
    as_run_row,
    chunks,
    driver_rows,
    now_millis,
    run_fields,
    run_info,
    status_name,
)
from trackwire.server.store.search_runs import plan_run_search, read_run_counts
from trackwire.v1 import entities_pb2 as pb
from trackwire.v1.tracking_service_pb2 import RunColumns

_ENTRY_COLUMNS = ("run_id", "key", "value")  # params and tags
_RUN_COLUMNS = RunRow._fields
_EXPERIMENT_FOR_RUN = select(
    t.experiments.c.artifact_location, t.experiments.c.lifecycle_stage
).where(t.experiments.c.experiment_id == bindparam("experiment_id"))
_INSERT_RUN = t.runs.insert().values({c: bindparam(c) for c in _RUN_COLUMNS})
_INSERT_TAG = t.tags.insert().values({c: bindparam(c) for c in _ENTRY_COLUMNS})


def _entity_reads(table: Table, *columns) -> dict[str, tuple[Any, Any]]:
    """Per dialect, selects of a run entity table for the runs of `run_ids`: every key, and
    named `keys`. SQLite gets IN lists; PostgreSQL gets arrays, one parameter each, so that
    neither SQLAlchemy nor psycopg rewrites the statement for each page of a thousand runs
    (a sixth of the server's time paging 5,000 runs)."""

    def of(runs, keys):
        every = select(*columns).where(runs)
        return every, every.where(keys)

    return {
        "sqlite": of(
            table.c.run_id.in_(bindparam("run_ids", expanding=True)),
            table.c.key.in_(bindparam("keys", expanding=True)),
        ),
        "postgresql": of(
            table.c.run_id == any_(bindparam("run_ids", type_=ARRAY(String))),
            table.c.key == any_(bindparam("keys", type_=ARRAY(String))),
        ),
    }


_PARAMS = _entity_reads(t.params, t.params.c.run_id, t.params.c.key, t.params.c.value)
_TAGS = _entity_reads(t.tags, t.tags.c.run_id, t.tags.c.key, t.tags.c.value)
_LATEST_METRICS = _entity_reads(
    t.latest_metrics,
    *(t.latest_metrics.c[name] for name in ("run_id", "key", "value", "timestamp", "step")),
)


def _generated_run_name(run_id: str) -> str:
    return f"run-{run_id[:8]}"


class Runs:
    def __init__(self, db: Database, quotas: Quotas, page_tokens: PageTokens):
        self.db = db
        self.quotas = quotas
        self.page_tokens = page_tokens
        self.applied = AppliedRequests(db)
        tag = db.insert(t.tags).values({c: bindparam(c) for c in _ENTRY_COLUMNS})
        self._upsert_tag = tag.on_conflict_do_update(
            index_elements=["run_id", "key"], set_={"value": tag.excluded.value}
        )

    def create(
        self,
        experiment_id: str,
        user_id: str,
        run_name: str,
        start_time: int,
        tags: Sequence[pb.RunTag],
        request_id: str = "",
    ) -> pb.Run:
        """Creates a RUNNING run below its experiment's artifact location. A non-empty
        `request_id` that created a run before (a client retry after a lost answer) answers
        that run instead."""
        eid = experiment_key(experiment_id)
        run_id = uuid.uuid4().hex
        tag_values = {tag.key: tag.value for tag in tags}
        run_name = run_name or tag_values.get(RUN_NAME_TAG) or _generated_run_name(run_id)
        tag_values[RUN_NAME_TAG] = run_name
        if user_id:
            tag_values.setdefault(USER_TAG, user_id)
        with self.db.write_statements() as conn:
            created_before = self.applied.run_of(conn, request_id) if request_id else None
            if created_before is None:
                experiment = conn.execute(_EXPERIMENT_FOR_RUN, {"experiment_id": eid}).fetchone()
                if experiment is None:
                    raise NotFound(f"No Experiment with id={experiment_id} exists.")
                artifact_location, stage = experiment
                if stage != ACTIVE:
                    raise InvalidArgument(
                        f"Cannot create a run in experiment {experiment_id}: it is deleted."
                    )
                row = RunRow(
                    run_id=run_id,
                    experiment_id=eid,
                    run_name=run_name,
                    user_id=user_id,
                    status="RUNNING",
                    start_time=start_time,
                    end_time=None,
                    artifact_uri=f"{artifact_location}/{run_id}/artifacts",
                    lifecycle_stage=ACTIVE,
                )
                conn.execute(_INSERT_RUN, row._asdict())
                conn.executemany(
                    _INSERT_TAG, _ENTRY_COLUMNS, [(run_id, k, v) for k, v in tag_values.items()]
                )
                if request_id and not self.applied.claim(conn, request_id, run_id):
                    # A twin of this request (PostgreSQL's replicas) created its run first.
                    raise Unavailable("A retry of this CreateRun was applied meanwhile; retry.")
                self.quotas.add_run(conn, eid)
                self.quotas.check_new_run_tags(conn, run_id, len(tag_values))
        if created_before is not None:
            return self.get(created_before)  # the retry of a CreateRun whose answer was lost
        # The new run holds exactly what was just written: no need to read it back.
        return pb.Run(
            info=run_info(row),
            data=pb.RunData(tags=[pb.RunTag(key=k, value=v) for k, v in tag_values.items()]),
        )

    def get(self, run_id: str) -> pb.Run:
        with self.db.read() as conn:
            runs = self._runs(conn, [run_id])
        if not runs:
            raise run_not_found(run_id)
        return pb.Run(**runs[0])

    def info(self, run_id: str) -> pb.RunInfo:
        with self.db.read() as conn:
            row = run_row(conn, run_id)
        return run_info(as_run_row(row))

    def update(
        self,
        run_id: str,
        status: pb.RunStatus.ValueType | None,
        end_time: int | None,
        run_name: str | None,
    ) -> pb.RunInfo:
        with self.db.write() as conn:
            active_run(conn, run_id)
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
            row = run_row(conn, run_id)
        return run_info(as_run_row(row))

    def set_lifecycle(self, run_id: str, stage: str) -> None:
        with self.db.write() as conn:
            row = run_row(conn, run_id)
            if stage == ACTIVE and experiment_stage(conn, row.experiment_id) != ACTIVE:
                raise InvalidArgument(f"Cannot restore run {run_id}: its experiment is deleted.")
            conn.execute(
                update(t.runs)
                .where(t.runs.c.run_id == run_id)
                .values(
                    lifecycle_stage=stage, deleted_time=now_millis() if stage == DELETED else None
                )
            )

    def delete_oldest(self, experiment_id: str, max_timestamp_millis: int, max_runs: int) -> int:
        """Deletes the oldest active runs started at or before the time; how many."""
        eid = experiment_key(experiment_id)
        runs = t.runs.c
        with self.db.write() as conn:
            experiment_stage(conn, eid)
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

    def search(
        self,
        experiment_ids: Sequence[str],
        filter_string: str,
        view_type: int,
        max_results: int,
        order_by: Sequence[str],
        page_token: str,
        columns: RunColumns | None = None,
    ) -> tuple[list[Fields], str]:
        """A page of runs as Run fields; with `columns`, each carries only the keys named
        there."""
        ids = []
        for experiment_id in experiment_ids:
            try:
                ids.append(experiment_key(experiment_id))
            except (NotFound, InvalidArgument):
                raise InvalidArgument(
                    f"Invalid experiment id {experiment_id!r}: experiment ids are integers."
                ) from None
        with self.db.read() as conn:
            plan = plan_run_search(
                experiment_ids=ids,
                filter_string=filter_string,
                order_by=order_by,
                view_type=view_type,
                max_results=max_results,
                page_token=page_token,
                page_tokens=self.page_tokens,
                run_counts=lambda: read_run_counts(conn, ids),
            )
            rows, next_token = plan.fetch(conn)
            return _hydrate(conn, rows, columns), next_token

    def _runs(self, conn: Connection, run_ids: Sequence[str]) -> list[Fields]:
        rows: list[Any] = []
        for chunk in chunks(list(run_ids)):
            rows.extend(conn.execute(select(t.runs).where(t.runs.c.run_id.in_(chunk))).all())
        return _hydrate(conn, rows)


def _hydrate(conn: Connection, rows: Sequence[Any], columns: RunColumns | None = None):
    """Run fields of the runs of `rows` (which start with the runs table's columns), with
    their params, tags, latest metrics and inputs.

    With `columns`, only the named params, tags and metrics are read, and no inputs.
    """
    infos = [as_run_row(row) for row in rows]
    entities = RunEntities()
    dialect = conn.dialect.name
    reads = [
        (_PARAMS[dialect], entities.params, None if columns is None else columns.param_keys),
        (_TAGS[dialect], entities.tags, None if columns is None else columns.tag_keys),
        (
            _LATEST_METRICS[dialect],
            entities.metrics,
            None if columns is None else columns.metric_keys,
        ),
    ]
    for chunk in chunks([info.run_id for info in infos]):
        for (every_key, some_keys), by_run, keys in reads:
            if keys is None:
                found = driver_rows(conn, every_key, {"run_ids": chunk})
            elif keys:
                found = driver_rows(conn, some_keys, {"run_ids": chunk, "keys": list(keys)})
            else:
                continue
            for row in found:
                entries = by_run.get(row[0])
                if entries is None:
                    by_run[row[0]] = [row]
                else:
                    entries.append(row)
        if columns is None:
            read_inputs(conn, chunk, entities.inputs)
    return run_fields(infos, entities)
