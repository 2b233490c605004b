"""Bad requests get the same answer from trackwire's gateway as from MLflow's own server.

Each request of the table goes to a real `mlflow server` (SQLite store) and to trackwire, and
the status, `error_code` and `message` must be equal. Needs the full mlflow package
(`make mlflow-server`), which the compat target installs.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import requests
from ports import free_port

T = 1_700_000_000_000
# (method, path under /api/2.0/mlflow/, JSON body or query string); "{run}" and "{exp}" stand
# for a run and an experiment created on each server.
BAD_REQUESTS = [
    ("POST", "experiments/create", {"name": 123}),
    ("POST", "experiments/create", {}),
    ("POST", "experiments/create", {"name": ""}),
    ("POST", "experiments/create", {"name": "x" * 501}),
    ("GET", "experiments/get", ""),
    ("POST", "runs/create", {"experiment_id": "{exp}", "start_time": "abc"}),
    ("GET", "runs/get", ""),
    ("POST", "runs/delete", {}),
    ("POST", "runs/log-metric", {"key": "m", "value": 1.0, "timestamp": T}),
    ("POST", "runs/log-metric", {"run_id": "{run}", "key": "m", "value": 1.0}),
    ("POST", "runs/log-metric", {"run_id": "{run}", "key": "m", "timestamp": T}),
    ("POST", "runs/log-metric", {"run_id": "{run}", "value": 1.0, "timestamp": T}),
    ("POST", "runs/log-metric", {"run_id": "{run}", "key": "m", "value": "abc", "timestamp": T}),
    (
        "POST",
        "runs/log-metric",
        {"run_id": "{run}", "key": "m", "value": 1.0, "timestamp": T, "step": "foo"},
    ),
    ("POST", "runs/log-metric", {"run_id": "{run}", "key": "m", "value": 1.0, "timestamp": -1}),
    ("POST", "runs/log-metric", {"run_id": "{run}", "key": "a!b", "value": 1.0, "timestamp": T}),
    ("POST", "runs/log-metric", {"run_id": "{run}", "key": "../x", "value": 1.0, "timestamp": T}),
    ("POST", "runs/log-metric", {"run_id": "{run}", "key": "k" * 251, "value": 1, "timestamp": T}),
    ("POST", "runs/log-batch", {"run_id": "{run}", "metrics": [{"key": "m", "value": 1.0}]}),
    ("POST", "runs/log-batch", {"run_id": "{run}", "metrics": [{"key": "m", "timestamp": T}]}),
    ("POST", "runs/log-batch", {"run_id": "{run}", "metrics": [{"value": 1.0, "timestamp": T}]}),
    ("POST", "runs/log-batch", {"run_id": "{run}", "params": [{"value": "v"}]}),
    ("POST", "runs/log-batch", {"run_id": "{run}", "tags": [{"value": "v"}]}),
    ("POST", "runs/log-batch", {"run_id": "{run}", "params": [{"key": "a!b", "value": "v"}]}),
    ("POST", "runs/log-batch", {"run_id": "{run}", "tags": [{"key": "t" * 251, "value": "v"}]}),
    (
        "POST",
        "runs/log-batch",
        {"run_id": "{run}", "metrics": [{"key": "m", "value": 1.0, "timestamp": T}] * 1001},
    ),
    (
        "POST",
        "runs/log-batch",
        {"run_id": "{run}", "params": [{"key": f"p{i}", "value": "v"} for i in range(101)]},
    ),
    ("POST", "runs/log-parameter", {"run_id": "{run}", "value": "v"}),
    ("POST", "runs/log-parameter", {"run_id": "{run}", "key": 123, "value": "v"}),
    ("POST", "runs/log-parameter", {"run_id": "{run}", "key": "a!b", "value": "v"}),
    ("POST", "runs/log-parameter", {"run_id": "{run}", "key": "p" * 251, "value": "v"}),
    ("POST", "runs/set-tag", {"run_id": "{run}", "value": "v"}),
    ("POST", "runs/set-tag", {"run_id": "{run}", "key": "a!b", "value": "v"}),
    ("POST", "runs/set-tag", {"run_id": "{run}", "key": "t" * 251, "value": "v"}),
    ("POST", "runs/delete-tag", {"run_id": "{run}"}),
    ("POST", "experiments/set-experiment-tag", {"experiment_id": "{exp}", "value": "v"}),
    ("POST", "experiments/set-experiment-tag", {"experiment_id": "{exp}", "key": "a!b"}),
    ("POST", "runs/search", {"experiment_ids": ["{exp}"], "max_results": 50001}),
    ("POST", "runs/search", {"experiment_ids": ["{exp}"], "max_results": -1}),
    ("POST", "experiments/search", {"max_results": 50001}),
    ("POST", "experiments/search", {"max_results": -1}),
    ("GET", "metrics/get-history", "run_id={run}"),
    ("GET", "metrics/get-history", "metric_key=m"),
]


@pytest.fixture(scope="module")
def mlflow_server(tmp_path_factory):
    """MLflow's own tracking server, one worker, on a SQLite store."""
    if importlib.util.find_spec("flask") is None:  # mlflow-skinny has no server
        pytest.fail("MLflow's server is not installed: run `make mlflow-server`")
    root = tmp_path_factory.mktemp("mlflow-server")
    port = free_port()
    process = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "mlflow"),
            "server",
            "--backend-store-uri",
            f"sqlite:///{root / 'mlflow.db'}",
            "--artifacts-destination",
            str(root / "artifacts"),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            "1",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180  # its first start migrates the database
    while True:
        try:
            if requests.get(f"{url}/health", timeout=10).ok:
                break
        except requests.RequestException:  # not listening yet, or too busy starting to answer
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail("mlflow server did not start")
        time.sleep(0.5)
    yield url
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()


def _call(base: str, method: str, path: str, payload) -> requests.Response:
    url = f"{base}/api/2.0/mlflow/{path}"
    if method == "GET":
        return requests.get(f"{url}?{payload}" if payload else url, timeout=30)
    return requests.post(url, json=payload, timeout=30)


def _fill(payload, names: dict[str, str]):
    """The payload with "{run}" and "{exp}" replaced, at any depth."""
    if isinstance(payload, str):
        return payload.format(**names)
    if isinstance(payload, list):
        return [_fill(item, names) for item in payload]
    if isinstance(payload, dict):
        return {key: _fill(value, names) for key, value in payload.items()}
    return payload


def _subjects(base: str) -> dict[str, str]:
    """A fresh experiment and run on one server."""
    created = _call(base, "POST", "experiments/create", {"name": f"v-{uuid.uuid4().hex}"})
    exp = created.json()["experiment_id"]
    run = _call(base, "POST", "runs/create", {"experiment_id": exp, "start_time": 1})
    return {"exp": exp, "run": run.json()["run"]["info"]["run_id"]}


@pytest.fixture(scope="module")
def servers(mlflow_server, server_url):
    return {base: _subjects(base) for base in (mlflow_server, server_url)}


def _answer(base: str, names: dict[str, str], request) -> tuple[int, str | None, str | None]:
    method, path, payload = request
    response = _call(base, method, path, _fill(payload, names))
    body = response.json()
    message = body.get("message")
    if message is not None:  # the ids differ between the two servers
        message = message.replace(names["run"], "{run}")
    return response.status_code, body.get("error_code"), message


@pytest.mark.parametrize("request_", BAD_REQUESTS, ids=lambda r: f"{r[1]}:{str(r[2])[:60]}")
def test_bad_requests_are_answered_as_mlflow_answers_them(servers, mlflow_server, request_):
    mlflow_names = servers[mlflow_server]
    expected = _answer(mlflow_server, mlflow_names, request_)
    assert expected[0] == 400  # the table holds only requests MLflow refuses
    (trackwire, names) = next((b, n) for b, n in servers.items() if b != mlflow_server)
    assert _answer(trackwire, names, request_) == expected


def test_keys_mlflow_accepts_are_stored(servers):
    import mlflow

    for base, names in servers.items():
        client = mlflow.MlflowClient(base)
        client.log_param(names["run"], "a:b", "1")
        client.log_metric(names["run"], "loss:train", 0.5, timestamp=T, step=0)
        client.set_tag(names["run"], "team:ml", "x")
        data = client.get_run(names["run"]).data
        assert data.params["a:b"] == "1"
        assert data.metrics["loss:train"] == 0.5
        assert data.tags["team:ml"] == "x"
