"""Quotas, each hit exactly at its boundary (small limits set by server flags), and the
request size limits of both wires."""

from __future__ import annotations

import threading

import grpc
import httpx
import pytest
from server_process import LiveServer, backend_for_tests

from trackwire import limits
from trackwire.v1 import entities_pb2 as pb
from trackwire.v1 import tracking_service_pb2 as rpc
from trackwire.v1 import tracking_service_pb2_grpc

RUNS, PARAMS, TAGS, STEPS, EXPERIMENT_TAGS = 3, 4, 6, 10, 3


@pytest.fixture(scope="module")
def quota_server(tmp_path_factory):
    live = LiveServer(
        tmp_path_factory.mktemp("quota-server"),
        backend_for_tests(),
        extra_args=[
            *("--max-runs-per-experiment", str(RUNS)),
            *("--max-params-per-run", str(PARAMS)),
            *("--max-tags-per-run", str(TAGS)),
            *("--max-metric-steps-per-run", str(STEPS)),
            *("--max-tags-per-experiment", str(EXPERIMENT_TAGS)),
        ],
    ).start()
    yield live
    live.stop()


@pytest.fixture(scope="module")
def stub(quota_server):
    with quota_server.grpc_channel() as channel:
        yield tracking_service_pb2_grpc.TrackingServiceStub(channel)


@pytest.fixture
def experiment_id(stub, unique) -> str:
    return stub.CreateExperiment(rpc.CreateExperimentRequest(name=unique)).experiment_id


@pytest.fixture
def run_id(stub, experiment_id) -> str:
    # A new run has one tag: mlflow.runName.
    return stub.CreateRun(rpc.CreateRunRequest(experiment_id=experiment_id)).run.info.run_id


def exhausted(call, *words: str) -> str:
    with pytest.raises(grpc.RpcError) as caught:
        call()
    assert caught.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED, caught.value.details()
    message = caught.value.details()
    for word in words:
        assert word in message, message
    return message


def test_runs_per_experiment(stub, experiment_id, quota_server):
    for _ in range(RUNS):
        stub.CreateRun(rpc.CreateRunRequest(experiment_id=experiment_id))
    message = exhausted(
        lambda: stub.CreateRun(rpc.CreateRunRequest(experiment_id=experiment_id)),
        f"limit of {RUNS} runs per experiment",
        f"current count {RUNS}",
        "trackwire gc",
    )
    assert "--max-runs-per-experiment" in message
    found = stub.SearchRuns(
        rpc.SearchRunsRequest(experiment_ids=[experiment_id], run_view_type=pb.VIEW_TYPE_ALL)
    )
    assert len(found.runs) == RUNS
    # The same refusal on the HTTP wire: 429 with MLflow's error code.
    response = httpx.post(
        quota_server.http_url + "/api/2.0/mlflow/runs/create",
        json={"experiment_id": experiment_id},
    )
    assert response.status_code == 429
    assert response.json()["error_code"] == "RESOURCE_EXHAUSTED"


def _params(*keys: str) -> list[pb.Param]:
    return [pb.Param(key=k, value="1") for k in keys]


def test_params_per_run(stub, run_id):
    stub.LogBatch(rpc.LogBatchRequest(run_id=run_id, params=_params("a", "b", "c")))
    exhausted(
        lambda: stub.LogBatch(rpc.LogBatchRequest(run_id=run_id, params=_params("d", "e"))),
        f"limit of {PARAMS} params per run",
        "current count 3",
    )
    stub.LogBatch(rpc.LogBatchRequest(run_id=run_id, params=_params("a", "d")))  # exactly 4
    exhausted(lambda: stub.LogParam(rpc.LogParamRequest(run_id=run_id, key="e", value="1")))
    run = stub.GetRun(rpc.GetRunRequest(run_id=run_id)).run
    assert sorted(p.key for p in run.data.params) == ["a", "b", "c", "d"]


def test_tags_per_run(stub, run_id):
    tags = [pb.RunTag(key=f"t{i}", value="v") for i in range(TAGS - 1)]
    refused = [*tags, pb.RunTag(key="one-too-many", value="v")]
    exhausted(
        lambda: stub.LogBatch(rpc.LogBatchRequest(run_id=run_id, tags=refused)),
        f"limit of {TAGS} tags per run",
        "current count 1",
        "DeleteTag",
    )
    stub.LogBatch(rpc.LogBatchRequest(run_id=run_id, tags=tags))  # exactly the limit
    stub.SetTag(rpc.SetTagRequest(run_id=run_id, key="t0", value="overwritten"))  # no new tag
    exhausted(lambda: stub.SetTag(rpc.SetTagRequest(run_id=run_id, key="new", value="v")))
    stub.DeleteTag(rpc.DeleteTagRequest(run_id=run_id, key="t1"))
    stub.SetTag(rpc.SetTagRequest(run_id=run_id, key="new", value="v"))  # room again
    run = stub.GetRun(rpc.GetRunRequest(run_id=run_id)).run
    assert len(run.data.tags) == TAGS


def test_tags_of_a_new_run(stub, experiment_id):
    tags = [pb.RunTag(key=f"t{i}", value="v") for i in range(TAGS)]  # + mlflow.runName
    exhausted(
        lambda: stub.CreateRun(rpc.CreateRunRequest(experiment_id=experiment_id, tags=tags)),
        f"limit of {TAGS} tags per run",
    )
    stub.CreateRun(rpc.CreateRunRequest(experiment_id=experiment_id, tags=tags[1:]))


def _points(count: int, first_step: int = 0) -> list[pb.Metric]:
    return [pb.Metric(key="m", value=1.0, timestamp=1, step=first_step + i) for i in range(count)]


def test_metric_steps_per_run(stub, run_id):
    stub.LogBatch(rpc.LogBatchRequest(run_id=run_id, metrics=_points(STEPS - 1)))
    exhausted(
        lambda: stub.LogBatch(rpc.LogBatchRequest(run_id=run_id, metrics=_points(2, 100))),
        f"limit of {STEPS} total metric steps per run",
        f"current count {STEPS - 1}",
    )
    stub.LogMetric(rpc.LogMetricRequest(run_id=run_id, key="other", value=2.0, step=1))
    exhausted(
        lambda: stub.LogMetric(rpc.LogMetricRequest(run_id=run_id, key="m", value=2.0, step=5))
    )
    history = stub.GetMetricHistory(rpc.GetMetricHistoryRequest(run_id=run_id, metric_key="m"))
    assert len(history.metrics) == STEPS - 1


def test_tags_per_experiment(stub, experiment_id, unique):
    for i in range(EXPERIMENT_TAGS):
        stub.SetExperimentTag(
            rpc.SetExperimentTagRequest(experiment_id=experiment_id, key=f"k{i}", value="v")
        )
    stub.SetExperimentTag(
        rpc.SetExperimentTagRequest(experiment_id=experiment_id, key="k0", value="overwritten")
    )
    exhausted(
        lambda: stub.SetExperimentTag(
            rpc.SetExperimentTagRequest(experiment_id=experiment_id, key="new", value="v")
        ),
        f"limit of {EXPERIMENT_TAGS} tags per experiment",
        f"current count {EXPERIMENT_TAGS}",
    )
    tags = [pb.ExperimentTag(key=f"k{i}", value="v") for i in range(EXPERIMENT_TAGS + 1)]
    exhausted(
        lambda: stub.CreateExperiment(rpc.CreateExperimentRequest(name=unique + "-2", tags=tags))
    )
    with pytest.raises(grpc.RpcError) as caught:
        stub.GetExperimentByName(rpc.GetExperimentByNameRequest(experiment_name=unique + "-2"))
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND  # nothing stored half-way


def test_request_size_limits_on_both_wires(quota_server, stub, run_id):
    oversized = "x" * (limits.MAX_REQUEST_BYTES + 1)
    with pytest.raises(grpc.RpcError) as caught:
        stub.SetTag(rpc.SetTagRequest(run_id=run_id, key="big", value=oversized))
    assert caught.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    response = httpx.post(
        quota_server.http_url + "/api/2.0/mlflow/runs/set-tag",
        content=b'{"run_id": "'
        + run_id.encode()
        + b'", "key": "big", "value": "'
        + oversized.encode()
        + b'"}',
        headers={"Content-Type": "application/json"},
        timeout=30,
    )
    assert response.status_code == 413
    assert "LIMIT_MAX_REQUEST_BYTES" in response.json()["message"]
    # The server keeps serving.
    assert stub.GetRun(rpc.GetRunRequest(run_id=run_id)).run.info.run_id == run_id


def test_upgrade_counts_what_is_already_stored(tmp_path):
    """Migration 0003 starts the quota counters at what a store already holds."""
    from sqlalchemy import text

    from trackwire.server.store.engine import create_store_engine, upgrade_schema

    engine = create_store_engine(f"sqlite:///{tmp_path / 'old.db'}")
    upgrade_schema(engine, "0002")
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO experiments (experiment_id, name, artifact_location, "
                "lifecycle_stage, creation_time, last_update_time) "
                "VALUES (7, 'old', '/a', 'active', 0, 0)"
            )
        )
        for run in ("r1", "r2"):
            conn.execute(
                text(
                    "INSERT INTO runs (run_id, experiment_id, run_name, user_id, status, "
                    "start_time, artifact_uri, lifecycle_stage) "
                    "VALUES (:run, 7, :run, '', 'RUNNING', 0, '/a', 'active')"
                ),
                {"run": run},
            )
        conn.execute(
            text(
                "INSERT INTO metrics (run_id, key, step, timestamp, value) "
                "VALUES ('r1', 'm', 0, 0, 1.0), ('r1', 'm', 1, 0, 1.0), ('r1', 'n', 0, 0, 1.0)"
            )
        )
    upgrade_schema(engine)
    with engine.connect() as conn:
        runs = conn.execute(text("SELECT run_count FROM experiments WHERE experiment_id = 7"))
        assert runs.scalar_one() == 2
        steps = conn.execute(text("SELECT run_id, metric_count FROM runs ORDER BY run_id"))
        assert steps.all() == [("r1", 3), ("r2", 0)]
    engine.dispose()


RACE_LIMIT, RACE_WRITERS, RACE_ENTRIES, RACE_RUNS = 10, 4, 6, 10


@pytest.fixture(scope="module")
def race_replicas(tmp_path_factory):
    """Two replicas of one store (PostgreSQL under `make test-python-postgres`, else one
    SQLite file), both limiting params and tags per run to RACE_LIMIT."""
    workdir = tmp_path_factory.mktemp("quota-race")
    backend = backend_for_tests() or f"sqlite:///{workdir / 'shared.db'}"
    limit = str(RACE_LIMIT)
    replicas = [
        LiveServer(
            workdir / f"replica{i}",
            backend,
            extra_args=["--max-params-per-run", limit, "--max-tags-per-run", limit],
        ).start()
        for i in range(2)
    ]
    yield replicas
    for replica in replicas:
        replica.stop()


@pytest.mark.parametrize("entity", ["params", "tags"])
def test_quota_holds_under_concurrent_writers_on_two_replicas(race_replicas, unique, entity):
    """RACE_WRITERS LogBatch calls of RACE_ENTRIES new entries each, sent at once to one run
    through both replicas: together they would exceed the limit, so some must be refused,
    and the run never holds more than the limit."""
    channels = [replica.grpc_channel() for replica in race_replicas]
    stubs = [tracking_service_pb2_grpc.TrackingServiceStub(channel) for channel in channels]
    try:
        experiment_id = (
            stubs[0].CreateExperiment(rpc.CreateExperimentRequest(name=unique)).experiment_id
        )
        for attempt in range(RACE_RUNS):
            run = stubs[0].CreateRun(rpc.CreateRunRequest(experiment_id=experiment_id)).run
            codes = _race(stubs, run.info.run_id, entity)
            stored = stubs[1].GetRun(rpc.GetRunRequest(run_id=run.info.run_id)).run.data
            count = len(getattr(stored, entity))
            assert count <= RACE_LIMIT, f"run {attempt}: {count} {entity} stored, {codes}"
            assert set(codes) <= {grpc.StatusCode.OK, grpc.StatusCode.RESOURCE_EXHAUSTED}
            # A new run has one tag (mlflow.runName): the first batch always fits.
            assert grpc.StatusCode.OK in codes and grpc.StatusCode.RESOURCE_EXHAUSTED in codes
            accepted = codes.count(grpc.StatusCode.OK) * RACE_ENTRIES
            assert count == accepted + (1 if entity == "tags" else 0)
    finally:
        for channel in channels:
            channel.close()


def _race(stubs, run_id: str, entity: str) -> list[grpc.StatusCode]:
    """The status of each of RACE_WRITERS LogBatch calls released at once, alternating
    between the replicas' stubs."""
    start = threading.Barrier(RACE_WRITERS)
    codes: list[grpc.StatusCode] = []

    def write(writer: int) -> None:
        keys = [f"w{writer}-{i}" for i in range(RACE_ENTRIES)]
        entries = _params(*keys) if entity == "params" else _tags(*keys)
        request = rpc.LogBatchRequest(run_id=run_id, **{entity: entries})
        start.wait()
        try:
            stubs[writer % 2].LogBatch(request)
            codes.append(grpc.StatusCode.OK)
        except grpc.RpcError as error:
            codes.append(error.code())

    threads = [threading.Thread(target=write, args=(w,)) for w in range(RACE_WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return codes


def _tags(*keys: str) -> list[pb.RunTag]:
    return [pb.RunTag(key=key, value="v") for key in keys]
