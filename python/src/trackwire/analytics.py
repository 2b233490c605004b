"""Runs and metric histories as flat rows, read through the public client: the common ground
of the Spark data source (`trackwire.spark`) and the Delta Lake export (`trackwire.export`).

A run row has the columns of the hosted `mlflow-experiment` data source, then trackwire's own
(`RUN_COLUMNS`); a history row is one logged point (`HISTORY_COLUMNS`). Runs come in the
server's default order (newest start first, then run id), histories by key then step.
"""

from __future__ import annotations

import datetime
import os
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, NamedTuple

from trackwire import errors, limits
from trackwire.client import TrackingClient
from trackwire.v1 import entities_pb2 as ent

RUN_COLUMNS = (
    "run_id",
    "experiment_id",
    "metrics",
    "params",
    "tags",
    "start_time",
    "end_time",
    "status",
    "artifact_uri",
    "run_name",
    "user_id",
    "lifecycle_stage",
)
HISTORY_COLUMNS = ("run_id", "key", "step", "timestamp", "value")

# A search that returns no metrics, params or tags: enough to count runs and collect page
# tokens cheaply.
NO_DATA: Mapping[str, list[str]] = {"metrics": [], "params": [], "tags": []}


@contextmanager
def open_client(tracking_uri: str | None, token: str | None = None) -> Iterator[TrackingClient]:
    """A client of `tracking_uri` that sends `token` (else $TRACKWIRE_TOKEN, as usual).

    The client reads its token from the environment when it connects; Spark's Python workers
    and a caller naming a token explicitly get it set for that moment only.
    """
    previous = os.environ.get("TRACKWIRE_TOKEN")
    if token:
        os.environ["TRACKWIRE_TOKEN"] = token
    try:
        client = TrackingClient(tracking_uri)
    finally:
        if token:
            if previous is None:
                del os.environ["TRACKWIRE_TOKEN"]
            else:
                os.environ["TRACKWIRE_TOKEN"] = previous
    try:
        yield client
    finally:
        client.close()


def resolve_experiment_ids(
    client: TrackingClient, ids: Iterable[str] = (), names: Iterable[str] = ()
) -> list[str]:
    """Experiment ids, in the order given (ids first, then names), each once; an unknown id
    or name raises NotFound."""
    resolved: list[str] = []
    for experiment_id in ids:
        resolved.append(client.get_experiment(experiment_id).experiment_id)
    for name in names:
        resolved.append(client.get_experiment_by_name(name).experiment_id)
    return list(dict.fromkeys(resolved))


class RunRange(NamedTuple):
    """A slice of an experiment's runs in the server's order (start_time descending, then
    run_id): from `page_token` on, through the run whose (start_time, run_id) is `last`, or to
    the end when `last` is None. Bounded by keys rather than counts, a range neither misses nor
    repeats a run when runs are created or deleted between planning and reading."""

    experiment_id: str
    page_token: str
    last: tuple[int, str] | None


def plan_run_ranges(
    client: TrackingClient,
    experiment_id: str,
    runs_per_range: int,
    filter_string: str = "",
    run_view_type: str = "ACTIVE_ONLY",
) -> list[RunRange]:
    """The experiment's matching runs cut into ranges of about `runs_per_range`, planned with
    searches that return no run data; none when no run matches."""
    ranges: list[RunRange] = []
    token = ""
    while True:
        page = client.search_runs(
            [experiment_id],
            filter_string,
            run_view_type,
            max_results=runs_per_range,
            page_token=token,
            columns=NO_DATA,
        )
        if not page:
            break
        last = page[-1].info
        ranges.append(RunRange(experiment_id, token, (last.start_time, last.run_id)))
        token = page.token
        if not token:
            break
    if ranges:  # the last range runs to the end, taking in runs that come after planning
        ranges[-1] = ranges[-1]._replace(last=None)
    return ranges


def runs_in_range(
    client: TrackingClient,
    run_range: RunRange,
    filter_string: str = "",
    run_view_type: str = "ACTIVE_ONLY",
    *,
    page_size: int = limits.DEFAULT_SEARCH_RUNS_MAX_RESULTS,
    columns: Mapping[str, Iterable[str]] | None = None,
) -> Iterator[ent.Run]:
    """The runs of a range, in the server's order."""
    token = run_range.page_token
    while True:
        page = client.search_runs(
            [run_range.experiment_id],
            filter_string,
            run_view_type,
            max_results=page_size,
            page_token=token,
            columns=columns,
        )
        for run in page:
            if run_range.last is not None and _after(run.info, run_range.last):
                return
            yield run
            if (run.info.start_time, run.info.run_id) == run_range.last:
                return
        token = page.token
        if not token:
            return


def _after(info: ent.RunInfo, last: tuple[int, str]) -> bool:
    """Whether a run comes after the key `last` in the order start_time desc, run_id asc."""
    start_time, run_id = last
    return info.start_time < start_time or (info.start_time == start_time and info.run_id > run_id)


def search_runs(
    client: TrackingClient,
    experiment_ids: list[str],
    filter_string: str = "",
    run_view_type: str = "ACTIVE_ONLY",
    columns: Mapping[str, Iterable[str]] | None = None,
) -> Iterator[ent.Run]:
    """Every matching run, fetched in pages of the server's largest size."""
    token = ""
    while True:
        page = client.search_runs(
            experiment_ids,
            filter_string,
            run_view_type,
            max_results=limits.MAX_SEARCH_RUNS_MAX_RESULTS,
            page_token=token,
            columns=columns,
        )
        yield from page
        token = page.token
        if not token:
            return


def millis_to_datetime(millis: int) -> datetime.datetime:
    return datetime.datetime.fromtimestamp(millis / 1000, datetime.UTC)


def run_row(run: ent.Run) -> dict[str, Any]:
    """A run as a row of `RUN_COLUMNS`; maps are plain dicts, times aware UTC datetimes."""
    info = run.info
    return {
        "run_id": info.run_id,
        "experiment_id": info.experiment_id,
        "metrics": {m.key: m.value for m in run.data.metrics},
        "params": {p.key: p.value for p in run.data.params},
        "tags": {t.key: t.value for t in run.data.tags},
        "start_time": millis_to_datetime(info.start_time),
        "end_time": millis_to_datetime(info.end_time) if info.HasField("end_time") else None,
        "status": status_name(info.status),
        "artifact_uri": info.artifact_uri,
        "run_name": info.run_name,
        "user_id": info.user_id,
        "lifecycle_stage": info.lifecycle_stage,
    }


def status_name(status: int) -> str:
    """MLflow's name of a run status ("FINISHED")."""
    return ent.RunStatus.Name(status).removeprefix("RUN_STATUS_")  # type: ignore[arg-type]


def history_rows(
    client: TrackingClient, run: ent.Run, keys: Iterable[str] | None = None
) -> Iterator[tuple[str, str, int, datetime.datetime, float]]:
    """Every logged point of the run's metrics (only `keys` when given) as rows of
    `HISTORY_COLUMNS`, by key then step then timestamp."""
    wanted = None if keys is None else set(keys)
    run_id = run.info.run_id
    for key in sorted({m.key for m in run.data.metrics}):
        if wanted is not None and key not in wanted:
            continue
        history = client.get_metric_history_columns(run_id, key)
        for step, timestamp, value in zip(
            history.steps, history.timestamps, history.values, strict=True
        ):
            yield run_id, key, step, millis_to_datetime(timestamp), value


def split_list(text: str | None) -> list[str]:
    """The items of a comma-separated option, blanks dropped."""
    return [item.strip() for item in (text or "").split(",") if item.strip()]


def run_view_type(value: str | None) -> str:
    """A validated run view type name (ACTIVE_ONLY when unset)."""
    name = (value or "ACTIVE_ONLY").upper()
    if name not in ("ACTIVE_ONLY", "DELETED_ONLY", "ALL"):
        raise errors.InvalidArgument(
            f"run_view_type {value!r} is not one of ACTIVE_ONLY, DELETED_ONLY, ALL"
        )
    return name
