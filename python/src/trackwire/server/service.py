"""The tracking service: one method per RPC, protobuf request in, response out.

Both wires call these methods: the gRPC servicer adapter and the HTTP/JSON
gateway. Validation happens here, before the store is touched; errors are
trackwire.errors exceptions that each wire maps to its own codes. The largest reads
answer with their response's fields, which both wires know (see responses.py).
"""

from __future__ import annotations

import operator
from collections.abc import Iterator

from trackwire import limits, validation
from trackwire.errors import InvalidArgument
from trackwire.server import sent_fields
from trackwire.server.artifacts.locations import ArtifactLocations
from trackwire.server.auth.identity import current_identity
from trackwire.server.auth.permissions import PermissionStore, permission_name
from trackwire.server.chart_summaries import ChartSummaries
from trackwire.server.responses import ResponseFields
from trackwire.server.store.rows import ACTIVE, DELETED, USER_TAG, metric_value, now_millis
from trackwire.server.store.tracking_store import TrackingStore
from trackwire.v1 import entities_pb2 as pb
from trackwire.v1 import tracking_service_pb2 as rpc

_HISTORY_CHUNK = 10_000
# The store's MetricPoint, read from a Metric in one C call: a field read costs more than
# the point costs to store.
_METRIC_POINT = operator.attrgetter("key", "step", "timestamp", "value", "model_id")
_POINT_MODEL_ID = operator.itemgetter(4)
_ENDED = (pb.RUN_STATUS_FINISHED, pb.RUN_STATUS_FAILED, pb.RUN_STATUS_KILLED)
# The longest user name the store keeps (its user columns).
_MAX_USER_LENGTH = 256
# MLflow's default and largest max_runs of a bulk run deletion.
_MAX_DELETE_RUNS = 10_000


def _no_zero_page_size(max_results: int) -> None:
    """A search's max_results sent as 0 is refused, as MLflow's server refuses it; left out
    (or 0 on gRPC, which cannot tell) it is the default page size."""
    if max_results == 0 and sent_fields.sent("max_results"):
        raise InvalidArgument(
            "Invalid value 0 for parameter 'max_results' supplied. It must be a positive integer"
        )


def _run_id(request) -> str:
    """MLflow clients send the deprecated run_uuid beside (or instead of) run_id."""
    return validation.require(request.run_id or getattr(request, "run_uuid", ""), "run_id")


class TrackingService:
    def __init__(
        self, store: TrackingStore, locations: ArtifactLocations, chart_summaries: ChartSummaries
    ):
        self.store = store
        self.locations = locations
        self.permissions = PermissionStore(store.db)
        self.chart_summaries = chart_summaries

    # -- experiments -----------------------------------------------------------

    def CreateExperiment(
        self, request: rpc.CreateExperimentRequest
    ) -> rpc.CreateExperimentResponse:
        validation.experiment_name(request.name)
        for tag in request.tags:
            validation.experiment_tag(tag.key, tag.value)
        if request.artifact_location:
            validation.text(request.artifact_location, "artifact_location")
            self.locations.check_experiment_location(request.artifact_location)

        def location_for(experiment_id: str) -> str:
            return request.artifact_location or self.locations.default_experiment_location(
                experiment_id
            )

        # With authentication on, the creator manages the experiment.
        identity = current_identity.get()
        experiment_id = self.store.experiments.create(
            request.name, location_for, request.tags, owner=identity.user if identity else ""
        )
        if identity:
            self.permissions.forget(identity.user)  # its cached grants lack the new one
        return rpc.CreateExperimentResponse(experiment_id=experiment_id)

    def SearchExperiments(
        self, request: rpc.SearchExperimentsRequest
    ) -> rpc.SearchExperimentsResponse:
        _no_zero_page_size(request.max_results)
        experiments, token = self.store.experiments.search(
            request.filter,
            list(request.order_by),
            request.view_type,
            request.max_results,
            request.page_token,
        )
        return rpc.SearchExperimentsResponse(experiments=experiments, next_page_token=token)

    def GetExperiment(self, request: rpc.GetExperimentRequest) -> rpc.GetExperimentResponse:
        validation.require(request.experiment_id, "experiment_id")
        return rpc.GetExperimentResponse(
            experiment=self.store.experiments.get(request.experiment_id)
        )

    def GetExperimentByName(
        self, request: rpc.GetExperimentByNameRequest
    ) -> rpc.GetExperimentByNameResponse:
        validation.require(request.experiment_name, "experiment_name")
        return rpc.GetExperimentByNameResponse(
            experiment=self.store.experiments.get_by_name(request.experiment_name)
        )

    def DeleteExperiment(
        self, request: rpc.DeleteExperimentRequest
    ) -> rpc.DeleteExperimentResponse:
        validation.require(request.experiment_id, "experiment_id")
        self.store.experiments.set_lifecycle(request.experiment_id, DELETED)
        return rpc.DeleteExperimentResponse()

    def RestoreExperiment(
        self, request: rpc.RestoreExperimentRequest
    ) -> rpc.RestoreExperimentResponse:
        validation.require(request.experiment_id, "experiment_id")
        self.store.experiments.set_lifecycle(request.experiment_id, ACTIVE)
        return rpc.RestoreExperimentResponse()

    def UpdateExperiment(
        self, request: rpc.UpdateExperimentRequest
    ) -> rpc.UpdateExperimentResponse:
        validation.require(request.experiment_id, "experiment_id")
        validation.require(request.new_name, "new_name")
        validation.experiment_name(request.new_name)
        self.store.experiments.rename(request.experiment_id, request.new_name)
        return rpc.UpdateExperimentResponse()

    def SetExperimentTag(
        self, request: rpc.SetExperimentTagRequest
    ) -> rpc.SetExperimentTagResponse:
        validation.require(request.experiment_id, "experiment_id")
        validation.experiment_tag(request.key, request.value)
        self.store.experiments.set_tag(request.experiment_id, request.key, request.value)
        return rpc.SetExperimentTagResponse()

    def DeleteExperimentTag(
        self, request: rpc.DeleteExperimentTagRequest
    ) -> rpc.DeleteExperimentTagResponse:
        validation.require(request.experiment_id, "experiment_id")
        validation.require(request.key, "key")
        self.store.experiments.delete_tag(request.experiment_id, request.key)
        return rpc.DeleteExperimentTagResponse()

    # -- runs ------------------------------------------------------------------

    def CreateRun(self, request: rpc.CreateRunRequest) -> rpc.CreateRunResponse:
        tags = [
            pb.RunTag(key=tag.key, value=validation.run_tag(tag.key, tag.value))
            for tag in request.tags
        ]
        run_name = validation.run_name(request.run_name)
        validation.value_length(request.user_id, "user_id", _MAX_USER_LENGTH)
        user_id = request.user_id
        identity = current_identity.get()
        if identity is not None:
            # With authentication on, the run's user is who logs it, not who it claims to be.
            user_id = identity.user
            tags = [tag for tag in tags if tag.key != USER_TAG]
        run = self.store.runs.create(
            request.experiment_id or "0",
            user_id,
            run_name,
            request.start_time or now_millis(),
            tags,
            validation.request_id(request.request_id),
        )
        return rpc.CreateRunResponse(run=run)

    def UpdateRun(self, request: rpc.UpdateRunRequest) -> rpc.UpdateRunResponse:
        run_id = _run_id(request)
        if request.HasField("status") and request.status not in pb.RunStatus.values():
            raise validation.InvalidArgument(f"Invalid run status {request.status}.")
        info = self.store.runs.update(
            run_id,
            request.status if request.HasField("status") and request.status else None,
            request.end_time if request.HasField("end_time") else None,
            validation.run_name(request.run_name) if request.HasField("run_name") else None,
        )
        if request.status in _ENDED:
            self.chart_summaries.run_ended(run_id)
        return rpc.UpdateRunResponse(run_info=info)

    def DeleteRun(self, request: rpc.DeleteRunRequest) -> rpc.DeleteRunResponse:
        self.store.runs.set_lifecycle(_run_id(request), DELETED)
        return rpc.DeleteRunResponse()

    def DeleteRuns(self, request: rpc.DeleteRunsRequest) -> rpc.DeleteRunsResponse:
        validation.require(request.experiment_id, "experiment_id")
        if request.max_timestamp_millis <= 0:
            raise validation.InvalidArgument(
                "Missing value for required parameter 'max_timestamp_millis' "
                "(milliseconds since the Unix epoch)."
            )
        if not 0 <= request.max_runs <= _MAX_DELETE_RUNS:
            raise validation.InvalidArgument(
                f"max_runs must be between 1 and {_MAX_DELETE_RUNS}, got {request.max_runs}."
            )
        deleted = self.store.runs.delete_oldest(
            request.experiment_id,
            request.max_timestamp_millis,
            request.max_runs or _MAX_DELETE_RUNS,
        )
        return rpc.DeleteRunsResponse(runs_deleted=deleted)

    def RestoreRun(self, request: rpc.RestoreRunRequest) -> rpc.RestoreRunResponse:
        self.store.runs.set_lifecycle(_run_id(request), ACTIVE)
        return rpc.RestoreRunResponse()

    def GetRun(self, request: rpc.GetRunRequest) -> rpc.GetRunResponse:
        run = self.store.runs.get(_run_id(request))
        model_inputs, model_outputs = self.store.logged_models.run_outputs(run.info.run_id)
        run.inputs.model_inputs.extend(model_inputs)
        run.outputs.model_outputs.extend(model_outputs)
        return rpc.GetRunResponse(run=run)

    def SearchRuns(self, request: rpc.SearchRunsRequest) -> ResponseFields[rpc.SearchRunsResponse]:
        _no_zero_page_size(request.max_results)
        columns = request.columns
        for key in (*columns.param_keys, *columns.tag_keys, *columns.metric_keys):
            validation.text(key, "columns")
        runs, token = self.store.runs.search(
            list(request.experiment_ids),
            request.filter,
            request.run_view_type,
            request.max_results,
            list(request.order_by),
            request.page_token,
            request.columns if request.HasField("columns") else None,
        )
        return ResponseFields(
            rpc.SearchRunsResponse, set_only=True, runs=runs, next_page_token=token
        )

    # -- logging ---------------------------------------------------------------

    def LogMetric(self, request: rpc.LogMetricRequest) -> rpc.LogMetricResponse:
        run_id = _run_id(request)
        metric = (request.key, request.step, request.timestamp, request.value, request.model_id)
        validation.metric(metric)
        request_id = validation.request_id(request.request_id)
        if request.model_id:  # before any write: a point naming no model stores nothing
            self.store.logged_models.require_active([request.model_id])
        self.store.logging.log_batch(run_id, [metric], {}, {}, request_id)
        if request.model_id:
            model_metric = pb.Metric(
                key=request.key,
                value=request.value,
                timestamp=request.timestamp,
                step=request.step,
                model_id=request.model_id,
                dataset_name=request.dataset_name,
                dataset_digest=request.dataset_digest,
            )
            self.store.logged_models.record_metrics(run_id, [model_metric])
        return rpc.LogMetricResponse()

    def LogParam(self, request: rpc.LogParamRequest) -> rpc.LogParamResponse:
        run_id = _run_id(request)
        value = validation.param(request.key, request.value)
        self.store.logging.log_batch(run_id, [], {request.key: value}, {})
        return rpc.LogParamResponse()

    def SetTag(self, request: rpc.SetTagRequest) -> rpc.SetTagResponse:
        run_id = _run_id(request)
        value = validation.run_tag(request.key, request.value)
        self.store.logging.log_batch(run_id, [], {}, {request.key: value})
        return rpc.SetTagResponse()

    def DeleteTag(self, request: rpc.DeleteTagRequest) -> rpc.DeleteTagResponse:
        run_id = _run_id(request)
        validation.require(request.key, "key")
        self.store.logging.delete_tag(run_id, request.key)
        return rpc.DeleteTagResponse()

    def LogBatch(self, request: rpc.LogBatchRequest) -> rpc.LogBatchResponse:
        run_id = _run_id(request)
        validation.batch_sizes(len(request.metrics), len(request.params), len(request.tags))
        metrics = list(map(_METRIC_POINT, request.metrics))
        validation.metrics(metrics)
        params = validation.distinct_param_values(
            (p.key, validation.param(p.key, p.value, f"params[{i}]"))
            for i, p in enumerate(request.params)
        )
        tags = {
            tag.key: validation.run_tag(tag.key, tag.value, f"tags[{i}]")
            for i, tag in enumerate(request.tags)
        }
        request_id = validation.request_id(request.request_id)
        model_metrics = []
        if any(map(_POINT_MODEL_ID, metrics)):  # a C loop: most batches have none
            model_metrics = [m for m in request.metrics if m.model_id]
            # Before any write: a batch naming a model that is not there stores nothing.
            self.store.logged_models.require_active({m.model_id for m in model_metrics})
        self.store.logging.log_batch(run_id, metrics, params, tags, request_id)
        if model_metrics:
            self.store.logged_models.record_metrics(run_id, model_metrics)
        return rpc.LogBatchResponse()

    def LogBatchStream(self, request: rpc.LogBatchStreamRequest) -> rpc.LogBatchStreamResponse:
        """One request of a LogBatchStream (the gRPC wire serves the stream one request at a
        time)."""
        self.LogBatch(request.batch)
        return rpc.LogBatchStreamResponse()

    def LogInputs(self, request: rpc.LogInputsRequest) -> rpc.LogInputsResponse:
        run_id = _run_id(request)
        for dataset_input in request.datasets:
            dataset = dataset_input.dataset
            validation.require(dataset.name, "dataset.name")
            validation.require(dataset.digest, "dataset.digest")
            validation.require(dataset.source_type, "dataset.source_type")
            validation.require(dataset.source, "dataset.source")
            validation.value_length(dataset.name, "dataset.name", 500)
            validation.value_length(dataset.digest, "dataset.digest", 36)
            validation.value_length(dataset.source_type, "dataset.source_type", 36)
            validation.text(dataset.schema, "dataset.schema")
            validation.text(dataset.profile, "dataset.profile")
            for tag in dataset_input.tags:
                validation.tag(tag.key, tag.value, limits.MAX_TAG_VALUE_LENGTH)
        self.store.inputs.log(run_id, request.datasets)
        if request.models:
            self.store.logged_models.log_inputs(run_id, request.models)
        return rpc.LogInputsResponse()

    # -- metric history --------------------------------------------------------

    def GetMetricHistory(
        self, request: rpc.GetMetricHistoryRequest
    ) -> ResponseFields[rpc.GetMetricHistoryResponse]:
        run_id = _run_id(request)
        key = validation.require(request.metric_key, "metric_key")
        max_results = request.max_results
        if max_results < 0 or (max_results == 0 and sent_fields.sent("max_results")):
            raise InvalidArgument(
                f"Invalid value {max_results} for parameter 'max_results' supplied. It must be "
                "a positive integer."
            )
        # A larger page is served as the largest, as MLflow serves it; its token goes on.
        page_size = min(max_results, limits.MAX_METRIC_HISTORY_PAGE_SIZE)
        metrics, token = self.store.history.page(run_id, key, request.page_token, page_size)
        return ResponseFields(
            rpc.GetMetricHistoryResponse, set_only=True, metrics=metrics, next_page_token=token
        )

    def StreamMetricHistory(
        self, request: rpc.StreamMetricHistoryRequest
    ) -> Iterator[rpc.StreamMetricHistoryResponse]:
        run_id = _run_id(request)
        validation.require(request.metric_key, "metric_key")
        chunks = self.store.history.stream(run_id, request.metric_key, _HISTORY_CHUNK)
        # Fail before the first message when the run is unknown.
        first = next(chunks, None)
        encode = _columnar_chunk if request.columnar else _metrics_chunk
        return (encode(request.metric_key, chunk) for chunk in _chain(first, chunks))

    def GetMetricHistoryBulkInterval(
        self, request: rpc.GetMetricHistoryBulkIntervalRequest
    ) -> ResponseFields[rpc.GetMetricHistoryBulkIntervalResponse]:
        validation.require(request.metric_key, "metric_key")
        run_ids = list(dict.fromkeys(request.run_ids))
        for run_id in run_ids:
            validation.text(run_id, "run_ids")
        if not run_ids:
            raise validation.InvalidArgument("Missing value for required parameter 'run_ids'.")
        if len(run_ids) > limits.MAX_BULK_INTERVAL_RUNS:
            raise validation.InvalidArgument(
                f"GetMetricHistoryBulkInterval accepts at most {limits.MAX_BULK_INTERVAL_RUNS} "
                f"run ids, got {len(run_ids)}."
            )
        if not 0 <= request.max_results <= limits.MAX_BULK_INTERVAL_STEPS:
            raise validation.InvalidArgument(
                f"max_results must be between 1 and {limits.MAX_BULK_INTERVAL_STEPS}, "
                f"got {request.max_results}."
            )
        start = request.start_step if request.HasField("start_step") else None
        end = request.end_step if request.HasField("end_step") else None
        if start is not None and end is not None and start > end:
            raise validation.InvalidArgument(
                f"start_step ({start}) must not be greater than end_step ({end})."
            )
        metrics = self.store.history.bulk_interval(
            run_ids,
            request.metric_key,
            start,
            end,
            request.max_results or limits.DEFAULT_BULK_INTERVAL_STEPS,
        )
        return ResponseFields(
            rpc.GetMetricHistoryBulkIntervalResponse, set_only=True, metrics=metrics
        )

    def GetMetricBuckets(
        self, request: rpc.GetMetricBucketsRequest
    ) -> rpc.GetMetricBucketsResponse:
        validation.require(request.metric_key, "metric_key")
        run_ids = list(dict.fromkeys(request.run_ids))
        if not run_ids:
            raise validation.InvalidArgument("Missing value for required parameter 'run_ids'.")
        if len(run_ids) > limits.MAX_BULK_INTERVAL_RUNS:
            raise validation.InvalidArgument(
                f"GetMetricBuckets accepts at most {limits.MAX_BULK_INTERVAL_RUNS} run ids, "
                f"got {len(run_ids)}."
            )
        if not 0 <= request.buckets <= limits.MAX_METRIC_BUCKETS:
            raise validation.InvalidArgument(
                f"buckets must be between 1 and {limits.MAX_METRIC_BUCKETS}, got {request.buckets}."
            )
        start = request.start_step if request.HasField("start_step") else None
        end = request.end_step if request.HasField("end_step") else None
        if start is not None and end is not None and start > end:
            raise validation.InvalidArgument(
                f"start_step ({start}) must not be greater than end_step ({end})."
            )
        return self.store.history.metric_buckets(
            run_ids,
            request.metric_key,
            start,
            end,
            request.buckets or limits.DEFAULT_METRIC_BUCKETS,
        )

    # -- experiment permissions ------------------------------------------------
    # Stored whether or not authentication is on, so grants can be prepared before it is.

    def CreateExperimentPermission(
        self, request: rpc.CreateExperimentPermissionRequest
    ) -> rpc.CreateExperimentPermissionResponse:
        experiment_id, user = _grant_target(request)
        granted = self.permissions.create(experiment_id, user, permission_name(request.permission))
        return rpc.CreateExperimentPermissionResponse(experiment_permission=granted)

    def GetExperimentPermission(
        self, request: rpc.GetExperimentPermissionRequest
    ) -> rpc.GetExperimentPermissionResponse:
        experiment_id, user = _grant_target(request)
        return rpc.GetExperimentPermissionResponse(
            experiment_permission=self.permissions.get(experiment_id, user)
        )

    def UpdateExperimentPermission(
        self, request: rpc.UpdateExperimentPermissionRequest
    ) -> rpc.UpdateExperimentPermissionResponse:
        experiment_id, user = _grant_target(request)
        self.permissions.update(experiment_id, user, permission_name(request.permission))
        return rpc.UpdateExperimentPermissionResponse()

    def DeleteExperimentPermission(
        self, request: rpc.DeleteExperimentPermissionRequest
    ) -> rpc.DeleteExperimentPermissionResponse:
        experiment_id, user = _grant_target(request)
        self.permissions.delete(experiment_id, user)
        return rpc.DeleteExperimentPermissionResponse()


def _chain(first, rest):
    if first:
        yield first
    yield from rest


def _metrics_chunk(key: str, rows) -> rpc.StreamMetricHistoryResponse:
    """(step, timestamp, value) rows as Metric messages (NaN is stored as NULL)."""
    return rpc.StreamMetricHistoryResponse(
        metrics=[
            pb.Metric(key=key, step=s, timestamp=ts, value=metric_value(v)) for s, ts, v in rows
        ]
    )


def _columnar_chunk(key: str, rows) -> rpc.StreamMetricHistoryResponse:
    """(step, timestamp, value) rows as columns: one list per column handed to `extend`
    is the quickest way found to fill packed fields (zip(*rows) is slower)."""
    response = rpc.StreamMetricHistoryResponse(key=key)
    response.steps.extend([row[0] for row in rows])
    response.timestamps.extend([row[1] for row in rows])
    values = [row[2] for row in rows]
    if None in values:  # NaN is stored as NULL
        values = [metric_value(v) for v in values]
    response.values.extend(values)
    return response


def _grant_target(request) -> tuple[str, str]:
    experiment_id = validation.require(request.experiment_id, "experiment_id")
    user = validation.require(request.username, "username")
    validation.value_length(user, "username", _MAX_USER_LENGTH)
    return experiment_id, user
