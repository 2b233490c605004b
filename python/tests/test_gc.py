"""Bulk clean-up: DeleteRuns on both wires, and `trackwire gc` purging deleted runs and
experiments with their data and artifacts, which frees quota room."""

from __future__ import annotations

import grpc
import httpx
import pytest
from server_process import LiveServer, backend_for_tests

from trackwire.v1 import artifact_service_pb2 as artifacts_rpc
from trackwire.v1 import artifact_service_pb2_grpc, tracking_service_pb2_grpc
from trackwire.v1 import entities_pb2 as pb
from trackwire.v1 import tracking_service_pb2 as rpc

RUNS = 4


@pytest.fixture(scope="module")
def gc_server(tmp_path_factory):
    live = LiveServer(
        tmp_path_factory.mktemp("gc-server"),
        backend_for_tests(),
        extra_args=["--max-runs-per-experiment", str(RUNS)],
    ).start()
    yield live
    live.stop()


@pytest.fixture(scope="module")
def stubs(gc_server):
    with gc_server.grpc_channel() as channel:
        yield (
            tracking_service_pb2_grpc.TrackingServiceStub(channel),
            artifact_service_pb2_grpc.ArtifactServiceStub(channel),
        )


def gc(server: LiveServer, *args: str) -> str:
    return server.cli("gc", "--artifacts-destination", server.artifacts_destination, *args)


def _run(stub, experiment_id: str, start_time: int = 0) -> str:
    request = rpc.CreateRunRequest(experiment_id=experiment_id, start_time=start_time)
    return stub.CreateRun(request).run.info.run_id


def _upload(artifacts, run_id: str) -> None:
    artifacts.UploadArtifact(
        iter([artifacts_rpc.UploadArtifactRequest(run_id=run_id, path="d/f.bin", data=b"x" * 10)])
    )


def _run_directory(server: LiveServer, experiment_id: str, run_id: str):
    return server.artifacts / experiment_id / run_id


def test_delete_runs_oldest_first_on_both_wires(gc_server, stubs, unique):
    tracking, _ = stubs
    experiment_id = tracking.CreateExperiment(
        rpc.CreateExperimentRequest(name=unique)
    ).experiment_id
    ids = [_run(tracking, experiment_id, start_time=1000 * (i + 1)) for i in range(RUNS)]
    deleted = tracking.DeleteRuns(
        rpc.DeleteRunsRequest(experiment_id=experiment_id, max_timestamp_millis=3000, max_runs=2)
    )
    assert deleted.runs_deleted == 2
    response = httpx.post(
        gc_server.http_url + "/api/2.0/mlflow/databricks/runs/delete-runs",
        json={"experiment_id": experiment_id, "max_timestamp_millis": 3000},
    )
    assert response.status_code == 200, response.text
    assert response.json() == {"runs_deleted": 1}
    active = tracking.SearchRuns(rpc.SearchRunsRequest(experiment_ids=[experiment_id])).runs
    assert [run.info.run_id for run in active] == [ids[3]]
    with pytest.raises(grpc.RpcError) as caught:
        tracking.DeleteRuns(rpc.DeleteRunsRequest(experiment_id=experiment_id))
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_gc_purges_runs_their_data_and_artifacts_and_frees_room(gc_server, stubs, unique):
    tracking, artifacts = stubs
    experiment_id = tracking.CreateExperiment(
        rpc.CreateExperimentRequest(name=unique)
    ).experiment_id
    ids = [_run(tracking, experiment_id) for _ in range(RUNS)]
    for run_id in ids:
        tracking.LogBatch(
            rpc.LogBatchRequest(
                run_id=run_id,
                metrics=[pb.Metric(key="m", value=1.0, step=s) for s in range(3)],
                params=[pb.Param(key="p", value="1")],
            )
        )
        _upload(artifacts, run_id)
    with pytest.raises(grpc.RpcError) as caught:
        _run(tracking, experiment_id)
    assert caught.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    purged, kept = ids[:2], ids[2:]
    for run_id in purged:
        tracking.DeleteRun(rpc.DeleteRunRequest(run_id=run_id))
    # Deleted runs count until purged; runs deleted less than a day ago stay.
    assert "purged 0 runs" in gc(gc_server, "--older-than", "1d")
    with pytest.raises(grpc.RpcError):
        _run(tracking, experiment_id)
    assert _run_directory(gc_server, experiment_id, purged[0]).exists()

    gc(gc_server)  # (also purges what other tests deleted)
    for run_id in purged:
        with pytest.raises(grpc.RpcError) as caught:
            tracking.GetRun(rpc.GetRunRequest(run_id=run_id))
        assert caught.value.code() == grpc.StatusCode.NOT_FOUND
        assert not _run_directory(gc_server, experiment_id, run_id).exists()
    for run_id in kept:
        assert _run_directory(gc_server, experiment_id, run_id).exists()
        history = tracking.GetMetricHistory(
            rpc.GetMetricHistoryRequest(run_id=run_id, metric_key="m")
        )
        assert len(history.metrics) == 3
    _run(tracking, experiment_id)
    _run(tracking, experiment_id)  # the room of both purged runs


def test_gc_purges_deleted_experiments(gc_server, stubs, unique):
    tracking, artifacts = stubs
    experiment_id = tracking.CreateExperiment(
        rpc.CreateExperimentRequest(name=unique, tags=[pb.ExperimentTag(key="k", value="v")])
    ).experiment_id
    run_id = _run(tracking, experiment_id)
    _upload(artifacts, run_id)
    tracking.DeleteExperiment(rpc.DeleteExperimentRequest(experiment_id=experiment_id))
    assert (gc_server.artifacts / experiment_id).exists()
    report = gc(gc_server)
    assert "1 experiments" in report
    assert not (gc_server.artifacts / experiment_id).exists()
    with pytest.raises(grpc.RpcError) as caught:
        tracking.GetExperiment(rpc.GetExperimentRequest(experiment_id=experiment_id))
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND
    # The name is free again.
    tracking.CreateExperiment(rpc.CreateExperimentRequest(name=unique))


def test_gc_refuses_a_malformed_age(gc_server):
    with pytest.raises(Exception) as caught:
        gc(gc_server, "--older-than", "thirty days")
    assert "Invalid age" in caught.value.stderr


def test_gc_purges_artifacts_in_object_storage(s3_server, s3_endpoint, unique):
    import boto3
    from conftest import S3_ENV

    with s3_server.grpc_channel() as channel:
        tracking = tracking_service_pb2_grpc.TrackingServiceStub(channel)
        artifacts = artifact_service_pb2_grpc.ArtifactServiceStub(channel)
        experiment_id = tracking.CreateExperiment(
            rpc.CreateExperimentRequest(name=unique)
        ).experiment_id
        purged, kept = _run(tracking, experiment_id), _run(tracking, experiment_id)
        for run_id in (purged, kept):
            _upload(artifacts, run_id)
        tracking.DeleteRun(rpc.DeleteRunRequest(run_id=purged))
        gc(s3_server)
    bucket = boto3.client(
        "s3",
        endpoint_url=s3_endpoint,
        region_name=S3_ENV["AWS_DEFAULT_REGION"],
        aws_access_key_id=S3_ENV["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=S3_ENV["AWS_SECRET_ACCESS_KEY"],
    )
    keys = [
        item["Key"]
        for item in bucket.list_objects_v2(
            Bucket="trackwire-test", Prefix=f"artifacts/{experiment_id}/"
        ).get("Contents", [])
    ]
    assert keys == [f"artifacts/{experiment_id}/{kept}/artifacts/d/f.bin"]


def _logged_model(gc_server, experiment_id: str) -> str:
    """A logged model with one artifact uploaded through the artifact proxy: its id."""
    base = gc_server.http_url + "/api/2.0/mlflow"
    created = httpx.post(f"{base}/logged-models", json={"experiment_id": experiment_id})
    assert created.status_code == 200, created.text
    model_id = created.json()["model"]["info"]["model_id"]
    uploaded = httpx.put(
        f"{gc_server.http_url}/api/2.0/mlflow-artifacts/artifacts/{experiment_id}/models/"
        f"{model_id}/artifacts/model.pkl",
        content=b"weights",
    )
    assert uploaded.status_code == 200, uploaded.text
    return model_id


def test_gc_purges_deleted_logged_models_and_their_artifacts(gc_server, stubs, unique):
    tracking, _ = stubs
    experiment_id = tracking.CreateExperiment(
        rpc.CreateExperimentRequest(name=unique)
    ).experiment_id
    purged, kept = _logged_model(gc_server, experiment_id), _logged_model(gc_server, experiment_id)
    base = gc_server.http_url + "/api/2.0/mlflow/logged-models"
    assert httpx.delete(f"{base}/{purged}").status_code == 200
    folder = gc_server.artifacts / experiment_id / "models"
    # Models deleted less than a day ago stay.
    assert "0 logged models" in gc(gc_server, "--older-than", "1d")
    assert (folder / purged / "artifacts" / "model.pkl").exists()

    assert "1 logged models" in gc(gc_server)
    assert not (folder / purged).exists()
    assert (folder / kept / "artifacts" / "model.pkl").read_bytes() == b"weights"
    assert httpx.get(f"{base}/{kept}").status_code == 200


def test_gc_purges_the_logged_models_of_a_deleted_experiment(gc_server, stubs, unique):
    tracking, _ = stubs
    experiment_id = tracking.CreateExperiment(
        rpc.CreateExperimentRequest(name=unique)
    ).experiment_id
    model_id = _logged_model(gc_server, experiment_id)  # deleting the experiment leaves it active
    tracking.DeleteExperiment(rpc.DeleteExperimentRequest(experiment_id=experiment_id))
    report = gc(gc_server)
    assert "1 logged models" in report and "1 experiments" in report
    assert not (gc_server.artifacts / experiment_id).exists()
    response = httpx.get(f"{gc_server.http_url}/api/2.0/mlflow/logged-models/{model_id}")
    assert response.status_code == 404
