"""Every tracking RPC and its error paths, over gRPC against a real server process."""

from __future__ import annotations

import math

import grpc
import pytest

from trackwire import limits
from trackwire.v1 import entities_pb2 as pb
from trackwire.v1 import tracking_service_pb2 as rpc


def _code(call, *args) -> tuple[grpc.StatusCode, str]:
    with pytest.raises(grpc.RpcError) as info:
        call(*args)
    return info.value.code(), info.value.details()


@pytest.fixture
def experiment_id(tracking, unique) -> str:
    return tracking.CreateExperiment(rpc.CreateExperimentRequest(name=unique)).experiment_id


@pytest.fixture
def run_id(tracking, experiment_id) -> str:
    request = rpc.CreateRunRequest(experiment_id=experiment_id, run_name="r", start_time=1000)
    return tracking.CreateRun(request).run.info.run_id


def _get_run(tracking, run_id) -> pb.Run:
    return tracking.GetRun(rpc.GetRunRequest(run_id=run_id)).run


def test_default_experiment_exists(tracking):
    experiment = tracking.GetExperiment(rpc.GetExperimentRequest(experiment_id="0")).experiment
    assert experiment.name == "Default"
    assert experiment.lifecycle_stage == "active"
    assert experiment.artifact_location == "mlflow-artifacts:/0"


def test_experiment_lifecycle(tracking, unique):
    tags = [pb.ExperimentTag(key="team", value="ml")]
    eid = tracking.CreateExperiment(
        rpc.CreateExperimentRequest(name=unique, tags=tags)
    ).experiment_id
    by_name = tracking.GetExperimentByName(rpc.GetExperimentByNameRequest(experiment_name=unique))
    assert by_name.experiment.experiment_id == eid
    assert {t.key: t.value for t in by_name.experiment.tags} == {"team": "ml"}
    assert by_name.experiment.artifact_location == f"mlflow-artifacts:/{eid}"

    tracking.UpdateExperiment(rpc.UpdateExperimentRequest(experiment_id=eid, new_name=unique + "2"))
    tracking.SetExperimentTag(rpc.SetExperimentTagRequest(experiment_id=eid, key="k", value="v"))
    tracking.SetExperimentTag(rpc.SetExperimentTagRequest(experiment_id=eid, key="k", value="w"))
    tracking.DeleteExperimentTag(rpc.DeleteExperimentTagRequest(experiment_id=eid, key="team"))
    experiment = tracking.GetExperiment(rpc.GetExperimentRequest(experiment_id=eid)).experiment
    assert experiment.name == unique + "2"
    assert {t.key: t.value for t in experiment.tags} == {"k": "w"}

    run_id = tracking.CreateRun(rpc.CreateRunRequest(experiment_id=eid)).run.info.run_id
    tracking.DeleteExperiment(rpc.DeleteExperimentRequest(experiment_id=eid))
    experiment = tracking.GetExperiment(rpc.GetExperimentRequest(experiment_id=eid)).experiment
    assert experiment.lifecycle_stage == "deleted"
    assert _get_run(tracking, run_id).info.lifecycle_stage == "deleted"
    tracking.RestoreExperiment(rpc.RestoreExperimentRequest(experiment_id=eid))
    assert _get_run(tracking, run_id).info.lifecycle_stage == "active"


def test_experiment_errors(tracking, experiment_id, unique):
    create = tracking.CreateExperiment
    assert _code(create, rpc.CreateExperimentRequest(name=unique))[0] == (
        grpc.StatusCode.ALREADY_EXISTS
    )
    code, message = _code(create, rpc.CreateExperimentRequest(name=""))
    assert code == grpc.StatusCode.INVALID_ARGUMENT and "name" in message
    code, message = _code(create, rpc.CreateExperimentRequest(name="x" * 501))
    assert code == grpc.StatusCode.INVALID_ARGUMENT and "500" in message
    get = tracking.GetExperiment
    assert _code(get, rpc.GetExperimentRequest(experiment_id="987654"))[0] == (
        grpc.StatusCode.NOT_FOUND
    )
    assert _code(get, rpc.GetExperimentRequest(experiment_id="abc"))[0] == grpc.StatusCode.NOT_FOUND
    by_name = rpc.GetExperimentByNameRequest(experiment_name=unique + "-missing")
    assert _code(tracking.GetExperimentByName, by_name)[0] == grpc.StatusCode.NOT_FOUND
    delete_default = rpc.DeleteExperimentRequest(experiment_id="0")
    assert _code(tracking.DeleteExperiment, delete_default)[0] == grpc.StatusCode.INVALID_ARGUMENT
    rename = rpc.UpdateExperimentRequest(experiment_id=experiment_id, new_name="Default")
    assert _code(tracking.UpdateExperiment, rename)[0] == grpc.StatusCode.ALREADY_EXISTS
    missing_tag = rpc.DeleteExperimentTagRequest(experiment_id=experiment_id, key="nope")
    assert _code(tracking.DeleteExperimentTag, missing_tag)[0] == grpc.StatusCode.NOT_FOUND


def test_run_lifecycle(tracking, experiment_id):
    tags = [pb.RunTag(key="mlflow.user", value="ada")]
    request = rpc.CreateRunRequest(
        experiment_id=experiment_id, user_id="ada", run_name="first", start_time=123, tags=tags
    )
    run = tracking.CreateRun(request).run
    assert run.info.status == pb.RUN_STATUS_RUNNING
    assert run.info.run_name == "first" and run.info.start_time == 123
    assert not run.info.HasField("end_time")
    assert run.info.artifact_uri == f"mlflow-artifacts:/{experiment_id}/{run.info.run_id}/artifacts"
    assert {t.key: t.value for t in run.data.tags}["mlflow.runName"] == "first"

    info = tracking.UpdateRun(
        rpc.UpdateRunRequest(
            run_id=run.info.run_id, status=pb.RUN_STATUS_FINISHED, end_time=456, run_name="renamed"
        )
    ).run_info
    assert (info.status, info.end_time, info.run_name) == (pb.RUN_STATUS_FINISHED, 456, "renamed")
    tracking.DeleteRun(rpc.DeleteRunRequest(run_id=run.info.run_id))
    assert _get_run(tracking, run.info.run_id).info.lifecycle_stage == "deleted"
    tracking.RestoreRun(rpc.RestoreRunRequest(run_id=run.info.run_id))
    assert _get_run(tracking, run.info.run_id).info.lifecycle_stage == "active"


def test_run_defaults_to_default_experiment(tracking):
    run = tracking.CreateRun(rpc.CreateRunRequest()).run
    assert run.info.experiment_id == "0" and run.info.run_name


def test_unknown_run_is_not_found(tracking):
    missing = "0" * 32
    for call, request in [
        (tracking.GetRun, rpc.GetRunRequest(run_id=missing)),
        (tracking.UpdateRun, rpc.UpdateRunRequest(run_id=missing, end_time=1)),
        (tracking.DeleteRun, rpc.DeleteRunRequest(run_id=missing)),
        (tracking.LogMetric, rpc.LogMetricRequest(run_id=missing, key="m", value=1)),
        (tracking.LogParam, rpc.LogParamRequest(run_id=missing, key="p", value="1")),
        (tracking.SetTag, rpc.SetTagRequest(run_id=missing, key="t", value="1")),
        (tracking.LogBatch, rpc.LogBatchRequest(run_id=missing)),
        (tracking.GetMetricHistory, rpc.GetMetricHistoryRequest(run_id=missing, metric_key="m")),
    ]:
        code, message = _code(call, request)
        assert code == grpc.StatusCode.NOT_FOUND, call
        assert missing in message
    stream = tracking.StreamMetricHistory(
        rpc.StreamMetricHistoryRequest(run_id=missing, metric_key="m")
    )
    assert _code(list, stream)[0] == grpc.StatusCode.NOT_FOUND
    assert _code(tracking.GetRun, rpc.GetRunRequest())[0] == grpc.StatusCode.INVALID_ARGUMENT


def test_log_and_read_back(tracking, run_id):
    tracking.LogParam(rpc.LogParamRequest(run_id=run_id, key="lr", value="0.01"))
    tracking.LogParam(rpc.LogParamRequest(run_id=run_id, key="lr", value="0.01"))  # same: fine
    tracking.SetTag(rpc.SetTagRequest(run_id=run_id, key="t", value="1"))
    tracking.SetTag(rpc.SetTagRequest(run_id=run_id, key="t", value="2"))
    tracking.SetTag(rpc.SetTagRequest(run_id=run_id, key="gone", value="x"))
    tracking.DeleteTag(rpc.DeleteTagRequest(run_id=run_id, key="gone"))
    for step, value in [(0, 1.0), (2, 3.0), (1, 2.0)]:
        tracking.LogMetric(
            rpc.LogMetricRequest(run_id=run_id, key="loss", value=value, step=step, timestamp=10)
        )
    run = _get_run(tracking, run_id)
    assert {p.key: p.value for p in run.data.params} == {"lr": "0.01"}
    tags = {t.key: t.value for t in run.data.tags}
    assert tags["t"] == "2" and "gone" not in tags
    latest = {m.key: (m.value, m.step) for m in run.data.metrics}
    assert latest == {"loss": (3.0, 2)}  # the highest step wins, not the last logged
    history = tracking.GetMetricHistory(
        rpc.GetMetricHistoryRequest(run_id=run_id, metric_key="loss")
    )
    assert [(m.step, m.value) for m in history.metrics] == [(0, 1.0), (1, 2.0), (2, 3.0)]


def test_param_overwrite_refused(tracking, run_id):
    tracking.LogParam(rpc.LogParamRequest(run_id=run_id, key="p", value="a"))
    code, message = _code(tracking.LogParam, rpc.LogParamRequest(run_id=run_id, key="p", value="b"))
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert "Changing param values is not allowed" in message and "'a'" in message


def test_non_finite_metric_values_round_trip(tracking, run_id):
    values = [math.nan, math.inf, -math.inf, 0.0, -1.5e300]
    metrics = [pb.Metric(key="v", value=v, step=i, timestamp=i) for i, v in enumerate(values)]
    tracking.LogBatch(rpc.LogBatchRequest(run_id=run_id, metrics=metrics))
    history = tracking.GetMetricHistory(rpc.GetMetricHistoryRequest(run_id=run_id, metric_key="v"))
    got = [m.value for m in history.metrics]
    assert math.isnan(got[0]) and got[1:] == values[1:]
    nan_latest = pb.Metric(key="n", value=math.nan, step=1, timestamp=1)
    tracking.LogBatch(rpc.LogBatchRequest(run_id=run_id, metrics=[nan_latest]))
    latest = {m.key: m.value for m in _get_run(tracking, run_id).data.metrics}
    assert math.isnan(latest["n"]) and latest["v"] == -1.5e300


def test_log_batch_limits_and_atomicity(tracking, run_id):
    too_many = [
        pb.Metric(key="m", value=1, step=i) for i in range(limits.MAX_METRICS_PER_BATCH + 1)
    ]
    code, message = _code(tracking.LogBatch, rpc.LogBatchRequest(run_id=run_id, metrics=too_many))
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert "at most 1000 metrics. Got 1001 metrics" in message
    params = [pb.Param(key=f"p{i}", value="v") for i in range(101)]
    code, message = _code(tracking.LogBatch, rpc.LogBatchRequest(run_id=run_id, params=params))
    assert "at most 100 params" in message
    tags = [pb.RunTag(key=f"t{i}", value="v") for i in range(101)]
    code, message = _code(tracking.LogBatch, rpc.LogBatchRequest(run_id=run_id, tags=tags))
    assert "at most 100 tags" in message

    # A param conflict in a batch stores none of the batch's metrics, params or tags.
    tracking.LogParam(rpc.LogParamRequest(run_id=run_id, key="fixed", value="1"))
    batch = rpc.LogBatchRequest(
        run_id=run_id,
        metrics=[pb.Metric(key="atomic", value=1, step=0)],
        params=[pb.Param(key="new", value="x"), pb.Param(key="fixed", value="2")],
        tags=[pb.RunTag(key="atomic-tag", value="x")],
    )
    assert _code(tracking.LogBatch, batch)[0] == grpc.StatusCode.INVALID_ARGUMENT
    run = _get_run(tracking, run_id)
    assert "new" not in {p.key for p in run.data.params}
    assert "atomic-tag" not in {t.key for t in run.data.tags}
    assert "atomic" not in {m.key for m in run.data.metrics}
    dupes = rpc.LogBatchRequest(
        run_id=run_id, params=[pb.Param(key="d", value="1"), pb.Param(key="d", value="2")]
    )
    assert _code(tracking.LogBatch, dupes)[0] == grpc.StatusCode.INVALID_ARGUMENT


def test_full_batch_repeating_stored_points_keeps_every_point(tracking, run_id):
    # A full batch goes in as one statement (COPY on PostgreSQL); a point at a step and
    # timestamp already stored, first or last in the batch, makes the store number the
    # batch's points after the stored ones instead, keeping every point once, in order.
    size = limits.MAX_METRICS_PER_BATCH
    batches = [range(size), range(size - 1, 2 * size - 1), range(-size + 1, 1)]
    for number, steps in enumerate(batches):
        metrics = [pb.Metric(key="m", value=s + number / 4, step=s, timestamp=7) for s in steps]
        tracking.LogBatch(rpc.LogBatchRequest(run_id=run_id, metrics=metrics))
    history = tracking.GetMetricHistory(rpc.GetMetricHistoryRequest(run_id=run_id, metric_key="m"))
    logged = sorted((s, s + number / 4) for number, steps in enumerate(batches) for s in steps)
    assert [(m.step, m.value) for m in history.metrics] == logged
    assert _get_run(tracking, run_id).data.metrics[0].step == 2 * size - 2


@pytest.mark.parametrize(
    "key, fragment",
    [
        ("", "Missing value"),
        ("x" * 251, "maximum length of 250"),
        ("bad!key", "may only contain"),
        ("../up", "must not resolve to other names"),
        ("/abs", "must not resolve to other names"),
        ("a//b", "must not resolve to other names"),
    ],
)
def test_bad_keys_refused(tracking, run_id, key, fragment):
    for call, request in [
        (tracking.LogMetric, rpc.LogMetricRequest(run_id=run_id, key=key, value=1)),
        (tracking.LogParam, rpc.LogParamRequest(run_id=run_id, key=key, value="1")),
        (tracking.SetTag, rpc.SetTagRequest(run_id=run_id, key=key, value="1")),
    ]:
        code, message = _code(call, request)
        assert code == grpc.StatusCode.INVALID_ARGUMENT and fragment in message


def test_over_long_values_keep_their_start(tracking, run_id):
    """Param and run tag values beyond the limits are truncated, as MLflow's server does."""
    tracking.LogParam(rpc.LogParamRequest(run_id=run_id, key="long", value="x" * 6000))
    tracking.LogParam(rpc.LogParamRequest(run_id=run_id, key="longer", value="y" * 6001))
    tracking.SetTag(rpc.SetTagRequest(run_id=run_id, key="long", value="x" * 8000))
    tracking.SetTag(rpc.SetTagRequest(run_id=run_id, key="longer", value="y" * 8001))
    data = tracking.GetRun(rpc.GetRunRequest(run_id=run_id)).run.data
    params = {p.key: p.value for p in data.params}
    tags = {t.key: t.value for t in data.tags}
    assert (params["long"], params["longer"]) == ("x" * 6000, "y" * 6000)
    assert (tags["long"], tags["longer"]) == ("x" * 8000, "y" * 8000)
    # The stored (truncated) value is what a second logging compares with.
    tracking.LogParam(rpc.LogParamRequest(run_id=run_id, key="longer", value="y" * 7000))


def test_deleted_run_refuses_logging(tracking, run_id):
    tracking.DeleteRun(rpc.DeleteRunRequest(run_id=run_id))
    code, message = _code(tracking.LogMetric, rpc.LogMetricRequest(run_id=run_id, key="m", value=1))
    assert code == grpc.StatusCode.INVALID_ARGUMENT and "deleted" in message
    assert _code(tracking.LogBatch, rpc.LogBatchRequest(run_id=run_id))[0] == (
        grpc.StatusCode.INVALID_ARGUMENT
    )


def test_metric_history_paging_and_stream(tracking, run_id):
    for start in range(0, 2500, 1000):
        metrics = [
            pb.Metric(key="h", value=i * 0.5, step=i, timestamp=i)
            for i in range(start, min(start + 1000, 2500))
        ]
        tracking.LogBatch(rpc.LogBatchRequest(run_id=run_id, metrics=metrics))
    steps, token = [], ""
    while True:
        page = tracking.GetMetricHistory(
            rpc.GetMetricHistoryRequest(
                run_id=run_id, metric_key="h", max_results=700, page_token=token
            )
        )
        steps += [m.step for m in page.metrics]
        token = page.next_page_token
        if not token:
            break
    assert steps == list(range(2500))
    streamed = [
        m.step
        for chunk in tracking.StreamMetricHistory(
            rpc.StreamMetricHistoryRequest(run_id=run_id, metric_key="h")
        )
        for m in chunk.metrics
    ]
    assert streamed == list(range(2500))
    bad = rpc.GetMetricHistoryRequest(run_id=run_id, metric_key="h", page_token="garbage")
    assert _code(tracking.GetMetricHistory, bad)[0] == grpc.StatusCode.INVALID_ARGUMENT


def test_log_inputs(tracking, run_id):
    dataset = pb.Dataset(name="train", digest="abc", source_type="local", source="/data")
    inputs = [pb.DatasetInput(dataset=dataset, tags=[pb.InputTag(key="context", value="train")])]
    tracking.LogInputs(rpc.LogInputsRequest(run_id=run_id, datasets=inputs))
    tracking.LogInputs(rpc.LogInputsRequest(run_id=run_id, datasets=inputs))  # repeat: ignored
    run = _get_run(tracking, run_id)
    assert len(run.inputs.dataset_inputs) == 1
    got = run.inputs.dataset_inputs[0]
    assert got.dataset.name == "train" and got.tags[0].value == "train"
    incomplete = [pb.DatasetInput(dataset=pb.Dataset(name="x"))]
    code, _ = _code(tracking.LogInputs, rpc.LogInputsRequest(run_id=run_id, datasets=incomplete))
    assert code == grpc.StatusCode.INVALID_ARGUMENT


def test_search_runs(tracking, experiment_id):
    for i in range(5):
        run_id = tracking.CreateRun(
            rpc.CreateRunRequest(experiment_id=experiment_id, start_time=i + 1)
        ).run.info.run_id
        tracking.LogBatch(
            rpc.LogBatchRequest(
                run_id=run_id,
                metrics=[pb.Metric(key="acc", value=i / 10, step=0)],
                params=[pb.Param(key="lr", value="0.01" if i % 2 else "0.1")],
                tags=[pb.RunTag(key="team", value=f"t{i}")],
            )
        )
    found = tracking.SearchRuns(
        rpc.SearchRunsRequest(
            experiment_ids=[experiment_id],
            filter="metrics.acc > 0.1 and params.lr = '0.01'",
            order_by=["metrics.acc DESC"],
        )
    ).runs
    assert [m.value for r in found for m in r.data.metrics] == [0.3]
    ids, token = [], ""
    while True:
        page = tracking.SearchRuns(
            rpc.SearchRunsRequest(experiment_ids=[experiment_id], max_results=2, page_token=token)
        )
        ids += [r.info.start_time for r in page.runs]
        token = page.next_page_token
        if not token:
            break
    assert ids == [5, 4, 3, 2, 1]
    for bad in ["metrics.acc >", "params.lr = 'x' or params.lr = 'y'", "foo.bar = 1"]:
        request = rpc.SearchRunsRequest(experiment_ids=[experiment_id], filter=bad)
        code, message = _code(tracking.SearchRuns, request)
        assert code == grpc.StatusCode.INVALID_ARGUMENT and message
    injection = rpc.SearchRunsRequest(
        experiment_ids=[experiment_id], filter="params.lr = 'x'' OR 1=1 --'"
    )
    assert not tracking.SearchRuns(injection).runs


def test_search_experiments(tracking, unique):
    for suffix in ("a", "b"):
        tracking.CreateExperiment(rpc.CreateExperimentRequest(name=f"{unique}-{suffix}"))
    found = tracking.SearchExperiments(
        rpc.SearchExperimentsRequest(filter=f"name LIKE '{unique}-%'", order_by=["name DESC"])
    ).experiments
    assert [e.name for e in found] == [f"{unique}-b", f"{unique}-a"]
    bad = rpc.SearchExperimentsRequest(filter="name ~ 'x'")
    assert _code(tracking.SearchExperiments, bad)[0] == grpc.StatusCode.INVALID_ARGUMENT


def test_retried_requests_are_applied_once(tracking, run_id):
    batch = rpc.LogBatchRequest(
        run_id=run_id,
        metrics=[pb.Metric(key="once", value=1, step=i) for i in range(10)],
        request_id="batch-7f3a",
    )
    tracking.LogBatch(batch)
    tracking.LogBatch(batch)  # a retry after a lost response
    single = rpc.LogMetricRequest(run_id=run_id, key="single", value=1, request_id="metric-1")
    tracking.LogMetric(single)
    tracking.LogMetric(single)
    history = tracking.GetMetricHistory(
        rpc.GetMetricHistoryRequest(run_id=run_id, metric_key="once")
    )
    assert len(history.metrics) == 10
    single_history = rpc.GetMetricHistoryRequest(run_id=run_id, metric_key="single")
    assert len(tracking.GetMetricHistory(single_history).metrics) == 1
    too_long = rpc.LogMetricRequest(run_id=run_id, key="x", value=1, request_id="r" * 65)
    assert _code(tracking.LogMetric, too_long)[0] == grpc.StatusCode.INVALID_ARGUMENT


def test_columnar_history_stream(tracking, run_id):
    values = [0.5, math.nan, math.inf]
    metrics = [pb.Metric(key="c", value=v, step=i, timestamp=10 + i) for i, v in enumerate(values)]
    tracking.LogBatch(rpc.LogBatchRequest(run_id=run_id, metrics=metrics))
    request = rpc.StreamMetricHistoryRequest(run_id=run_id, metric_key="c", columnar=True)
    chunks = list(tracking.StreamMetricHistory(request))
    assert [c.key for c in chunks] == ["c"] and not chunks[0].metrics
    assert list(chunks[0].steps) == [0, 1, 2]
    assert list(chunks[0].timestamps) == [10, 11, 12]
    got = list(chunks[0].values)
    assert got[0] == 0.5 and math.isnan(got[1]) and got[2] == math.inf


def test_bulk_interval_downsamples_each_run(tracking, experiment_id):
    run_ids = []
    for steps in (1000, 7):
        run_id = tracking.CreateRun(
            rpc.CreateRunRequest(experiment_id=experiment_id)
        ).run.info.run_id
        metrics = [pb.Metric(key="loss", value=s, step=s, timestamp=1) for s in range(steps)]
        tracking.LogBatch(rpc.LogBatchRequest(run_id=run_id, metrics=metrics))
        run_ids.append(run_id)
    request = rpc.GetMetricHistoryBulkIntervalRequest(
        run_ids=run_ids, metric_key="loss", max_results=50
    )
    points = tracking.GetMetricHistoryBulkInterval(request).metrics
    long_run = [p.step for p in points if p.run_id == run_ids[0]]
    assert len(long_run) == 50 and long_run[0] == 0 and long_run[-1] == 999
    assert long_run == sorted(long_run)
    assert [p.step for p in points if p.run_id == run_ids[1]] == list(range(7))
    ranged = rpc.GetMetricHistoryBulkIntervalRequest(
        run_ids=run_ids[:1], metric_key="loss", start_step=100, end_step=200, max_results=11
    )
    steps = [p.step for p in tracking.GetMetricHistoryBulkInterval(ranged).metrics]
    assert steps == list(range(100, 201, 10))
    for bad in (
        rpc.GetMetricHistoryBulkIntervalRequest(metric_key="loss"),
        rpc.GetMetricHistoryBulkIntervalRequest(
            run_ids=run_ids, metric_key="loss", max_results=1001
        ),
        rpc.GetMetricHistoryBulkIntervalRequest(
            run_ids=[f"{i:032x}" for i in range(101)], metric_key="loss"
        ),
    ):
        assert (
            _code(tracking.GetMetricHistoryBulkInterval, bad)[0] == grpc.StatusCode.INVALID_ARGUMENT
        )
    unknown = rpc.GetMetricHistoryBulkIntervalRequest(run_ids=["f" * 32], metric_key="loss")
    assert _code(tracking.GetMetricHistoryBulkInterval, unknown)[0] == grpc.StatusCode.NOT_FOUND


@pytest.mark.parametrize(
    "steps",
    [
        range(0, 10_000, 10),  # logged every 10 steps
        range(5, 2_005, 2),
        [0, 1, 2, 1_000],  # fewer steps than asked for: all of them
        [*range(0, 300), 5_000],  # irregular: spread by value, first and last included
    ],
)
def test_bulk_interval_spreads_steps_like_the_full_list(tracking, experiment_id, steps):
    run_id = tracking.CreateRun(rpc.CreateRunRequest(experiment_id=experiment_id)).run.info.run_id
    metrics = [pb.Metric(key="loss", value=s, step=s, timestamp=1) for s in steps]
    tracking.LogBatch(rpc.LogBatchRequest(run_id=run_id, metrics=metrics))
    request = rpc.GetMetricHistoryBulkIntervalRequest(
        run_ids=[run_id], metric_key="loss", max_results=50
    )
    got = [p.step for p in tracking.GetMetricHistoryBulkInterval(request).metrics]
    steps = list(steps)
    if len(steps) <= 50:
        assert got == steps
    elif steps[-1] == 5_000:
        assert got[0] == 0 and got[-1] == 5_000 and got == sorted(set(got)) and len(got) < 50
    else:  # evenly spaced: the steps at evenly spread positions of the full list
        last = len(steps) - 1
        assert got == sorted({steps[round(i * last / 49)] for i in range(50)})


def test_search_returns_only_the_selected_columns(tracking, run_id):
    tracking.LogBatch(
        rpc.LogBatchRequest(
            run_id=run_id,
            metrics=[pb.Metric(key=k, value=1, step=0) for k in ("a", "b")],
            params=[pb.Param(key=k, value="1") for k in ("p", "q")],
            tags=[pb.RunTag(key="t", value="1")],
        )
    )
    experiment_id = _get_run(tracking, run_id).info.experiment_id
    request = rpc.SearchRunsRequest(
        experiment_ids=[experiment_id],
        filter=f"attributes.run_id = '{run_id}'",
        columns=rpc.RunColumns(metric_keys=["b"], param_keys=["p"]),
    )
    (run,) = tracking.SearchRuns(request).runs
    assert [m.key for m in run.data.metrics] == ["b"]
    assert [p.key for p in run.data.params] == ["p"]
    assert not run.data.tags
