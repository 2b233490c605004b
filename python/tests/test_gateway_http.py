"""The HTTP/JSON gateway of a live `trackwire server`, spoken to in MLflow's REST dialect."""

from __future__ import annotations

import hashlib
import json
import math
import os
from pathlib import Path

import httpx
import pytest
from server_process import LiveServer

from trackwire import limits
from trackwire._version import __version__
from trackwire.server.http_gateway import transcode
from trackwire.server.http_gateway.routes import bindings
from trackwire.v1 import artifact_service_pb2, tracking_service_pb2
from trackwire.v1 import entities_pb2 as pb
from trackwire.v1 import tracking_service_pb2 as rpc

API = "/api/2.0/mlflow"


@pytest.fixture(scope="module")
def http(server):
    with httpx.Client(base_url=server.http_url, timeout=60) as client:
        yield client


def ok(response: httpx.Response) -> dict:
    assert response.status_code == 200, response.text
    return response.json()


def error(response: httpx.Response, status: int, code: str) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error_code"] == code
    return body["message"]


@pytest.fixture
def experiment_id(http, unique) -> str:
    return ok(http.post(f"{API}/experiments/create", json={"name": unique}))["experiment_id"]


@pytest.fixture
def run(http, experiment_id) -> dict:
    body = {"experiment_id": experiment_id, "start_time": 1_700_000_000_000, "run_name": "r"}
    return ok(http.post(f"{API}/runs/create", json=body))["run"]


def test_health_and_version(http):
    assert http.get("/health").text == "OK"
    assert http.get("/version").text == __version__


@pytest.mark.parametrize("prefix", ["/api", "/ajax-api"])
def test_every_annotated_route_is_served(http, prefix):
    services = [
        tracking_service_pb2.DESCRIPTOR.services_by_name["TrackingService"],
        artifact_service_pb2.DESCRIPTOR.services_by_name["ArtifactService"],
    ]
    for binding in (b for service in services for b in bindings(service)):
        path = prefix + binding.path[len("/api") :]
        response = http.request(binding.verb, path, content=b"{}" if binding.body == "*" else b"")
        # Empty requests are refused by validation, never by routing.
        assert response.status_code != 405, (binding.verb, path)
        assert response.json().get("error_code") != "ENDPOINT_NOT_FOUND", (binding.verb, path)


def test_experiment_lifecycle(http, unique):
    experiment_id = ok(
        http.post(
            f"{API}/experiments/create",
            json={"name": unique, "tags": [{"key": "team", "value": "ml"}], "no_such": 1},
        )
    )["experiment_id"]
    got = ok(http.get(f"{API}/experiments/get", params={"experiment_id": experiment_id}))
    experiment = got["experiment"]
    assert experiment["name"] == unique
    assert experiment["artifact_location"] == f"mlflow-artifacts:/{experiment_id}"
    assert experiment["lifecycle_stage"] == "active"
    assert isinstance(experiment["creation_time"], int)
    assert experiment["tags"] == [{"key": "team", "value": "ml"}]

    by_name = ok(http.get(f"{API}/experiments/get-by-name", params={"experiment_name": unique}))
    assert by_name["experiment"]["experiment_id"] == experiment_id

    renamed = unique + "-renamed"
    body = {"experiment_id": experiment_id, "new_name": renamed}
    assert ok(http.post(f"{API}/experiments/update", json=body)) == {}
    tag = {"experiment_id": experiment_id, "key": "stage", "value": "dev"}
    assert ok(http.post(f"{API}/experiments/set-experiment-tag", json=tag)) == {}
    untag = {"experiment_id": experiment_id, "key": "team"}
    assert ok(http.post(f"{API}/experiments/delete-experiment-tag", json=untag)) == {}

    search = {"filter": f"name = '{renamed}'", "max_results": 10}
    found = ok(http.post(f"{API}/experiments/search", json=search))["experiments"]
    assert [(e["experiment_id"], e["tags"]) for e in found] == [
        (experiment_id, [{"key": "stage", "value": "dev"}])
    ]
    assert ok(http.get(f"{API}/experiments/search", params=search))["experiments"] == found

    ok(http.post(f"{API}/experiments/delete", json={"experiment_id": experiment_id}))
    deleted = {"filter": f"name = '{renamed}'", "view_type": "DELETED_ONLY"}
    [gone] = ok(http.post(f"{API}/experiments/search", json=deleted))["experiments"]
    assert gone["lifecycle_stage"] == "deleted"
    ok(http.post(f"{API}/experiments/restore", json={"experiment_id": experiment_id}))
    restored = ok(http.get(f"{API}/experiments/get", params={"experiment_id": experiment_id}))
    assert restored["experiment"]["lifecycle_stage"] == "active"


def test_run_lifecycle_with_mlflow_enum_names(http, run, experiment_id):
    info = run["info"]
    assert info["status"] == "RUNNING"
    assert info["start_time"] == 1_700_000_000_000
    assert info["artifact_uri"] == f"mlflow-artifacts:/{experiment_id}/{info['run_id']}/artifacts"
    assert "end_time" not in info

    update = {"run_id": info["run_id"], "status": "FINISHED", "end_time": 1_700_000_000_999}
    updated = ok(http.post(f"{API}/runs/update", json=update))["run_info"]
    assert (updated["status"], updated["end_time"]) == ("FINISHED", 1_700_000_000_999)
    # trackwire's own enum names are accepted too.
    update = {"run_id": info["run_id"], "status": "RUN_STATUS_KILLED"}
    assert ok(http.post(f"{API}/runs/update", json=update))["run_info"]["status"] == "KILLED"

    run_id = info["run_id"]
    ok(http.post(f"{API}/runs/set-tag", json={"run_id": run_id, "key": "t", "value": "v"}))
    ok(http.post(f"{API}/runs/delete-tag", json={"run_id": run_id, "key": "t"}))
    ok(http.post(f"{API}/runs/log-parameter", json={"run_id": run_id, "key": "p", "value": "1"}))
    ok(http.post(f"{API}/runs/delete", json={"run_id": run_id}))
    search = {"experiment_ids": [experiment_id], "run_view_type": "DELETED_ONLY"}
    found = ok(http.post(f"{API}/runs/search", json=search))["runs"]
    assert [r["info"]["run_id"] for r in found] == [run_id]
    assert found[0]["data"]["params"] == [{"key": "p", "value": "1"}]
    ok(http.post(f"{API}/runs/restore", json={"run_id": run_id}))
    got = ok(http.get(f"{API}/runs/get", params={"run_id": run_id}))["run"]
    assert got["info"]["lifecycle_stage"] == "active"
    assert all(tag["key"] != "t" for tag in got["data"]["tags"])


def test_non_finite_metrics_and_int64_numbers(http, run):
    run_id = run["info"]["run_id"]
    # Bare NaN/Infinity literals, as Python's json.dumps writes them, and MLflow's strings.
    big = 2**62 + 1  # beyond a double's exact integers: must stay an exact JSON number
    body = (
        f'{{"run_id": "{run_id}", "metrics": ['
        f'{{"key": "m", "value": NaN, "timestamp": {big}, "step": 0}},'
        '{"key": "m", "value": Infinity, "timestamp": 2, "step": 1},'
        f'{{"key": "m", "value": "-Infinity", "timestamp": 3, "step": {big}}},'
        '{"key": "m", "value": 1.5, "timestamp": "4", "step": 3}]}'
    )
    ok(http.post(f"{API}/runs/log-batch", content=body))
    query = {"run_id": run_id, "metric_key": "m"}
    history = ok(http.get(f"{API}/metrics/get-history", params=query))["metrics"]
    assert history == [
        {"key": "m", "value": "NaN", "timestamp": big, "step": 0},
        {"key": "m", "value": "Infinity", "timestamp": 2, "step": 1},
        {"key": "m", "value": 1.5, "timestamp": 4, "step": 3},
        {"key": "m", "value": "-Infinity", "timestamp": 3, "step": big},
    ]
    single = {"run_id": run_id, "key": "one", "value": 0.0, "timestamp": 5, "step": 0}
    ok(http.post(f"{API}/runs/log-metric", json=single))
    latest = ok(http.get(f"{API}/runs/get", params={"run_id": run_id}))["run"]["data"]["metrics"]
    assert {"key": "one", "value": 0.0, "timestamp": 5, "step": 0} in latest


def test_history_and_search_json_written_from_rows_is_the_transcoded_message(
    http, tracking, unique
):
    """GetMetricHistory and SearchRuns write their JSON straight from the store's rows: byte
    for byte what the generic transcoder writes for the message gRPC gets, tokens included."""
    experiment_id = tracking.CreateExperiment(
        rpc.CreateExperimentRequest(name=unique)
    ).experiment_id
    values = [1.5, math.nan, math.inf, -math.inf, 0.0, -2.0, 1e300, 2.5e-300]
    run_ids = []
    for i in range(3):
        run = tracking.CreateRun(
            rpc.CreateRunRequest(experiment_id=experiment_id, start_time=1000 + i, user_id="u" * i)
        ).run
        run_ids.append(run.info.run_id)
        metrics = [
            pb.Metric(key="m", value=v, timestamp=2**62 + j, step=j // 2)
            for j, v in enumerate(values)
        ]
        metrics.append(pb.Metric(key=f"last{i}", value=values[i + 1], timestamp=1, step=0))
        params = [pb.Param(key="empty", value=""), pb.Param(key="p", value=f'v\n"{i}" é')]
        tags = [pb.RunTag(key="t", value=""), pb.RunTag(key="u", value="x" * i)]
        tracking.LogBatch(
            rpc.LogBatchRequest(run_id=run.info.run_id, metrics=metrics, params=params, tags=tags)
        )
    tracking.UpdateRun(
        rpc.UpdateRunRequest(run_id=run_ids[0], status=pb.RUN_STATUS_FINISHED, end_time=5000)
    )
    dataset = pb.Dataset(name="d", digest="abc", source_type="local", source="/data")
    tracking.LogInputs(
        rpc.LogInputsRequest(
            run_id=run_ids[1],
            datasets=[pb.DatasetInput(dataset=dataset, tags=[pb.InputTag(key="k", value="v")])],
        )
    )

    token, pages = "", 0
    while True:
        query = {"run_id": run_ids[0], "metric_key": "m", "max_results": 3, "page_token": token}
        response = http.get(f"{API}/metrics/get-history", params=query)
        expected = tracking.GetMetricHistory(rpc.GetMetricHistoryRequest(**query))
        assert response.content == transcode.message_to_json(expected)
        token, pages = expected.next_page_token, pages + 1
        if not token:
            break
    assert pages == 3

    searches = [
        {},
        {"filter": "metrics.m >= 0", "order_by": ["metrics.last0 DESC", "params.p"]},
        {"columns": {"metric_keys": ["m", "last1"], "param_keys": ["empty"], "tag_keys": ["u"]}},
        {"columns": {"tag_keys": ["nothing"]}},
    ]
    for search in searches:
        token, pages = "", 0
        while True:
            body = {"experiment_ids": [experiment_id], "max_results": 2, "page_token": token}
            body.update(search)
            response = http.post(f"{API}/runs/search", json=body)
            expected = tracking.SearchRuns(
                transcode.json_to_message(json.dumps(body).encode(), rpc.SearchRunsRequest)
            )
            assert response.content == transcode.message_to_json(expected)
            token, pages = expected.next_page_token, pages + 1
            if not token:
                break
        assert pages == 2


def test_log_batch_of_1000_metrics_and_streamed_history(http, run):
    run_id = run["info"]["run_id"]
    metrics = [{"key": "loss", "value": i / 10, "timestamp": i, "step": i} for i in range(1000)]
    assert ok(http.post(f"{API}/runs/log-batch", json={"run_id": run_id, "metrics": metrics})) == {}
    paged = http.get(f"{API}/metrics/get-history", params={"run_id": run_id, "metric_key": "loss"})
    assert ok(paged)["metrics"] == metrics
    # The server-streaming RPC is newline-delimited JSON: one response message per line.
    streamed = http.get(
        "/api/2.0/trackwire/metrics/stream-history", params={"run_id": run_id, "metric_key": "loss"}
    )
    assert streamed.status_code == 200
    assert streamed.headers["content-type"] == "application/x-ndjson"
    lines = [json.loads(line) for line in streamed.text.splitlines()]
    assert [m for line in lines for m in line["metrics"]] == metrics


def test_log_inputs(http, run):
    run_id = run["info"]["run_id"]
    dataset = {"name": "d", "digest": "abc", "source_type": "local", "source": "/data"}
    body = {
        "run_id": run_id,
        "datasets": [{"dataset": dataset, "tags": [{"key": "k", "value": "v"}]}],
    }
    ok(http.post(f"{API}/runs/log-inputs", json=body))
    got = ok(http.get(f"{API}/runs/get", params={"run_id": run_id}))["run"]
    assert got["inputs"]["dataset_inputs"][0]["dataset"]["name"] == "d"


def test_search_runs_by_get_style_repeated_ids_and_post(http, unique):
    ids = [
        ok(http.post(f"{API}/experiments/create", json={"name": f"{unique}-{i}"}))["experiment_id"]
        for i in range(2)
    ]
    for experiment_id in ids:
        ok(http.post(f"{API}/runs/create", json={"experiment_id": experiment_id}))
    found = ok(http.post(f"{API}/runs/search", json={"experiment_ids": ids, "max_results": 1}))
    assert len(found["runs"]) == 1 and found["next_page_token"]
    rest = ok(
        http.post(
            f"{API}/runs/search",
            json={"experiment_ids": ids, "page_token": found["next_page_token"]},
        )
    )
    assert len(rest["runs"]) == 1 and "next_page_token" not in rest


def test_domain_errors_carry_mlflow_codes_and_statuses(http, experiment_id, run, unique):
    error(http.get(f"{API}/runs/get", params={"run_id": "0" * 32}), 404, "RESOURCE_DOES_NOT_EXIST")
    error(
        http.get(f"{API}/experiments/get-by-name", params={"experiment_name": unique + "-none"}),
        404,
        "RESOURCE_DOES_NOT_EXIST",
    )
    experiment = ok(http.get(f"{API}/experiments/get", params={"experiment_id": experiment_id}))
    duplicate = {"name": experiment["experiment"]["name"]}
    error(http.post(f"{API}/experiments/create", json=duplicate), 400, "RESOURCE_ALREADY_EXISTS")
    run_id = run["info"]["run_id"]
    ok(http.post(f"{API}/runs/log-parameter", json={"run_id": run_id, "key": "k", "value": "1"}))
    overwrite = {"run_id": run_id, "key": "k", "value": "2"}
    error(http.post(f"{API}/runs/log-parameter", json=overwrite), 400, "INVALID_PARAMETER_VALUE")
    bad_filter = {"experiment_ids": [experiment_id], "filter": "metrics.a >>> 1"}
    error(http.post(f"{API}/runs/search", json=bad_filter), 400, "INVALID_PARAMETER_VALUE")
    too_many = {
        "run_id": run_id,
        "metrics": [{"key": "m", "value": 1, "timestamp": 1}] * (limits.MAX_METRICS_PER_BATCH + 1),
    }
    error(http.post(f"{API}/runs/log-batch", json=too_many), 400, "INVALID_PARAMETER_VALUE")


def test_malformed_and_mistyped_requests_are_400_with_a_clear_message(http, run):
    message = error(
        http.post(f"{API}/runs/log-batch", content=b'{"run_id": '), 400, "INVALID_PARAMETER_VALUE"
    )
    assert "Malformed JSON" in message
    mistyped = {"run_id": run["info"]["run_id"], "metrics": [{"key": "m", "step": "two"}]}
    message = error(
        http.post(f"{API}/runs/log-batch", json=mistyped), 400, "INVALID_PARAMETER_VALUE"
    )
    assert "metrics[0].step" in message
    message = error(
        http.post(f"{API}/runs/update", json={"run_id": run["info"]["run_id"], "status": 7}),
        400,
        "INVALID_PARAMETER_VALUE",
    )
    assert "'status'" in message
    message = error(
        http.get(f"{API}/metrics/get-history", params={"run_id": "r", "max_results": "many"}),
        400,
        "INVALID_PARAMETER_VALUE",
    )
    assert "max_results" in message


@pytest.mark.parametrize(
    ("method", "path", "request_"),
    [
        ("POST", "runs/search", {"experiment_ids": ["0"]}),
        ("POST", "experiments/search", {}),
        ("GET", "model-versions/search", {}),
    ],
)
def test_a_max_results_sent_as_0_is_refused_left_out_it_is_the_default(
    http, method, path, request_
):
    """As MLflow's server answers; its clients always send a page size."""
    sent = {**request_, "max_results": 0}
    if method == "GET":
        ok(http.get(f"{API}/{path}", params=request_))
        refused = http.get(f"{API}/{path}", params=sent)
    else:
        ok(http.post(f"{API}/{path}", json=request_))
        refused = http.post(f"{API}/{path}", json=sent)
    assert "positive integer" in error(refused, 400, "INVALID_PARAMETER_VALUE")


def test_a_max_results_of_0_on_grpc_is_the_default(tracking):
    """proto3 cannot tell 0 from a field left out: the native clients' "default"."""
    tracking.SearchRuns(rpc.SearchRunsRequest(experiment_ids=["0"], max_results=0))
    tracking.SearchExperiments(rpc.SearchExperimentsRequest(max_results=0))


def test_error_bodies_carry_mlflows_classification(http):
    body = http.get(f"{API}/runs/get", params={"run_id": "no-such-run"}).json()
    assert (body["error_code"], body["sqlstate"], body["error_class"]) == (
        "RESOURCE_DOES_NOT_EXIST",
        "KAM00",
        "RESOURCE_NOT_FOUND",
    )


def test_unknown_paths_and_methods(http):
    error(http.get("/api/2.0/mlflow/no-such-thing"), 404, "ENDPOINT_NOT_FOUND")
    error(http.get(f"{API}/runs/log-batch"), 405, "INVALID_PARAMETER_VALUE")


def test_oversized_bodies_are_refused_before_being_read(http):
    size = limits.MAX_REQUEST_BYTES + 1
    declared = http.post(f"{API}/runs/log-batch", content=b" " * size)
    assert "LIMIT_MAX_REQUEST_BYTES" in error(declared, 413, "INVALID_PARAMETER_VALUE")

    def chunked():  # no Content-Length: the limit applies while reading
        for _ in range(size // 65536 + 1):
            yield b" " * 65536

    undeclared = http.post(f"{API}/runs/log-batch", content=chunked())
    error(undeclared, 413, "INVALID_PARAMETER_VALUE")


# --- artifacts ----------------------------------------------------------------------------

PROXY = "/api/2.0/mlflow-artifacts/artifacts"


def proxy_root(run: dict) -> str:
    return f"{run['info']['experiment_id']}/{run['info']['run_id']}/artifacts"


@pytest.mark.parametrize("size", [0, 3 * 1024 * 1024 + 5])
def test_mlflow_artifact_proxy_round_trip(http, run, size):
    payload = os.urandom(size)
    root = proxy_root(run)
    assert ok(http.put(f"{PROXY}/{root}/dir/file.bin", content=payload)) == {}
    downloaded = http.get(f"{PROXY}/{root}/dir/file.bin")
    assert downloaded.status_code == 200
    assert downloaded.content == payload
    assert ok(http.get(PROXY, params={"path": root})) == {
        "files": [{"path": "dir", "is_dir": True}]
    }
    assert ok(http.get(PROXY, params={"path": f"{root}/dir"})) == {
        "files": [{"path": "file.bin", "is_dir": False, "file_size": size}]
    }
    # Listing a file (MLflow's client does it to tell files from directories) lists nothing.
    assert ok(http.get(PROXY, params={"path": f"{root}/dir/file.bin"})) == {}
    assert ok(http.delete(f"{PROXY}/{root}/dir/file.bin")) == {}
    error(http.get(f"{PROXY}/{root}/dir/file.bin"), 404, "RESOURCE_DOES_NOT_EXIST")


def _rss_peak_kib(pid: int) -> tuple[int, int]:
    """(current, peak) resident memory of a process, from /proc."""
    status = Path(f"/proc/{pid}/status").read_text().splitlines()
    fields = dict(line.split(":", 1) for line in status if ":" in line)
    return int(fields["VmRSS"].split()[0]), int(fields["VmHWM"].split()[0])


def test_large_artifacts_stream_at_steady_memory(tmp_path):
    """256 MiB up and down, past the request limit, while the server's memory stays flat.

    A server of its own, so no other test's traffic moves its memory peak.
    """
    chunk = os.urandom(1024 * 1024)
    count = 256
    assert count * len(chunk) > limits.MAX_REQUEST_BYTES

    def body():
        for _ in range(count):
            yield chunk

    server = LiveServer(tmp_path).start()
    try:
        with httpx.Client(base_url=server.http_url, timeout=120) as http:
            created = http.post(f"{API}/runs/create", json={"experiment_id": "0"})
            root = proxy_root(ok(created)["run"])
            before, _ = _rss_peak_kib(server.process.pid)
            ok(http.put(f"{PROXY}/{root}/big.bin", content=body()))
            expected, received = hashlib.sha256(), hashlib.sha256()
            for _ in range(count):
                expected.update(chunk)
            with http.stream("GET", f"{PROXY}/{root}/big.bin") as response:
                assert response.status_code == 200
                for piece in response.iter_bytes():
                    received.update(piece)
            _, peak = _rss_peak_kib(server.process.pid)
            listed = ok(http.get(PROXY, params={"path": root}))["files"]
    finally:
        server.stop()
    assert received.hexdigest() == expected.hexdigest()
    assert peak - before < 64 * 1024, f"server memory grew by {(peak - before) // 1024} MiB"
    assert listed == [{"path": "big.bin", "is_dir": False, "file_size": count * len(chunk)}]


def test_mlflow_artifact_proxy_errors(http, run):
    error(http.get(PROXY, params={"path": "0"}), 400, "INVALID_PARAMETER_VALUE")
    missing_run = f"{run['info']['experiment_id']}/{'0' * 32}/artifacts"
    error(http.put(f"{PROXY}/{missing_run}/x", content=b"x"), 404, "RESOURCE_DOES_NOT_EXIST")
    escape = f"{proxy_root(run)}/../../x"
    response = http.put(f"{PROXY}/{escape}", content=b"x")
    assert response.status_code in (400, 404), response.text


def test_trackwire_streaming_artifact_endpoints(http, run):
    run_id = run["info"]["run_id"]
    payload = os.urandom(2 * limits.ARTIFACT_CHUNK_SIZE + 3)
    uploaded = ok(
        http.put(
            "/api/2.0/trackwire/artifacts/upload",
            params={"run_id": run_id, "path": "raw/data.bin"},
            content=payload,
        )
    )
    assert uploaded == {
        "file_info": {"path": "raw/data.bin", "is_dir": False, "file_size": len(payload)}
    }
    downloaded = http.get(
        "/api/2.0/trackwire/artifacts/download", params={"run_id": run_id, "path": "raw/data.bin"}
    )
    assert downloaded.headers["content-type"] == "application/octet-stream"
    assert downloaded.content == payload
    listing = ok(http.get(f"{API}/artifacts/list", params={"run_id": run_id, "path": "raw"}))
    assert listing["root_uri"] == run["info"]["artifact_uri"]
    assert listing["files"] == [
        {"path": "raw/data.bin", "is_dir": False, "file_size": len(payload)}
    ]
    ok(http.post("/api/2.0/trackwire/artifacts/delete", json={"run_id": run_id, "path": "raw"}))
    assert ok(http.get(f"{API}/artifacts/list", params={"run_id": run_id})) == {
        "root_uri": run["info"]["artifact_uri"]
    }
