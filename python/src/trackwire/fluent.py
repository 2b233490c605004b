"""The fluent API: a process-wide tracking URI, current experiment and stack of active runs.

    import trackwire as tw
    tw.set_experiment("demo")
    with tw.start_run():
        tw.log_param("lr", 0.01)
        tw.log_metric("loss", 0.1, step=1)

Metrics are queued and sent in the background by one thread in LogBatch requests; `end_run`
(and the `with` block, and interpreter exit) flushes them, and an error of a background send is
raised by the next fluent call or by `end_run`.

Nothing accepted is lost to an outage: writes to a run (metrics, params, tags, its end) that
the server does not answer within the client's retries go to a journal on disk (see
trackwire.client.journal), and the training loop goes on. The journal is sent as soon as the
server answers again, or, if the process ends first, by `trackwire sync`. One warning says so.

When the server cannot be reached as a run starts, the run is logged to the offline spool
(see trackwire.client.spool) and uploaded later by `trackwire sync`, or in the background by
the next process that reaches the server.
"""

from __future__ import annotations

import atexit
import getpass
import logging
import os
import posixpath
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from trackwire import errors, limits, validation
from trackwire.client import TrackingClient, journal, rich_artifacts, spool
from trackwire.client._transport import resolve_tracking_uri
from trackwire.client.tracking import now_millis, run_status
from trackwire.entities import Experiment, FileInfo, Metric, Run, ViewType
from trackwire.model_registry import ModelVersion
from trackwire.system_metrics import SystemMetricsMonitor
from trackwire.v1 import entities_pb2 as ent
from trackwire.v1 import tracking_service_pb2 as trk

if TYPE_CHECKING:
    from typing import Self

DEFAULT_EXPERIMENT_ID = "0"
# Background metric flushing: send when this many points are queued, or after this long.
FLUSH_POINTS = 1000
FLUSH_INTERVAL_SECONDS = 0.1
# Callers block (rather than grow memory without bound) when the server falls this far behind.
MAX_QUEUED_POINTS = 100 * FLUSH_POINTS
# While writes go to the journal, how often the server is tried again.
PROBE_INTERVAL_SECONDS = 0.25

_lock = threading.RLock()
_tracking_uri: str | None = None
_client: TrackingClient | None = None
_writer: _RunWriter | None = None
_experiment_id: str | None = None
_experiment_name: str | None = None
_active_runs: list[ActiveRun] = []
_last_active_run_id: str | None = None
# Runs started from now on sample system metrics (enable_system_metrics_logging).
_system_metrics_default = False
# True while runs go to the offline spool instead of the unreachable server.
_spooling = False

log = logging.getLogger("trackwire")


class ActiveRun(Run):
    """A run started by `start_run` (MLflow's `Run` shape); a context manager that ends it
    (FAILED on an exception)."""

    def __init__(self, run: ent.Run, monitor: SystemMetricsMonitor | None = None):
        entity = Run.from_proto(run)
        super().__init__(entity.info, entity.data, entity.inputs)
        self.system_metrics = monitor

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if any(r.info.run_id == self.info.run_id for r in _active_runs):
            end_run("FINISHED" if exc_type is None else "FAILED")

    def __repr__(self) -> str:
        return f"<ActiveRun run_id={self.info.run_id!r} experiment_id={self.info.experiment_id!r}>"


# Tracking URI and client


def set_tracking_uri(uri: str | None) -> None:
    """Where the fluent API logs: grpc://host:port, grpcs://host:port or sqlite:///path.db
    (None: back to $TRACKWIRE_TRACKING_URI, $MLFLOW_TRACKING_URI or the embedded default)."""
    global _tracking_uri
    with _lock:
        _close_client()
        _tracking_uri = uri


def get_tracking_uri() -> str:
    return resolve_tracking_uri(_tracking_uri)


def is_tracking_uri_set() -> bool:
    """Whether a tracking URI was set, by `set_tracking_uri` or the environment."""
    return bool(
        _tracking_uri
        or os.environ.get("TRACKWIRE_TRACKING_URI")
        or os.environ.get("MLFLOW_TRACKING_URI")
    )


def _get_client() -> TrackingClient:
    global _client, _writer
    with _lock:
        if _client is None:
            uri = get_tracking_uri()
            _client = TrackingClient(uri)
            _writer = _RunWriter(_client)
            if not uri.startswith("sqlite:") and spool.has_pending():
                _sync_spool_in_background()
        return _client


def _get_writer() -> _RunWriter:
    _get_client()
    assert _writer is not None
    return _writer


def _close_client() -> None:
    global _client, _writer
    if _writer is not None:
        _writer.close()
    if _client is not None:
        _client.close()
    _client = _writer = None


# Experiments


def set_experiment(
    experiment_name: str | None = None, experiment_id: str | None = None
) -> Experiment:
    """Makes an experiment current: by name (created if missing) or by id.

    By name, an unreachable server is not an error: the name is kept, and runs started
    while the server stays unreachable go to the offline spool.
    """
    global _experiment_id, _experiment_name
    client = _get_client()
    if experiment_id is not None and experiment_name is None:
        experiment = client.get_experiment(experiment_id)
    elif experiment_name is not None and experiment_id is None:
        try:
            experiment = client.get_or_create_experiment(experiment_name)
        except errors.Unavailable:
            log.warning("trackwire: server unreachable; experiment %r set offline", experiment_name)
            _experiment_id, _experiment_name = None, experiment_name
            return Experiment("", experiment_name, "", "active")
    else:
        raise errors.InvalidArgument(
            "set_experiment needs exactly one of experiment_name and experiment_id"
        )
    if experiment.lifecycle_stage == "deleted":
        raise errors.InvalidArgument(
            f"experiment {experiment.name!r} (id {experiment.experiment_id}) is deleted; "
            "restore it or choose another one"
        )
    _experiment_id, _experiment_name = experiment.experiment_id, experiment.name
    return Experiment.from_proto(experiment)


def search_experiments(
    view_type: int | str = ViewType.ACTIVE_ONLY,
    max_results: int | None = None,
    filter_string: str | None = None,
    order_by: Iterable[str] | None = None,
) -> list[Experiment]:
    """All matching experiments (every page), or the first `max_results`."""
    client = _get_client()
    found: list[Experiment] = []
    token = None
    while max_results is None or len(found) < max_results:
        page = client.search_experiments(
            filter_string,
            order_by,
            view_type,
            max_results=max_results and max_results - len(found),
            page_token=token,
        )
        found.extend(Experiment.from_proto(e) for e in page)
        token = page.token
        if not token:
            break
    return found


def create_experiment(
    name: str, artifact_location: str | None = None, tags: Mapping[str, Any] | None = None
) -> str:
    return _get_client().create_experiment(name, artifact_location, _strings(tags))


def get_experiment(experiment_id: str) -> Experiment:
    return Experiment.from_proto(_get_client().get_experiment(experiment_id))


def get_experiment_by_name(name: str) -> Experiment | None:
    """The experiment, or None when there is none of that name."""
    try:
        return Experiment.from_proto(_get_client().get_experiment_by_name(name))
    except errors.NotFound:
        return None


def delete_experiment(experiment_id: str) -> None:
    _get_client().delete_experiment(experiment_id)


def restore_experiment(experiment_id: str) -> None:
    _get_client().restore_experiment(experiment_id)


def set_experiment_tag(key: str, value: Any) -> None:
    """Tags the current experiment."""
    _get_client().set_experiment_tag(_current_experiment_id(), key, str(value))


def set_experiment_tags(tags: Mapping[str, Any]) -> None:
    for key, value in tags.items():
        set_experiment_tag(key, value)


def delete_experiment_tag(key: str) -> None:
    _get_client().delete_experiment_tag(_current_experiment_id(), key)


def _current_experiment_id() -> str:
    if _experiment_id is None and _experiment_name is not None:
        set_experiment(_experiment_name)
    return _experiment_id or DEFAULT_EXPERIMENT_ID


# Runs


def start_run(
    run_id: str | None = None,
    experiment_id: str | None = None,
    run_name: str | None = None,
    nested: bool = False,
    parent_run_id: str | None = None,
    tags: Mapping[str, Any] | None = None,
    description: str | None = None,
    log_system_metrics: bool | None = None,
) -> ActiveRun:
    """Starts a run (or resumes `run_id`) and makes it active; use it as a context manager.

    `parent_run_id` (or `nested=True` under an active run) makes it a child run; `description`
    is its note (`mlflow.note.content`); `log_system_metrics` samples CPU, memory, disk,
    network and GPUs into it (default: `enable_system_metrics_logging()` or
    $MLFLOW_ENABLE_SYSTEM_METRICS_LOGGING)."""
    _raise_background_error()
    client = _get_client()
    if _active_runs and not nested:
        raise errors.InvalidArgument(
            f"run {_active_runs[-1].info.run_id} is already active; end it first, or pass "
            "nested=True to start a child run"
        )
    if run_id is not None:
        client.update_run(run_id, status="RUNNING")
        run = client.get_run(run_id)
    else:
        all_tags = _system_tags()
        if run_name:
            all_tags["mlflow.runName"] = run_name
        parent = parent_run_id or (
            _active_runs[-1].info.run_id if nested and _active_runs else None
        )
        if parent:
            all_tags["mlflow.parentRunId"] = parent
        if description:
            all_tags["mlflow.note.content"] = description
        all_tags.update(_strings(tags) or {})
        try:
            run = _create_run(client, experiment_id, all_tags, run_name)
        except errors.Unavailable:
            embedded = get_tracking_uri().startswith("sqlite:")
            if _active_runs or experiment_id is not None or embedded:
                raise
            run = _start_spooled_run(all_tags, run_name)
    monitor = None
    if _wants_system_metrics(log_system_metrics):
        monitor = _start_system_metrics(run.info.run_id)
    active = ActiveRun(run, monitor)
    _active_runs.append(active)
    return active


def _wants_system_metrics(log_system_metrics: bool | None) -> bool:
    if log_system_metrics is not None:
        return log_system_metrics
    env = os.environ.get("MLFLOW_ENABLE_SYSTEM_METRICS_LOGGING", "").lower()
    return _system_metrics_default or env in ("true", "1")


def _start_system_metrics(run_id: str) -> SystemMetricsMonitor:
    def log_sample(values: dict[str, float], step: int) -> None:
        timestamp = now_millis()
        points = [
            ent.Metric(key=k, value=v, step=step, timestamp=timestamp) for k, v in values.items()
        ]
        _get_writer().add(run_id, points)

    monitor = SystemMetricsMonitor(log_sample)
    monitor.start()
    return monitor


def enable_system_metrics_logging() -> None:
    """Runs started from now on sample system metrics (unless start_run says otherwise)."""
    global _system_metrics_default
    _system_metrics_default = True


def disable_system_metrics_logging() -> None:
    global _system_metrics_default
    _system_metrics_default = False


def _create_run(
    client: TrackingClient, experiment_id: str | None, tags: dict[str, str], run_name: str | None
) -> ent.Run:
    if experiment_id is None and _experiment_id is None and _experiment_name is not None:
        # set_experiment happened offline: resolve the name now that the server answers.
        experiment_id = client.get_or_create_experiment(_experiment_name).experiment_id
    return client.create_run(
        experiment_id or _experiment_id or DEFAULT_EXPERIMENT_ID,
        tags=tags,
        run_name=run_name,
        user_id=tags["mlflow.user"],
    )


def _start_spooled_run(tags: dict[str, str], run_name: str | None) -> ent.Run:
    """Switches the fluent API to the offline spool and starts the run there."""
    global _client, _writer, _spooling
    target = get_tracking_uri()
    with _lock:
        _close_client()
        _client = spool.open_spool()
        _writer = _RunWriter(_client)
        _spooling = True
    experiment = _client.get_or_create_experiment(_experiment_name or "Default")
    tags = {**tags, **spool.spool_run_tags(target, experiment.name)}
    log.warning(
        "trackwire: %s is unreachable; logging this run to the offline spool %s "
        "(uploaded by `trackwire sync`)",
        target,
        spool.spool_dir(),
    )
    return _client.create_run(
        experiment.experiment_id, tags=tags, run_name=run_name, user_id=tags["mlflow.user"]
    )


def _leave_spool() -> None:
    """Back to the server once the spooled runs have ended; their upload starts right away."""
    global _spooling
    with _lock:
        _close_client()
        _spooling = False
    _sync_spool_in_background()


def _sync_spool_in_background() -> None:
    def attempt() -> None:
        try:
            for spooled, remote in spool.sync():
                log.info("trackwire: uploaded spooled run %s as %s", spooled, remote)
        except Exception as e:  # the server may still be down: `trackwire sync` reports errors
            log.info("trackwire: spooled runs not uploaded yet: %s", e)

    threading.Thread(target=attempt, name="trackwire-spool-sync", daemon=True).start()


def active_run() -> ActiveRun | None:
    return _active_runs[-1] if _active_runs else None


def end_run(status: str = "FINISHED") -> None:
    """Flushes queued metrics and ends the active run. If the flush failed, the run ends FAILED
    and the error is raised."""
    if not _active_runs:
        return
    global _last_active_run_id
    run = _active_runs.pop()
    _last_active_run_id = run.info.run_id
    if run.system_metrics is not None:
        run.system_metrics.stop()
    writer = _get_writer()
    try:
        writer.flush()
    except errors.TrackwireError:
        writer.end_run(run.info.run_id, "FAILED")
        raise
    writer.end_run(run.info.run_id, status)
    if _spooling and not _active_runs:
        _leave_spool()


def get_run(run_id: str) -> Run:
    _flush()
    return Run.from_proto(_get_client().get_run(run_id))


def last_active_run() -> Run | None:
    """The active run, else the run that ended last in this process."""
    if _active_runs:
        return get_run(_active_runs[-1].info.run_id)
    return get_run(_last_active_run_id) if _last_active_run_id else None


def get_parent_run(run_id: str) -> Run | None:
    parent_id = get_run(run_id).data.tags.get("mlflow.parentRunId")
    return get_run(parent_id) if parent_id else None


def delete_run(run_id: str) -> None:
    _raise_background_error()
    _get_client().delete_run(run_id)


def restore_run(run_id: str) -> None:
    _get_client().restore_run(run_id)


def delete_runs(experiment_id: str, max_timestamp_millis: int, max_runs: int | None = None) -> int:
    """Deletes an experiment's oldest runs started at or before the time; how many."""
    _raise_background_error()
    return _get_client().delete_runs(experiment_id, max_timestamp_millis, max_runs)


def search_runs(
    experiment_ids: Iterable[str] | None = None,
    filter_string: str = "",
    run_view_type: int | str = ViewType.ACTIVE_ONLY,
    max_results: int = 100_000,
    order_by: Iterable[str] | None = None,
    output_format: str = "pandas",
    search_all_experiments: bool = False,
    experiment_names: Iterable[str] | None = None,
):
    """Matching runs: a pandas DataFrame (`output_format="pandas"`: run_id, experiment_id,
    status, artifact_uri, start_time, end_time, then one column per metric `metrics.x`, param
    `params.x` and tag `tags.x`) or a list of `Run` (`output_format="list"`).

    Searches `experiment_ids` and the experiments named in `experiment_names`; with neither,
    the current experiment, or every experiment with `search_all_experiments=True`."""
    if output_format not in ("pandas", "list"):
        raise errors.InvalidArgument(
            f"output_format must be 'pandas' or 'list', not {output_format!r}"
        )
    _flush()
    client = _get_client()
    ids = list(experiment_ids or ())
    for name in experiment_names or ():
        found = get_experiment_by_name(name)
        if found is not None:
            ids.append(found.experiment_id)
    if not ids and experiment_ids is None and experiment_names is None:
        if search_all_experiments:
            ids = [e.experiment_id for e in search_experiments(view_type=ViewType.ALL)]
        else:
            ids = [_current_experiment_id()]
    runs: list[Run] = []
    token = None
    while ids and len(runs) < max_results:
        page = client.search_runs(
            ids,
            filter_string,
            run_view_type,
            min(max_results - len(runs), limits.MAX_SEARCH_RUNS_MAX_RESULTS),
            order_by,
            token,
        )
        runs.extend(Run.from_proto(r) for r in page)
        token = page.token
        if not token:
            break
    if output_format == "list":
        return runs
    return _runs_frame(runs)


def _runs_frame(runs: list[Run]):
    try:
        import pandas as pd
    except ImportError as e:
        raise ImportError(
            "search_runs returns a pandas DataFrame: pip install 'trackwire[pandas]'"
        ) from e
    rows = []
    for run in runs:
        info = run.info
        row = {
            "run_id": info.run_id,
            "experiment_id": info.experiment_id,
            "status": info.status,
            "artifact_uri": info.artifact_uri,
            "start_time": pd.to_datetime(info.start_time, unit="ms", utc=True),
            "end_time": pd.to_datetime(info.end_time, unit="ms", utc=True)
            if info.end_time is not None
            else pd.NaT,
        }
        row.update({f"metrics.{k}": v for k, v in run.data.metrics.items()})
        row.update({f"params.{k}": v for k, v in run.data.params.items()})
        row.update({f"tags.{k}": v for k, v in run.data.tags.items()})
        rows.append(row)
    columns = ["run_id", "experiment_id", "status", "artifact_uri", "start_time", "end_time"]
    frame = pd.DataFrame(rows, columns=columns if not rows else None)
    extra = sorted(c for c in frame.columns if c not in columns)
    return frame[columns + extra]


# Logging


def log_param(key: str, value: Any, synchronous: bool | None = None) -> Any:
    """Logs a param of the active run; returns `value`, as MLflow does."""
    log_params({key: value})
    return value


def log_params(
    params: Mapping[str, Any], synchronous: bool | None = None, run_id: str | None = None
) -> None:
    _raise_background_error()
    entries = [ent.Param(key=k, value=v) for k, v in (_strings(params) or {}).items()]
    _get_writer().log_batch(trk.LogBatchRequest(run_id=run_id or _run_id(), params=entries))


def set_tag(key: str, value: Any, synchronous: bool | None = None) -> None:
    set_tags({key: value})


def set_tags(tags: Mapping[str, Any], synchronous: bool | None = None) -> None:
    _raise_background_error()
    entries = [ent.RunTag(key=k, value=v) for k, v in (_strings(tags) or {}).items()]
    _get_writer().log_batch(trk.LogBatchRequest(run_id=_run_id(), tags=entries))


def delete_tag(key: str) -> None:
    _raise_background_error()
    _get_client().delete_tag(_run_id(), key)


def log_metric(
    key: str,
    value: float,
    step: int | None = None,
    synchronous: bool | None = None,
    timestamp: int | None = None,
    run_id: str | None = None,
) -> None:
    """Queues one metric point; it is sent in the background (see the module docstring).
    A bad key or value is refused here, at the call, not by a later send."""
    metric = _metric(key, value, step, timestamp if timestamp is not None else now_millis())
    _add_points(run_id or _run_id(), [metric], synchronous)


def log_metrics(
    metrics: Mapping[str, float],
    step: int | None = None,
    synchronous: bool | None = None,
    run_id: str | None = None,
    timestamp: int | None = None,
) -> None:
    timestamp = timestamp if timestamp is not None else now_millis()
    points = [_metric(k, v, step, timestamp) for k, v in metrics.items()]
    _add_points(run_id or _run_id(), points, synchronous)


# Metric keys that passed validation: a training loop logs a few keys many times, and the
# check costs about as much as queueing the point. Bounded, in case keys are generated.
_CHECKED_METRIC_KEYS: set[str] = set()
_MAX_CHECKED_METRIC_KEYS = 10_000


def _metric(key: str, value: Any, step: int | None, timestamp: int) -> ent.Metric:
    if type(key) is not str or key not in _CHECKED_METRIC_KEYS:
        validation.key(key, "name", "Metric name")
        if len(_CHECKED_METRIC_KEYS) < _MAX_CHECKED_METRIC_KEYS:
            _CHECKED_METRIC_KEYS.add(key)
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise errors.InvalidArgument(
            f"Got invalid value {value!r} for metric {key!r} (expected a number)"
        ) from None
    return ent.Metric(key=key, value=number, step=int(step or 0), timestamp=int(timestamp))


def _add_points(run_id: str, points: list[ent.Metric], synchronous: bool | None) -> None:
    _get_writer().add(run_id, points)
    if synchronous:
        _flush()


def get_metric_history(run_id: str, key: str) -> list[Metric]:
    """A metric's whole history, as `MlflowClient.get_metric_history(run_id, key)`."""
    _flush()
    return [Metric.from_proto(m) for m in _get_client().get_metric_history(run_id, key)]


def log_input(
    dataset: Any, context: str | None = None, tags: Mapping[str, Any] | None = None
) -> None:
    """Records a dataset (a `trackwire.data` dataset, or any object with `to_proto()` giving
    a `Dataset`) as an input of the active run; `context` is e.g. "training"."""
    input_tags = dict(_strings(tags) or {})
    if context:
        input_tags["mlflow.data.context"] = context
    proto = ent.DatasetInput(
        dataset=dataset.to_proto(),
        tags=[ent.InputTag(key=k, value=v) for k, v in input_tags.items()],
    )
    _get_client().log_inputs(_run_id(), [proto])


# Artifacts


def log_artifact(
    local_path: str | os.PathLike, artifact_path: str | None = None, run_id: str | None = None
) -> None:
    _raise_background_error()
    _get_client().log_artifact(run_id or _run_id(), local_path, artifact_path)


def log_artifacts(
    local_dir: str | os.PathLike, artifact_path: str | None = None, run_id: str | None = None
) -> None:
    _raise_background_error()
    _get_client().log_artifacts(run_id or _run_id(), local_dir, artifact_path)


def log_text(text: str, artifact_file: str, run_id: str | None = None) -> None:
    """Saves `text` as the artifact file `artifact_file` (a path in the run, e.g. "notes/a.txt")."""
    rich_artifacts.log_text(_get_client(), run_id or _run_id(), text, artifact_file)


def log_dict(dictionary: Mapping[str, Any], artifact_file: str, run_id: str | None = None) -> None:
    """Saves a dict as JSON, or as YAML when `artifact_file` ends with .yaml or .yml."""
    rich_artifacts.log_dict(_get_client(), run_id or _run_id(), dictionary, artifact_file)


def log_figure(
    figure: Any, artifact_file: str, *, save_kwargs: Mapping[str, Any] | None = None
) -> None:
    """Saves a matplotlib or plotly figure as `artifact_file`."""
    rich_artifacts.log_figure(
        _get_client(), _run_id(), figure, artifact_file, save_kwargs=save_kwargs
    )


def log_image(
    image: Any,
    artifact_file: str | None = None,
    key: str | None = None,
    step: int | None = None,
    timestamp: int | None = None,
    synchronous: bool | None = None,
) -> None:
    """Saves a numpy array or PIL image as `artifact_file`, or as step `step` of the image
    series `key`."""
    rich_artifacts.log_image(_get_client(), _run_id(), image, artifact_file, key, step, timestamp)


def log_table(data: Any, artifact_file: str, run_id: str | None = None) -> None:
    """Saves a pandas DataFrame or a dict of columns as a table (appended to an existing one)."""
    rich_artifacts.log_table(_get_client(), run_id or _run_id(), data, artifact_file)


def load_table(
    artifact_file: str,
    run_ids: Iterable[str] | None = None,
    extra_columns: Iterable[str] | None = None,
):
    """The table `artifact_file` of the given runs (default: every run of the current
    experiment that logged it) as one DataFrame."""
    return rich_artifacts.load_table(
        _get_client(), _current_experiment_id(), artifact_file, run_ids, extra_columns
    )


def get_artifact_uri(artifact_path: str | None = None) -> str:
    """The artifact URI of the active run, or of a path inside it."""
    root = _get_client().get_run(_run_id()).info.artifact_uri
    return posixpath.join(root, artifact_path) if artifact_path else root


def list_artifacts(path: str | None = None, run_id: str | None = None) -> list[FileInfo]:
    return [FileInfo.from_proto(f) for f in _get_client().list_artifacts(run_id or _run_id(), path)]


def download_artifacts(
    artifact_path: str = "", run_id: str | None = None, dst_path: str | None = None
) -> str:
    """Downloads a file or directory of a run's artifacts; returns its local path."""
    dst_path = dst_path or tempfile.mkdtemp(prefix="trackwire-download-")
    return _get_client().download_artifacts(run_id or _run_id(), artifact_path, dst_path)


# Internals


def _strings(mapping: Mapping[str, Any] | None) -> dict[str, str] | None:
    """Values as MLflow stores params and tags: strings."""
    return None if mapping is None else {str(k): str(v) for k, v in mapping.items()}


def _run_id() -> str:
    if not _active_runs:
        # Like MLflow, logging without a run starts one.
        start_run()
    return _active_runs[-1].info.run_id


def _flush() -> None:
    if _writer is not None:
        _writer.flush()


def _raise_background_error() -> None:
    if _writer is not None:
        _writer.raise_error()


# The source's git tags, found once per process.
_git_tags: dict[str, str] | None = None


def _system_tags() -> dict[str, str]:
    global _git_tags
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no user name here (e.g. a container without a passwd entry)
        user = "unknown"
    source = sys.argv[0] if sys.argv and sys.argv[0] else "<console>"
    tags = {
        "mlflow.user": user,
        "mlflow.source.name": source,
        "mlflow.source.type": "LOCAL",
    }
    if _git_tags is None:
        _git_tags = _find_git_tags(
            Path(source).resolve().parent if os.path.exists(source) else Path.cwd()
        )
    tags.update(_git_tags)
    return tags


def _find_git_tags(directory: Path) -> dict[str, str]:
    """MLflow's source tags: the commit, branch and remote URL of the source's repository."""
    commit = _git(directory, "rev-parse", "HEAD")
    if not commit:
        return {}
    tags = {"mlflow.source.git.commit": commit}
    branch = _git(directory, "rev-parse", "--abbrev-ref", "HEAD")
    if branch and branch != "HEAD":
        tags["mlflow.source.git.branch"] = branch
    remote = _git(directory, "remote", "get-url", "origin")
    if remote:
        tags["mlflow.source.git.repoURL"] = remote
    return tags


def _git(directory: Path, *args: str) -> str:
    try:
        result = subprocess.run(
            ["git", *args],
            check=False,
            cwd=directory,
            capture_output=True,
            text=True,
            timeout=5,
        )
    except (OSError, subprocess.SubprocessError):
        return ""
    return result.stdout.strip() if result.returncode == 0 else ""


class _RunWriter:
    """Queues metric points and sends them from one background thread in LogBatch requests;
    sends the run's other writes for the caller; and keeps every write that the server does
    not answer in a journal, replayed by the thread once the server answers again."""

    def __init__(self, client: TrackingClient):
        self._client = client
        self._cond = threading.Condition()
        self._queue: list[tuple[str, ent.Metric]] = []
        self._sending = False
        self._flush_requested = False
        self._closed = False
        self._error: errors.TrackwireError | None = None
        self._thread: threading.Thread | None = None
        # Set while the server cannot be reached; guarded by _journal_lock.
        self._journal: journal.Journal | None = None
        self._journal_lock = threading.Lock()
        self._next_probe = 0.0

    def add(self, run_id: str, metrics: list[ent.Metric]) -> None:
        with self._cond:
            self._take_error()
            while len(self._queue) >= MAX_QUEUED_POINTS and self._error is None:
                self._cond.wait()
            self._take_error()
            self._queue.extend((run_id, m) for m in metrics)
            if self._thread is None:
                self._start_thread()
            elif len(self._queue) >= FLUSH_POINTS:
                self._cond.notify_all()

    def log_batch(self, request: trk.LogBatchRequest) -> None:
        """Sends params, tags or metrics of a run now; journals them if the server cannot be
        reached. Errors other than that are raised."""
        request.request_id = uuid.uuid4().hex  # the prefix of its requests' keys
        self._write(request)

    def end_run(self, run_id: str, status: str) -> None:
        request = trk.UpdateRunRequest(
            run_id=run_id, status=run_status(status), end_time=now_millis()
        )
        self._write(request)

    def flush(self) -> None:
        """Returns once every queued point is stored or journaled; raises the error of a
        failed send."""
        with self._cond:
            self._flush_requested = True
            self._cond.notify_all()
            while (self._queue or self._sending) and self._error is None:
                self._cond.wait()
            self._flush_requested = False
            self._take_error()

    def raise_error(self) -> None:
        with self._cond:
            self._take_error()

    def close(self) -> None:
        """Flushes, then stops the thread. An unreported send error is raised here. A journal
        still held is sent if the server answers, else left for `trackwire sync`."""
        try:
            self.flush()
        finally:
            with self._cond:
                self._closed = True
                self._cond.notify_all()
            if self._thread is not None:
                self._thread.join()
            if self._journal is not None:
                self._next_probe = 0.0
                try:
                    self._replay_journal()
                finally:
                    if self._journal is not None:
                        self._journal.close()

    def _start_thread(self) -> None:
        """Starts the sending thread if it is not running yet, and wakes it."""
        with self._cond:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="trackwire-metrics", daemon=True
                )
                self._thread.start()
            self._cond.notify_all()

    def _take_error(self) -> None:
        if self._error is not None:
            error, self._error = self._error, None
            raise error

    def _run(self) -> None:
        while True:
            with self._cond:
                while not (self._queue or self._closed or self._journal):
                    self._cond.wait()
                if self._closed and not self._queue:
                    return
                if not self._queue:  # nothing to send: time to try the server again
                    self._cond.wait(PROBE_INTERVAL_SECONDS)
                deadline = time.monotonic() + FLUSH_INTERVAL_SECONDS
                while (
                    self._queue
                    and len(self._queue) < FLUSH_POINTS
                    and not (self._flush_requested or self._closed)
                ):
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        break
                    self._cond.wait(remaining)
                points, self._queue = self._queue, []
                self._sending = True
                self._cond.notify_all()
            try:
                self._send(points)
                self._replay_journal()
            except Exception as e:  # raised by the caller's next call, never swallowed
                error = e if isinstance(e, errors.TrackwireError) else errors.InternalError(repr(e))
                with self._cond:
                    self._error = self._error or error
            finally:
                with self._cond:
                    self._sending = False
                    self._cond.notify_all()

    def _send(self, points: list[tuple[str, ent.Metric]]) -> None:
        by_run: dict[str, list[ent.Metric]] = {}
        for run_id, metric in points:
            by_run.setdefault(run_id, []).append(metric)
        for run_id, metrics in by_run.items():
            request = trk.LogBatchRequest(run_id=run_id, request_id=uuid.uuid4().hex)
            self._write(request, metrics)

    def _write(self, request: journal.Record, metrics: list[ent.Metric] | None = None) -> None:
        """Sends the request, or journals it; `metrics` are a LogBatch request's points, put
        into the request only if it is journaled."""
        while True:
            online = self._journal is None
            if online:
                try:
                    journal.send(self._client, request, metrics)
                    return
                except errors.Unavailable:
                    pass
            with self._journal_lock:
                if self._journal is None and not online:
                    continue  # the journal was sent meanwhile: the server answers again
                if self._journal is None:
                    self._journal = journal.Journal(spool.spool_dir(), self._client.tracking_uri)
                    log.warning(
                        "trackwire: %s is unreachable; the run's writes are kept in %s and "
                        "sent when it answers again, by this process or else by `trackwire sync`",
                        self._client.tracking_uri,
                        self._journal.path,
                    )
                    self._start_thread()  # which replays it
                if metrics is not None:
                    cast(trk.LogBatchRequest, request).metrics.extend(metrics)
                self._journal.append(request)
                return

    def _replay_journal(self) -> None:
        """Sends the journal once the server answers again, and then writes go straight to
        it again. Tried at most every PROBE_INTERVAL_SECONDS."""
        held = self._journal
        if held is None or time.monotonic() < self._next_probe:
            return
        self._next_probe = time.monotonic() + PROBE_INTERVAL_SECONDS
        try:
            held.try_replay(self._client)
        except errors.Unavailable:
            return
        with self._journal_lock:
            if held.all_sent():
                held.delete()
                self._journal = None
                log.info("trackwire: %s answers again; its journal was sent", held.path)


def register_model(model_uri: str, name: str) -> ModelVersion:
    """A new version of the registered model `name` (created if needed) from `model_uri`,
    for instance `runs:/<run_id>/model`, as `mlflow.register_model` does."""
    return ModelVersion.from_proto(_get_client().register_model(model_uri, name))


def _end_runs_at_exit() -> None:
    while _active_runs:
        try:
            end_run()
        except Exception as e:  # exiting: say what was lost, keep ending runs
            print(f"trackwire: could not end run at exit: {e}", file=sys.stderr)
    try:
        with _lock:
            _close_client()
    except Exception as e:  # exiting: report instead of a traceback
        print(f"trackwire: could not flush metrics at exit: {e}", file=sys.stderr)


atexit.register(_end_runs_at_exit)
