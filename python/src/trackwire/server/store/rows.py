"""Row types of the store and their one mapping to the schema's entities.

A run is mapped once, from its rows to the constructor fields of `Run` (field name ->
Python value, messages as dicts, in the schema's order; None for a field not set):
`pb.Run(**fields)` is its protobuf, and the HTTP gateway writes its JSON straight from the
same fields (see server/responses.py). A field added to `Run` is added here, for both wires.
"""

from __future__ import annotations

import math
import operator
import time
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, NamedTuple, cast

from sqlalchemy import Connection

from trackwire.server.store import schema as t
from trackwire.v1 import entities_pb2 as pb

ACTIVE = "active"
DELETED = "deleted"
DEFAULT_EXPERIMENT_ID = "0"
DEFAULT_EXPERIMENT_NAME = "Default"
RUN_NAME_TAG = "mlflow.runName"
USER_TAG = "mlflow.user"

# Chunk size for IN (...) lists: SQLite binds at most 32,766 parameters.
IN_CHUNK = 10_000

# A metric point as the service reads it from a request: (key, step, timestamp, value,
# model_id), NaN as float("nan"), model_id "" for none. The history keeps the first four;
# points linked to a logged model are also recorded as its metrics (store/logged_models.py).
MetricPoint = tuple[str, int, int, float, str]

Fields = dict[str, Any]

_NAN = math.nan
# A run's stored status ("RUNNING") -> its RunStatus value, and back.
_STATUS_VALUES = {
    value.name.removeprefix("RUN_STATUS_"): value.number for value in pb.RunStatus.DESCRIPTOR.values
}


def now_millis() -> int:
    return int(time.time() * 1000)


def status_name(status: pb.RunStatus.ValueType) -> str:
    return pb.RunStatus.Name(status).removeprefix("RUN_STATUS_")


def metric_value(stored: float | None) -> float:
    """A stored metric value as logged: NaN is stored as NULL."""
    return _NAN if stored is None else stored


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


def as_run_row(row: Sequence[Any]) -> RunRow:
    """The RunRow of a row that starts with the runs table's columns."""
    return RunRow._make(_RUN_ROW(row))


def run_info_fields(row: RunRow) -> Fields:
    """RunInfo's fields of a run that are set (ResponseFields.set_only), in the schema's order
    (JSON keeps it)."""
    info = {
        "run_id": row.run_id,
        "run_uuid": row.run_id,
        "run_name": row.run_name,
        "experiment_id": str(row.experiment_id),
        "user_id": row.user_id,
        "status": _STATUS_VALUES[row.status],
        "start_time": row.start_time,
        "end_time": row.end_time,
        "artifact_uri": row.artifact_uri,
        "lifecycle_stage": row.lifecycle_stage,
    }
    if row.end_time is None:
        del info["end_time"]
    for name in ("run_name", "user_id", "artifact_uri"):  # the strings a run may lack
        if not info[name]:
            del info[name]
    return info


def run_info(row: RunRow) -> pb.RunInfo:
    return pb.RunInfo(**run_info_fields(row))


class RunEntities:
    """What the store read of a page of runs beside their info, by run id: (run_id, key,
    value) rows of params and tags, (run_id, key, value, timestamp, step) rows of latest
    metrics (value None for NaN), and the RunInputs fields of runs with dataset inputs."""

    def __init__(self) -> None:
        self.params: dict[str, list[tuple]] = {}
        self.tags: dict[str, list[tuple]] = {}
        self.metrics: dict[str, list[tuple]] = {}
        self.inputs: dict[str, Fields] = {}


def entry_fields(key: str, value: str) -> Fields:
    """A param's or a tag's fields that are set (a value may be empty)."""
    return {"key": key, "value": value} if value else {"key": key}


def run_fields(rows: Iterable[RunRow], entities: RunEntities) -> list[Fields]:
    """Run's fields of each run of `rows` that are set (ResponseFields.set_only), in order."""
    runs = []
    nan = _NAN
    for row in rows:
        run_id = row.run_id
        data: Fields = {}
        metrics = entities.metrics.get(run_id)
        if metrics:
            data["metrics"] = [
                {
                    "key": key,
                    "value": nan if value is None else value,
                    "timestamp": timestamp,
                    "step": step,
                }
                for _, key, value, timestamp, step in metrics
            ]
        for field, by_run in (("params", entities.params), ("tags", entities.tags)):
            entries = by_run.get(run_id)
            if entries:
                data[field] = [entry_fields(key, value) for _, key, value in entries]
        run: Fields = {"info": run_info_fields(row)}
        if data:
            run["data"] = data
        inputs = entities.inputs.get(run_id)
        if inputs is not None:
            run["inputs"] = inputs
        runs.append(run)
    return runs


def experiment_message(row: Any, tags: Iterable[Any]) -> pb.Experiment:
    return pb.Experiment(
        experiment_id=str(row.experiment_id),
        name=row.name,
        artifact_location=row.artifact_location,
        lifecycle_stage=row.lifecycle_stage,
        creation_time=row.creation_time,
        last_update_time=row.last_update_time,
        tags=[pb.ExperimentTag(key=tag.key, value=tag.value) for tag in tags],
    )


def driver_rows(conn: Connection, statement: Any, params: dict[str, Any]) -> list[Any]:
    """The rows of a SELECT as the driver's own tuples.

    The statement still goes through SQLAlchemy (compiled once and cached, IN lists
    expanded), but on large reads its Row objects would cost as much as the database's work.
    """
    return cast(list[Any], conn.execute(statement, params).cursor.fetchall())


def chunks(items: list, size: int = IN_CHUNK) -> Iterator[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
