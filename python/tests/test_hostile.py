"""Hostile input on both wires: escaping artifact paths, SQL injection in filters, huge keys and
values, deeply nested JSON, invalid UTF-8, and random request messages (hypothesis). Each is a
client error (4xx / INVALID_ARGUMENT and friends, never INTERNAL) and the server keeps serving."""

from __future__ import annotations

import json
import os

import grpc
import httpx
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from server_process import LiveServer, backend_for_tests
from test_auth import HTTP_METHODS, METHODS, Target, build_request, call_grpc, call_http

from trackwire.v1 import artifact_service_pb2 as artifacts_rpc
from trackwire.v1 import artifact_service_pb2_grpc, tracking_service_pb2_grpc
from trackwire.v1 import entities_pb2 as pb
from trackwire.v1 import tracking_service_pb2 as rpc

CLIENT_ERRORS = {
    grpc.StatusCode.INVALID_ARGUMENT,
    grpc.StatusCode.NOT_FOUND,
    grpc.StatusCode.ALREADY_EXISTS,
    grpc.StatusCode.RESOURCE_EXHAUSTED,
    grpc.StatusCode.FAILED_PRECONDITION,
    grpc.StatusCode.OUT_OF_RANGE,
}
TEN_MB = "k" * (10 * 1024 * 1024)


@pytest.fixture(scope="module")
def hostile_server(tmp_path_factory):
    live = LiveServer(tmp_path_factory.mktemp("hostile-server"), backend_for_tests()).start()
    yield live
    live.stop()


@pytest.fixture(scope="module")
def channel(hostile_server):
    with hostile_server.grpc_channel() as ch:
        yield ch


@pytest.fixture(scope="module")
def tracking(channel):
    return tracking_service_pb2_grpc.TrackingServiceStub(channel)


@pytest.fixture(scope="module")
def artifacts(channel):
    return artifact_service_pb2_grpc.ArtifactServiceStub(channel)


@pytest.fixture(scope="module")
def http(hostile_server):
    with httpx.Client(base_url=hostile_server.http_url, timeout=60) as client:
        yield client


@pytest.fixture(scope="module")
def target(tracking, artifacts) -> Target:
    name = "hostile"
    experiment_id = tracking.CreateExperiment(rpc.CreateExperimentRequest(name=name)).experiment_id
    run_id = tracking.CreateRun(rpc.CreateRunRequest(experiment_id=experiment_id)).run.info.run_id
    tracking.LogBatch(
        rpc.LogBatchRequest(
            run_id=run_id,
            metrics=[pb.Metric(key="acc", value=0.5, step=1)],
            params=[pb.Param(key="lr", value="0.1")],
            tags=[pb.RunTag(key="team", value="ml")],
        )
    )
    artifacts.UploadArtifact(
        iter([artifacts_rpc.UploadArtifactRequest(run_id=run_id, path="ok.txt", data=b"ok")])
    )
    return Target(experiment_id, name, run_id)


def assert_serving(tracking, target: Target) -> None:
    """The server still answers, and the target's first param is intact (fuzzed requests
    that happen to be valid may add data to the target run; none may corrupt it)."""
    run = tracking.GetRun(rpc.GetRunRequest(run_id=target.run_id), timeout=10).run
    assert {p.key: p.value for p in run.data.params}["lr"] == "0.1"


def grpc_client_error(call) -> grpc.StatusCode:
    with pytest.raises(grpc.RpcError) as caught:
        call()
    assert caught.value.code() in CLIENT_ERRORS, (caught.value.code(), caught.value.details())
    return caught.value.code()


ESCAPING_PATHS = ["..", "../x", "a/../../x", "/etc/passwd", "a\x00b", "..\\x", "C:/x"]


@pytest.mark.parametrize("path", ESCAPING_PATHS)
def test_escaping_artifact_paths_on_both_wires(path, artifacts, tracking, http, target):
    run_id = target.run_id
    grpc_client_error(
        lambda: artifacts.UploadArtifact(
            iter([artifacts_rpc.UploadArtifactRequest(run_id=run_id, path=path, data=b"x")])
        )
    )
    grpc_client_error(
        lambda: list(
            artifacts.DownloadArtifact(
                artifacts_rpc.DownloadArtifactRequest(run_id=run_id, path=path)
            )
        )
    )
    grpc_client_error(
        lambda: artifacts.ListArtifacts(
            artifacts_rpc.ListArtifactsRequest(run_id=run_id, path=path)
        )
    )
    grpc_client_error(
        lambda: artifacts.DeleteArtifact(
            artifacts_rpc.DeleteArtifactRequest(run_id=run_id, path=path)
        )
    )
    query = {"run_id": run_id, "path": path}
    assert (
        http.put("/api/2.0/trackwire/artifacts/upload", params=query, content=b"x").status_code
        == 400
    )
    assert http.get("/api/2.0/trackwire/artifacts/download", params=query).status_code == 400
    assert http.get("/api/2.0/mlflow/artifacts/list", params=query).status_code == 400
    # MLflow's proxy API, with the path percent-encoded so no client normalises it away.
    encoded = "/".join(part.replace(".", "%2E") for part in path.split("/")).replace("\x00", "%00")
    proxy = (
        f"/api/2.0/mlflow-artifacts/artifacts/{target.experiment_id}/{run_id}/artifacts/{encoded}"
    )
    assert 400 <= http.get(proxy).status_code < 500
    assert 400 <= http.put(proxy, content=b"x").status_code < 500
    assert_serving(tracking, target)


def test_symlinks_cannot_lead_out_of_the_run(hostile_server, artifacts, tracking, target, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("secret")
    root = hostile_server.artifacts / target.experiment_id / target.run_id / "artifacts"
    os.symlink(outside, root / "link")
    run_id = target.run_id
    grpc_client_error(
        lambda: list(
            artifacts.DownloadArtifact(
                artifacts_rpc.DownloadArtifactRequest(run_id=run_id, path="link/secret.txt")
            )
        )
    )
    grpc_client_error(
        lambda: artifacts.ListArtifacts(
            artifacts_rpc.ListArtifactsRequest(run_id=run_id, path="link")
        )
    )
    grpc_client_error(
        lambda: artifacts.UploadArtifact(
            iter(
                [artifacts_rpc.UploadArtifactRequest(run_id=run_id, path="link/new.txt", data=b"x")]
            )
        )
    )
    grpc_client_error(
        lambda: artifacts.DeleteArtifact(
            artifacts_rpc.DeleteArtifactRequest(run_id=run_id, path="link/secret.txt")
        )
    )
    assert sorted(p.name for p in outside.iterdir()) == ["secret.txt"]
    (root / "link").unlink()


INJECTIONS = [
    "params.lr = '0.1' OR 1=1",
    "params.lr = '0.1'; DROP TABLE runs; --",
    "params.lr = '' OR '1'='1'",
    "tags.`team'; DROP TABLE runs; --` = 'x'",
    "metrics.acc > 0 UNION SELECT * FROM access_tokens",
    "attributes.run_id = 'x' OR run_id LIKE '%'",
    'params."lr\\" OR 1=1 --" = \'x\'',
]


@pytest.mark.parametrize("filter_string", INJECTIONS)
def test_sql_injection_in_filters(filter_string, tracking, http, target):
    request = rpc.SearchRunsRequest(experiment_ids=[target.experiment_id], filter=filter_string)
    try:
        found = tracking.SearchRuns(request)
        assert list(found.runs) == []  # a literal that matches nothing, never "everything"
    except grpc.RpcError as error:
        assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    response = http.post(
        "/api/2.0/mlflow/runs/search",
        json={"experiment_ids": [target.experiment_id], "filter": filter_string},
    )
    assert response.status_code in (200, 400), response.text
    assert response.json().get("runs", []) == []
    experiments = http.post("/api/2.0/mlflow/experiments/search", json={"filter": filter_string})
    assert experiments.status_code in (200, 400), experiments.text
    assert_serving(tracking, target)


def test_ten_megabyte_keys_and_values(tracking, http, target):
    run_id = target.run_id
    for request in (
        rpc.LogParamRequest(run_id=run_id, key=TEN_MB, value="1"),
        rpc.SetTagRequest(run_id=run_id, key=TEN_MB, value="1"),
    ):
        method = tracking.LogParam if isinstance(request, rpc.LogParamRequest) else tracking.SetTag
        assert (
            grpc_client_error(lambda m=method, r=request: m(r)) == grpc.StatusCode.INVALID_ARGUMENT
        )
    response = http.post(
        "/api/2.0/mlflow/runs/log-parameter", json={"run_id": run_id, "key": TEN_MB, "value": "1"}
    )
    assert response.status_code == 400
    assert "exceeds the maximum length" in response.json()["message"]
    # Values are truncated instead (as MLflow's server does): only their start is stored.
    tracking.SetTag(rpc.SetTagRequest(run_id=run_id, key="big", value=TEN_MB))
    response = http.post(
        "/api/2.0/mlflow/runs/log-parameter", json={"run_id": run_id, "key": "big", "value": TEN_MB}
    )
    assert response.status_code == 200
    data = tracking.GetRun(rpc.GetRunRequest(run_id=run_id)).run.data
    assert len({p.key: p.value for p in data.params}["big"]) == 6000
    assert len({t.key: t.value for t in data.tags}["big"]) == 8000
    response = http.post("/api/2.0/mlflow/experiments/create", json={"name": TEN_MB})
    assert response.status_code == 400
    assert_serving(tracking, target)


def test_deeply_nested_json(http, tracking, target):
    for depth in (1_000, 100_000):
        body = "[" * depth + "]" * depth
        for document in (body, '{"run_id": ' + body + "}", '{"tags": ' + body + "}"):
            response = http.post(
                "/api/2.0/mlflow/runs/log-batch",
                content=document.encode(),
                headers={"Content-Type": "application/json"},
            )
            assert response.status_code == 400, response.text
            assert response.json()["error_code"] == "INVALID_PARAMETER_VALUE"
    assert_serving(tracking, target)


def test_invalid_utf8(http, channel, tracking, target):
    body = b'{"run_id": "' + target.run_id.encode() + b'", "key": "k\xff\xfe", "value": "v"}'
    response = http.post(
        "/api/2.0/mlflow/runs/set-tag", content=body, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    response = http.get(
        "/api/2.0/mlflow/runs/get", params={"run_id": b"\xff\xfe".decode("latin-1")}
    )
    assert 400 <= response.status_code < 500
    # A protobuf string field (SetTagRequest.key = field 3) holding bytes that are not UTF-8.
    raw = b"\x0a\x20" + target.run_id.encode() + b"\x1a\x02\xff\xfe"
    send = channel.unary_unary(
        "/trackwire.v1.TrackingService/SetTag",
        request_serializer=lambda data: data,
        response_deserializer=rpc.SetTagResponse.FromString,
    )
    assert grpc_client_error(lambda: send(raw)) == grpc.StatusCode.INVALID_ARGUMENT
    assert_serving(tracking, target)


# -- properties: random request messages on both wires ---------------------------------------

UNARY_OR_SERVER_STREAMING = [m for m in METHODS if not m.client_streaming]


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(method=st.sampled_from(UNARY_OR_SERVER_STREAMING), payload=st.binary(max_size=300))
def test_random_bytes_over_grpc_are_client_errors(channel, tracking, target, method, payload):
    path = f"/{method.containing_service.full_name}/{method.name}"
    kwargs = {"request_serializer": lambda data: data, "response_deserializer": lambda data: data}
    try:
        if method.server_streaming:
            list(channel.unary_stream(path, **kwargs)(payload, timeout=30))
        else:
            channel.unary_unary(path, **kwargs)(payload, timeout=30)
    except grpc.RpcError as error:
        assert error.code() in CLIENT_ERRORS, (method.name, error.code(), error.details())
    assert_serving(tracking, target)


# Field values a client could send: odd strings (quotes, path tricks, control characters),
# numbers at the edges of their ranges.
odd_text = st.one_of(
    st.text(max_size=40),
    st.sampled_from(["", "..", "/", "' OR 1=1 --", "\x00", "%", "0", "-1", "NaN", "a" * 300]),
)
odd_int = st.one_of(st.integers(-(2**63), 2**63 - 1), st.sampled_from([0, -1, 2**31]))


def fuzzed_request(draw_values: dict, method, target: Target):
    request = build_request(method, target)
    for field in request.DESCRIPTOR.fields:
        value = draw_values.get(field.name)
        if value is None or field.is_repeated or field.message_type is not None:
            continue
        try:
            setattr(request, field.name, value)
        except (TypeError, ValueError):
            pass  # a value of the wrong type for this field: keep the plausible one
    return request


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    method=st.sampled_from(METHODS),
    values=st.dictionaries(
        st.sampled_from(
            [
                "experiment_id",
                "run_id",
                "key",
                "value",
                "path",
                "name",
                "filter",
                "page_token",
                "metric_key",
                "max_results",
                "step",
                "timestamp",
                "start_time",
                "max_timestamp_millis",
                "max_runs",
                "view_type",
                "status",
                "request_id",
            ]
        ),
        st.one_of(odd_text, odd_int),
    ),
    wire=st.sampled_from(["grpc", "http"]),
)
def test_odd_field_values_are_client_errors_on_both_wires(
    channel, http, tracking, target, method, values, wire
):
    assume(wire == "grpc" or method in HTTP_METHODS)
    request = fuzzed_request(values, method, target)
    if wire == "grpc":
        try:
            call_grpc(channel, method, request, None)
        except grpc.RpcError as error:
            assert error.code() in CLIENT_ERRORS, (method.name, error.code(), error.details())
    else:
        response = call_http(http, method, request, None)
        assert response.status_code < 500, (method.name, response.text)
        if response.status_code >= 400:
            assert "error_code" in response.json()
    assert_serving(tracking, target)


json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=20)),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=20,
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    path=st.sampled_from(
        [
            "/api/2.0/mlflow/runs/log-batch",
            "/api/2.0/mlflow/runs/search",
            "/api/2.0/mlflow/experiments/search",
            "/api/2.0/mlflow/runs/set-tag",
            "/api/2.0/mlflow/runs/update",
            "/api/2.0/mlflow/runs/log-inputs",
            "/api/2.0/mlflow/databricks/runs/delete-runs",
            "/api/2.0/mlflow/experiments/permissions/create",
        ]
    ),
    document=json_values,
    run_field=st.booleans(),
)
def test_random_json_bodies_are_client_errors(http, tracking, target, path, document, run_field):
    if run_field and isinstance(document, dict):
        document = {**document, "run_id": target.run_id}
    body = json.dumps(document, allow_nan=True).encode()
    response = http.post(path, content=body, headers={"Content-Type": "application/json"})
    assert response.status_code < 500, (path, body, response.text)
    assert_serving(tracking, target)
