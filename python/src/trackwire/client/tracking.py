"""The low-level client: one method per RPC of TrackingService and ArtifactService (and the
model registry's, from client/registry.py).

Methods return protobuf entities (`Experiment`, `Run`, `RunInfo`, `Metric`, `FileInfo`), ids
as strings, or `Page`s of entities for searches; failures raise `trackwire.errors` exceptions.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any, NamedTuple, TypeVar, cast

from trackwire import errors, limits
from trackwire.client._transport import open_transport, resolve_tracking_uri
from trackwire.client.pages import Page
from trackwire.client.registry import RegistryMethods
from trackwire.v1 import artifact_service_pb2 as art
from trackwire.v1 import entities_pb2 as ent
from trackwire.v1 import logged_model_service_pb2 as lm
from trackwire.v1 import tracking_service_pb2 as trk

if TYPE_CHECKING:
    from typing import Self

T = TypeVar("T")

# How often a read stream cut in the middle is started again before the error is raised.
_STREAM_RESTARTS = 3


def run_status(status: str | int) -> ent.RunStatus.ValueType:
    """A RunStatus enum value from its short name ("FINISHED") or the value itself."""
    return ent.RunStatus.ValueType(_enum(ent.RunStatus, "RUN_STATUS_", status))


def _view_type(value: str | int) -> ent.ViewType.ValueType:
    """A ViewType enum value from its short name ("ACTIVE_ONLY") or the value itself."""
    return ent.ViewType.ValueType(_enum(ent.ViewType, "VIEW_TYPE_", value))


def _permission(value: str | int) -> ent.Permission.ValueType:
    """A Permission enum value from its short name ("EDIT") or the value itself."""
    return ent.Permission.ValueType(_enum(ent.Permission, "PERMISSION_", value))


def _enum(enum, prefix: str, value: str | int) -> int:
    if isinstance(value, int):
        return value
    try:
        return enum.Value(prefix + value.upper())
    except ValueError:
        names = [v.name[len(prefix) :] for v in enum.DESCRIPTOR.values if v.number]
        raise errors.InvalidArgument(f"{value!r} is not one of {names}") from None


class MetricHistory(NamedTuple):
    """A metric's history as parallel lists: the i-th point is (steps[i], timestamps[i],
    values[i])."""

    steps: list[int]
    timestamps: list[int]
    values: list[float]


def now_millis() -> int:
    return time.time_ns() // 1_000_000


def _pairs(tags: Mapping[str, Any] | Iterable[Any] | None, cls) -> list:
    """`cls` messages from a {key: value} mapping or from messages with .key and .value."""
    if tags is None:
        return []
    if isinstance(tags, Mapping):
        return [cls(key=k, value=str(v)) for k, v in tags.items()]
    return [cls(key=t.key, value=t.value) for t in cast(Iterable[Any], tags)]


class TrackingClient(RegistryMethods):
    """A client of one tracking server (`grpc://`, `grpcs://`, or `http(s)://` through the
    HTTP/JSON gateway) or of an embedded store (`sqlite:///path.db`, no server).

    With no URI, uses $TRACKWIRE_TRACKING_URI, else $MLFLOW_TRACKING_URI, else
    `sqlite:///trackwire.db` in the working directory. `artifacts_destination` only matters in
    embedded mode (default `./trackwire-artifacts`).
    """

    def __init__(
        self, tracking_uri: str | None = None, *, artifacts_destination: str | None = None
    ):
        self.tracking_uri = resolve_tracking_uri(tracking_uri)
        self._transport = open_transport(self.tracking_uri, artifacts_destination)
        self._tracking = self._transport.tracking
        self._artifacts = self._transport.artifacts
        self._registry = self._transport.registry
        self._models = self._transport.logged_models

    def close(self) -> None:
        self._transport.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # Experiments

    def create_experiment(
        self, name: str, artifact_location: str | None = None, tags: Mapping[str, str] | None = None
    ) -> str:
        request = trk.CreateExperimentRequest(
            name=name,
            artifact_location=artifact_location or "",
            tags=_pairs(tags, ent.ExperimentTag),
        )
        return self._tracking.CreateExperiment(request).experiment_id

    def get_experiment(self, experiment_id: str) -> ent.Experiment:
        return self._tracking.GetExperiment(
            trk.GetExperimentRequest(experiment_id=experiment_id)
        ).experiment

    def get_experiment_by_name(self, name: str) -> ent.Experiment:
        request = trk.GetExperimentByNameRequest(experiment_name=name)
        return self._tracking.GetExperimentByName(request).experiment

    def get_or_create_experiment(self, name: str) -> ent.Experiment:
        """The experiment named `name`, created first if there is none."""
        try:
            return self.get_experiment_by_name(name)
        except errors.NotFound:
            pass
        try:
            self.create_experiment(name)
        except errors.AlreadyExists:
            pass  # another process created it meanwhile
        return self.get_experiment_by_name(name)

    def search_experiments(
        self,
        filter_string: str | None = None,
        order_by: Iterable[str] | None = None,
        view_type: str | int = "ACTIVE_ONLY",
        max_results: int | None = None,
        page_token: str | None = None,
    ) -> Page[ent.Experiment]:
        request = trk.SearchExperimentsRequest(
            filter=filter_string or "",
            order_by=list(order_by or ()),
            view_type=_view_type(view_type),
            max_results=max_results or 0,
            page_token=page_token or "",
        )
        response = self._tracking.SearchExperiments(request)
        return Page(response.experiments, response.next_page_token)

    def update_experiment(self, experiment_id: str, new_name: str) -> None:
        self._tracking.UpdateExperiment(
            trk.UpdateExperimentRequest(experiment_id=experiment_id, new_name=new_name)
        )

    rename_experiment = update_experiment

    def delete_experiment(self, experiment_id: str) -> None:
        self._tracking.DeleteExperiment(trk.DeleteExperimentRequest(experiment_id=experiment_id))

    def restore_experiment(self, experiment_id: str) -> None:
        self._tracking.RestoreExperiment(trk.RestoreExperimentRequest(experiment_id=experiment_id))

    def set_experiment_tag(self, experiment_id: str, key: str, value: str) -> None:
        request = trk.SetExperimentTagRequest(
            experiment_id=experiment_id, key=key, value=str(value)
        )
        self._tracking.SetExperimentTag(request)

    def delete_experiment_tag(self, experiment_id: str, key: str) -> None:
        self._tracking.DeleteExperimentTag(
            trk.DeleteExperimentTagRequest(experiment_id=experiment_id, key=key)
        )

    # Experiment permissions (servers started with --auth; see docs/securing.md)

    def create_experiment_permission(
        self, experiment_id: str, username: str, permission: str | int
    ) -> ent.ExperimentPermission:
        """Grants `username` a permission ("READ", "EDIT", "MANAGE", "NO_PERMISSIONS")."""
        request = trk.CreateExperimentPermissionRequest(
            experiment_id=experiment_id, username=username, permission=_permission(permission)
        )
        return self._tracking.CreateExperimentPermission(request).experiment_permission

    def get_experiment_permission(
        self, experiment_id: str, username: str
    ) -> ent.ExperimentPermission:
        request = trk.GetExperimentPermissionRequest(experiment_id=experiment_id, username=username)
        return self._tracking.GetExperimentPermission(request).experiment_permission

    def update_experiment_permission(
        self, experiment_id: str, username: str, permission: str | int
    ) -> None:
        request = trk.UpdateExperimentPermissionRequest(
            experiment_id=experiment_id, username=username, permission=_permission(permission)
        )
        self._tracking.UpdateExperimentPermission(request)

    def delete_experiment_permission(self, experiment_id: str, username: str) -> None:
        request = trk.DeleteExperimentPermissionRequest(
            experiment_id=experiment_id, username=username
        )
        self._tracking.DeleteExperimentPermission(request)

    # Runs

    def create_run(
        self,
        experiment_id: str,
        start_time: int | None = None,
        tags: Mapping[str, str] | None = None,
        run_name: str | None = None,
        user_id: str | None = None,
    ) -> ent.Run:
        request = trk.CreateRunRequest(
            experiment_id=experiment_id,
            start_time=start_time if start_time is not None else now_millis(),
            tags=_pairs(tags, ent.RunTag),
            run_name=run_name or "",
            user_id=user_id or "",
        )
        return self._tracking.CreateRun(request).run

    def update_run(
        self,
        run_id: str,
        status: str | int | None = None,
        end_time: int | None = None,
        run_name: str | None = None,
    ) -> ent.RunInfo:
        request = trk.UpdateRunRequest(run_id=run_id)
        if status is not None:
            request.status = run_status(status)
        if end_time is not None:
            request.end_time = end_time
        if run_name is not None:
            request.run_name = run_name
        return self._tracking.UpdateRun(request).run_info

    def set_terminated(
        self, run_id: str, status: str | int = "FINISHED", end_time: int | None = None
    ) -> None:
        self.update_run(
            run_id, status=status, end_time=end_time if end_time is not None else now_millis()
        )

    def delete_run(self, run_id: str) -> None:
        self._tracking.DeleteRun(trk.DeleteRunRequest(run_id=run_id))

    def delete_runs(
        self, experiment_id: str, max_timestamp_millis: int, max_runs: int | None = None
    ) -> int:
        """Deletes the oldest active runs of an experiment started at or before
        `max_timestamp_millis`, at most `max_runs` of them (the server's largest batch, 10,000,
        when None); how many were deleted. They can be restored until `trackwire gc` purges them.
        """
        request = trk.DeleteRunsRequest(
            experiment_id=experiment_id,
            max_timestamp_millis=max_timestamp_millis,
            max_runs=max_runs or 0,
        )
        return self._tracking.DeleteRuns(request).runs_deleted

    def restore_run(self, run_id: str) -> None:
        self._tracking.RestoreRun(trk.RestoreRunRequest(run_id=run_id))

    def get_run(self, run_id: str) -> ent.Run:
        return self._tracking.GetRun(trk.GetRunRequest(run_id=run_id)).run

    def search_runs(
        self,
        experiment_ids: Iterable[str],
        filter_string: str | None = None,
        run_view_type: str | int = "ACTIVE_ONLY",
        max_results: int | None = None,
        order_by: Iterable[str] | None = None,
        page_token: str | None = None,
        columns: Mapping[str, Iterable[str]] | None = None,
    ) -> Page[ent.Run]:
        """A page of runs. `columns` ({"metrics": [...], "params": [...], "tags": [...]})
        limits the data of each run to those keys; a kind not named returns none."""
        if isinstance(experiment_ids, str):
            experiment_ids = [experiment_ids]
        request = trk.SearchRunsRequest(
            experiment_ids=list(experiment_ids),
            filter=filter_string or "",
            run_view_type=_view_type(run_view_type),
            max_results=max_results or 0,
            order_by=list(order_by or ()),
            page_token=page_token or "",
        )
        if columns is not None:
            unknown = set(columns) - {"metrics", "params", "tags"}
            if unknown:
                raise errors.InvalidArgument(
                    f"columns names metrics, params and tags, not {sorted(unknown)}"
                )
            request.columns.metric_keys.extend(columns.get("metrics", ()))
            request.columns.param_keys.extend(columns.get("params", ()))
            request.columns.tag_keys.extend(columns.get("tags", ()))
        response = self._tracking.SearchRuns(request)
        return Page(response.runs, response.next_page_token)

    # Logging

    def log_metric(
        self,
        run_id: str,
        key: str,
        value: float,
        timestamp: int | None = None,
        step: int | None = None,
    ) -> None:
        request = trk.LogMetricRequest(
            run_id=run_id,
            key=key,
            value=float(value),
            timestamp=timestamp if timestamp is not None else now_millis(),
            step=step or 0,
        )
        self._tracking.LogMetric(request)

    def log_param(self, run_id: str, key: str, value) -> None:
        self._tracking.LogParam(trk.LogParamRequest(run_id=run_id, key=key, value=str(value)))

    def set_tag(self, run_id: str, key: str, value) -> None:
        self._tracking.SetTag(trk.SetTagRequest(run_id=run_id, key=key, value=str(value)))

    def delete_tag(self, run_id: str, key: str) -> None:
        self._tracking.DeleteTag(trk.DeleteTagRequest(run_id=run_id, key=key))

    def log_batch(
        self,
        run_id: str,
        metrics: Iterable[ent.Metric] = (),
        params: Mapping[str, str] | Iterable[ent.Param] = (),
        tags: Mapping[str, str] | Iterable[ent.RunTag] = (),
        request_id_prefix: str | None = None,
    ) -> None:
        """Logs everything, in as many LogBatch requests as the server's limits need.

        Params go first, then tags, then metrics, so a rejected param (write-once) fails before
        any metric lands. Each request is atomic on the server; a batch split over several
        requests is not. Each request carries an idempotency key, so a request sent again after
        a lost answer is stored once; with `request_id_prefix`, request n's key is
        "<prefix>-<n>", so repeating the whole call (e.g. a resumed sync) stores nothing twice.
        """
        requests = _batches(run_id, _pairs(params, ent.Param), _pairs(tags, ent.RunTag), metrics)
        for number, request in enumerate(requests):
            if request_id_prefix:
                request.request_id = f"{request_id_prefix}-{number}"
            self._tracking.LogBatch(request)

    def log_inputs(self, run_id: str, datasets: Iterable[ent.DatasetInput]) -> None:
        self._tracking.LogInputs(trk.LogInputsRequest(run_id=run_id, datasets=list(datasets)))

    def get_metric_history(self, run_id: str, key: str) -> list[ent.Metric]:
        """The whole history of a metric, in step then timestamp order (one streamed call)."""
        history = self.get_metric_history_columns(run_id, key)
        return [
            ent.Metric(key=key, step=step, timestamp=timestamp, value=value)
            for step, timestamp, value in zip(
                history.steps, history.timestamps, history.values, strict=True
            )
        ]

    def get_metric_history_columns(self, run_id: str, key: str) -> MetricHistory:
        """The whole history as parallel lists (steps, timestamps, values): the fast way to
        read a long history, e.g. into numpy or pandas."""
        request = trk.StreamMetricHistoryRequest(run_id=run_id, metric_key=key, columnar=True)
        restarts = 0
        while True:
            # The call itself is retried until its stream begins; a stream cut after that (a
            # lost connection, a server restart) is read again from the start, as the read is
            # safe to repeat.
            chunks = self._tracking.StreamMetricHistory(request)
            history = MetricHistory([], [], [])
            try:
                for chunk in chunks:
                    history.steps.extend(chunk.steps)
                    history.timestamps.extend(chunk.timestamps)
                    history.values.extend(chunk.values)
                return history
            except errors.Unavailable:
                restarts += 1
                if restarts > _STREAM_RESTARTS:
                    raise

    def get_metric_history_bulk_interval(
        self,
        run_ids: Iterable[str],
        key: str,
        start_step: int | None = None,
        end_step: int | None = None,
        max_results: int | None = None,
    ) -> list[ent.MetricWithRunId]:
        """Downsampled histories for charts: per run at most `max_results` steps (default
        320) spread evenly over [start_step, end_step], first and last included."""
        request = trk.GetMetricHistoryBulkIntervalRequest(
            run_ids=list(run_ids),
            metric_key=key,
            start_step=start_step,
            end_step=end_step,
            max_results=max_results or 0,
        )
        return list(self._tracking.GetMetricHistoryBulkInterval(request).metrics)

    def get_metric_buckets(
        self,
        run_ids: Iterable[str],
        key: str,
        start_step: int | None = None,
        end_step: int | None = None,
        buckets: int | None = None,
    ) -> trk.GetMetricBucketsResponse:
        """A metric of several runs summarised for charts: [start_step, end_step] (default:
        all steps) cut into `buckets` equal step buckets (default 1000), each with its first
        and last step, last value, minimum and maximum, so no spike is lost."""
        request = trk.GetMetricBucketsRequest(
            run_ids=list(run_ids),
            metric_key=key,
            start_step=start_step,
            end_step=end_step,
            buckets=buckets or 0,
        )
        return self._tracking.GetMetricBuckets(request)

    def get_metric_history_page(
        self,
        run_id: str,
        key: str,
        max_results: int | None = None,
        page_token: str | None = None,
    ) -> Page[ent.Metric]:
        """One page of a metric's history (the paged RPC MLflow's REST API has)."""
        request = trk.GetMetricHistoryRequest(
            run_id=run_id, metric_key=key, max_results=max_results or 0, page_token=page_token or ""
        )
        response = self._tracking.GetMetricHistory(request)
        return Page(response.metrics, response.next_page_token)

    # Artifacts

    def list_artifacts(self, run_id: str, path: str | None = None) -> list[ent.FileInfo]:
        return self._list({"run_id": run_id}, path)

    def _list(self, owner: dict[str, str], path: str | None) -> list[ent.FileInfo]:
        """`owner`: the request fields naming the run (run_id) or logged model (model_id)."""
        files: list[ent.FileInfo] = []
        token = ""
        while True:
            request = art.ListArtifactsRequest(**owner, path=path or "", page_token=token)
            response = self._artifacts.ListArtifacts(request)
            files.extend(response.files)
            token = response.next_page_token
            if not token:
                return files

    def log_artifact(
        self, run_id: str, local_file: str | os.PathLike, artifact_path: str | None = None
    ) -> ent.FileInfo:
        """Uploads one file into `artifact_path` (a directory of the run's artifacts; the root
        when None), streamed in chunks so the file is never held in memory."""
        local_file = Path(local_file)
        if not local_file.is_file():
            raise errors.InvalidArgument(f"{str(local_file)!r} is not a file")
        destination = (
            str(PurePosixPath(artifact_path, local_file.name)) if artifact_path else local_file.name
        )
        return self._upload(run_id, local_file, destination)

    def _upload(self, run_id: str, local_file: Path, destination: str) -> ent.FileInfo:
        return self._upload_to(
            art.UploadArtifactRequest(run_id=run_id, path=destination), local_file
        )

    def _upload_to(self, head: art.UploadArtifactRequest, local_file: Path) -> ent.FileInfo:
        """Streams a file after `head`, the message naming the run or model and the path."""

        def requests() -> Iterator[art.UploadArtifactRequest]:
            yield head
            with open(local_file, "rb") as f:
                while chunk := f.read(limits.ARTIFACT_CHUNK_SIZE):
                    yield art.UploadArtifactRequest(data=chunk)

        return self._artifacts.UploadArtifact(requests()).file_info

    def log_artifacts(
        self, run_id: str, local_dir: str | os.PathLike, artifact_path: str | None = None
    ) -> None:
        """Uploads the files of a directory tree, keeping its layout under `artifact_path`."""
        local_dir = Path(local_dir)
        if not local_dir.is_dir():
            raise errors.InvalidArgument(f"{str(local_dir)!r} is not a directory")
        for root, dirs, files in os.walk(local_dir):
            dirs.sort()
            for name in sorted(files):
                local_file = Path(root, name)
                relative = local_file.relative_to(local_dir).as_posix()
                destination = (
                    str(PurePosixPath(artifact_path, relative)) if artifact_path else relative
                )
                self._upload(run_id, local_file, destination)

    def download_artifacts(self, run_id: str, path: str, dst_dir: str | os.PathLike) -> str:
        """Downloads a file or a directory tree of a run's artifacts into `dst_dir`, streamed to
        disk; returns the local path of what was downloaded."""
        return self._download({"run_id": run_id}, path, dst_dir)

    def _download(self, owner: dict[str, str], path: str, dst_dir: str | os.PathLike) -> str:
        path = path.rstrip("/")
        if path and not self._is_dir(owner, path):
            local = _local_path(dst_dir, path)
            self._download_file(owner, path, local)
            return str(local)
        local = _local_path(dst_dir, path)
        local.mkdir(parents=True, exist_ok=True)
        for entry in self._list(owner, path):
            if entry.is_dir:
                self._download(owner, entry.path, dst_dir)
            else:
                self._download_file(owner, entry.path, _local_path(dst_dir, entry.path))
        return str(local)

    def _is_dir(self, owner: dict[str, str], path: str) -> bool:
        parent = str(PurePosixPath(path).parent)
        siblings = self._list(owner, "" if parent == "." else parent)
        return any(f.path == path and f.is_dir for f in siblings)

    def _download_file(self, owner: dict[str, str], path: str, local: Path) -> None:
        local.parent.mkdir(parents=True, exist_ok=True)
        chunks = self._artifacts.DownloadArtifact(art.DownloadArtifactRequest(**owner, path=path))
        partial = local.with_name(local.name + ".part")
        try:
            with open(partial, "wb") as f:
                f.writelines(chunk.data for chunk in chunks)
            partial.replace(local)
        finally:
            partial.unlink(missing_ok=True)

    def delete_artifact(self, run_id: str, path: str) -> None:
        self._artifacts.DeleteArtifact(art.DeleteArtifactRequest(run_id=run_id, path=path))

    # Logged models (MLflow 3)

    def create_logged_model(
        self,
        experiment_id: str,
        name: str | None = None,
        source_run_id: str | None = None,
        params: Mapping[str, Any] | None = None,
        tags: Mapping[str, Any] | None = None,
        model_type: str | None = None,
    ) -> lm.LoggedModel:
        """A new logged model, PENDING until `finalize_logged_model` (a name is generated when
        None)."""
        request = lm.CreateLoggedModelRequest(
            experiment_id=experiment_id,
            name=name or "",
            source_run_id=source_run_id or "",
            model_type=model_type or "",
            params=_pairs(params, lm.LoggedModelParameter),
            tags=_pairs(tags, lm.LoggedModelTag),
        )
        return self._models.CreateLoggedModel(request).model

    def finalize_logged_model(self, model_id: str, ready: bool = True) -> lm.LoggedModel:
        """Marks the model READY (or UPLOAD_FAILED when not `ready`)."""
        status = (
            lm.LOGGED_MODEL_STATUS_LOGGED_MODEL_READY
            if ready
            else lm.LOGGED_MODEL_STATUS_LOGGED_MODEL_UPLOAD_FAILED
        )
        request = lm.FinalizeLoggedModelRequest(model_id=model_id, status=status)
        return self._models.FinalizeLoggedModel(request).model

    def log_logged_model_artifact(
        self, model_id: str, local_file: str | os.PathLike, artifact_path: str | None = None
    ) -> ent.FileInfo:
        """Uploads one file into `artifact_path` (a directory of the model's artifacts; the
        root when None), streamed in chunks."""
        local_file = Path(local_file)
        if not local_file.is_file():
            raise errors.InvalidArgument(f"{str(local_file)!r} is not a file")
        destination = (
            str(PurePosixPath(artifact_path, local_file.name)) if artifact_path else local_file.name
        )
        head = art.UploadArtifactRequest(model_id=model_id, path=destination)
        return self._upload_to(head, local_file)

    def get_logged_model(self, model_id: str) -> lm.LoggedModel:
        return self._models.GetLoggedModel(lm.GetLoggedModelRequest(model_id=model_id)).model

    def search_logged_models(
        self,
        experiment_ids: Iterable[str],
        filter_string: str | None = None,
        order_by: Iterable[Mapping[str, Any]] | None = None,
        max_results: int | None = None,
        page_token: str | None = None,
        datasets: Iterable[Mapping[str, str]] | None = None,
    ) -> Page[lm.LoggedModel]:
        """A page of logged models. `order_by` and `datasets` take MLflow's dicts:
        {"field_name": "metrics.rmse", "ascending": False, "dataset_name": ...} and
        {"dataset_name": ..., "dataset_digest": ...}."""
        if isinstance(experiment_ids, str):
            experiment_ids = [experiment_ids]
        request = lm.SearchLoggedModelsRequest(
            experiment_ids=list(experiment_ids),
            filter=filter_string or "",
            max_results=max_results or 0,
            page_token=page_token or "",
            order_by=[lm.SearchLoggedModelsRequest.OrderBy(**o) for o in order_by or ()],
            datasets=[lm.SearchLoggedModelsRequest.Dataset(**d) for d in datasets or ()],
        )
        response = self._models.SearchLoggedModels(request)
        return Page(response.models, response.next_page_token)

    def list_logged_model_artifacts(
        self, model_id: str, path: str | None = None
    ) -> list[ent.FileInfo]:
        return self._list({"model_id": model_id}, path)

    def download_logged_model_artifacts(
        self, model_id: str, path: str, dst_dir: str | os.PathLike
    ) -> str:
        """Downloads a file or directory tree of a logged model's artifacts ("" for all of
        them) into `dst_dir`; returns the local path of what was downloaded."""
        return self._download({"model_id": model_id}, path, dst_dir)


def _local_path(dst_dir: str | os.PathLike, artifact_path: str) -> Path:
    """Where an artifact lands under `dst_dir`; never outside it, whatever the server says."""
    root = Path(dst_dir).resolve()
    local = (root / artifact_path).resolve()
    if not local.is_relative_to(root):
        raise errors.InvalidArgument(f"artifact path {artifact_path!r} escapes the destination")
    return local


def _batches(
    run_id: str, params: list, tags: list, metrics: Iterable[ent.Metric]
) -> Iterator[trk.LogBatchRequest]:
    """LogBatch requests that each fit the per-kind and total entry limits, params first."""
    request = trk.LogBatchRequest(run_id=run_id)
    entries = 0
    kinds = (
        (params, limits.MAX_PARAMS_PER_BATCH, "params"),
        (tags, limits.MAX_TAGS_PER_BATCH, "tags"),
        (metrics, limits.MAX_METRICS_PER_BATCH, "metrics"),
    )
    for items, limit, field in kinds:
        for item in items:
            if len(getattr(request, field)) >= limit or entries >= limits.MAX_ENTRIES_PER_BATCH:
                yield request
                request = trk.LogBatchRequest(run_id=run_id)
                entries = 0
            getattr(request, field).append(item)
            entries += 1
    if entries:
        yield request
