"""Bad requests get the same answer from trackwire's gateway as from MLflow's own server.

Each request of the table goes to a real `mlflow server` (SQLite store) and to trackwire, and
the status, `error_code` and `message` must be equal. Needs the full mlflow package
(`make mlflow-server`), which the compat target installs.
"""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
import time
import urllib.parse
import uuid
from pathlib import Path

import pytest
import requests
from ports import free_port

T = 1_700_000_000_000
MODELS = "logged-models"
# (method, path under /api/2.0/mlflow/, JSON body or query string); "{run}", "{exp}",
# "{model}" (a registered model with version 1) and "{lm}" (a logged model) stand for what
# was created on each server.
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
    ("POST", "runs/search", {"experiment_ids": ["{exp}"], "max_results": 0}),
    ("POST", "experiments/search", {"max_results": 50001}),
    ("POST", "experiments/search", {"max_results": -1}),
    ("POST", "experiments/search", {"max_results": 0}),
    ("GET", "experiments/search", "max_results=0"),
    ("GET", "metrics/get-history", "run_id={run}"),
    ("GET", "metrics/get-history", "metric_key=m"),
    ("GET", "metrics/get-history", "run_id={run}&metric_key=m&max_results=0"),
    ("GET", "metrics/get-history", "run_id={run}&metric_key=m&max_results=-1"),
    (
        "POST",
        "experiments/create",
        {"name": "long-tag", "tags": [{"key": "k", "value": "v" * 20001}]},
    ),
    (
        "POST",
        "experiments/set-experiment-tag",
        {"experiment_id": "{exp}", "key": "k", "value": "v" * 20001},
    ),
    ("POST", "runs/update", {"run_id": "{run}", "status": 99}),
    # The model registry.
    ("POST", "registered-models/create", {}),
    ("POST", "registered-models/create", {"name": 123}),
    ("POST", "registered-models/create", {"name": "{model}"}),
    ("POST", "registered-models/create", {"name": "x", "tags": [{"key": "a!b", "value": "v"}]}),
    (
        "POST",
        "registered-models/create",
        {"name": "x", "tags": [{"key": "k", "value": "v" * 100001}]},
    ),
    ("POST", "registered-models/rename", {"name": "{model}"}),
    ("POST", "registered-models/rename", {"name": "no-such-model", "new_name": "y"}),
    ("PATCH", "registered-models/update", {}),
    ("PATCH", "registered-models/update", {"name": "no-such-model", "description": "d"}),
    ("DELETE", "registered-models/delete", {"name": "no-such-model"}),
    ("GET", "registered-models/get", ""),
    ("GET", "registered-models/get", "name=no-such-model"),
    ("POST", "registered-models/get-latest-versions", {"name": "no-such-model"}),
    ("POST", "registered-models/get-latest-versions", {"name": "{model}", "stages": ["Bogus"]}),
    ("POST", "registered-models/set-tag", {"name": "{model}", "value": "v"}),
    ("POST", "registered-models/set-tag", {"name": "{model}", "key": "a!b", "value": "v"}),
    ("POST", "registered-models/set-tag", {"name": "no-such-model", "key": "k", "value": "v"}),
    ("DELETE", "registered-models/delete-tag", {"name": "{model}"}),
    ("POST", "registered-models/alias", {"name": "{model}", "version": "1"}),
    ("POST", "registered-models/alias", {"name": "{model}", "alias": "a", "version": "99"}),
    ("POST", "registered-models/alias", {"name": "{model}", "alias": "a", "version": "abc"}),
    ("POST", "registered-models/alias", {"name": "{model}", "alias": "Latest", "version": "1"}),
    ("POST", "registered-models/alias", {"name": "{model}", "alias": "v1", "version": "1"}),
    ("POST", "registered-models/alias", {"name": "{model}", "alias": "a!b", "version": "1"}),
    ("GET", "registered-models/alias", "name={model}&alias=missing"),
    ("POST", "model-versions/create", {"name": "{model}"}),
    ("POST", "model-versions/create", {"source": "runs:/x/y"}),
    # A runs:/ source must be of the version's run.
    ("POST", "model-versions/create", {"name": "{model}", "source": "runs:/{run}/model"}),
    (
        "POST",
        "model-versions/create",
        {"name": "{model}", "source": "runs:/0123456789abcdef/model", "run_id": "{run}"},
    ),
    (
        "POST",
        "model-versions/create",
        {"name": "{model}", "source": "runs:/{run}/../model", "run_id": "{run}"},
    ),
    (
        "POST",
        "model-versions/create",
        {"name": "{model}", "source": "runs:/{run}/model", "run_id": "{run}", "model_id": "m"},
    ),
    # The registry's searches: page sizes, unknown keys and page tokens.
    ("GET", "registered-models/search", "max_results=1001"),
    *(
        ("GET", f"{search}/search", "filter=" + urllib.parse.quote(filter_))
        for search in ("registered-models", "model-versions")
        for filter_ in (
            "foo = 'x'",
            "metrics.x = 1",
            "name > 'x'",
            "name = 1",
            "name LIKE 1.5",
            "tags.x > 'a'",
            "tags.x = 1",
            "version_number = 'x'",
            "version_number = 1.5",
            "version_number LIKE 1",
        )
    ),
    ("GET", "registered-models/search", "order_by=foo"),
    ("GET", "registered-models/search", "page_token=garbage"),
    ("GET", "registered-models/search", "page_token=bm90IGpzb24="),  # "not json"
    ("GET", "registered-models/search", "page_token=eyJvZmZzZXQiOiAwfQ=="),  # {"offset": 0}
    ("GET", "model-versions/search", "max_results=0"),
    ("GET", "model-versions/search", "max_results=-1"),
    ("GET", "model-versions/search", "max_results=200001"),
    ("GET", "model-versions/search", "order_by=foo"),
    ("GET", "model-versions/search", "order_by=params.x"),
    ("GET", "model-versions/search", "page_token=garbage"),
    ("PATCH", "model-versions/update", {"name": "{model}", "version": "99", "description": "d"}),
    ("PATCH", "model-versions/update", {"name": "{model}", "version": "abc", "description": "d"}),
    ("DELETE", "model-versions/delete", {"name": "{model}", "version": "99"}),
    ("GET", "model-versions/get", "name={model}"),
    ("GET", "model-versions/get", "name={model}&version=0"),
    ("GET", "model-versions/get", "name={model}&version=-1"),
    ("GET", "model-versions/get", "name={model}&version=abc"),
    ("GET", "model-versions/get-download-uri", "name={model}&version=99"),
    ("POST", "model-versions/transition-stage", {"name": "{model}", "version": "1"}),
    (
        "POST",
        "model-versions/transition-stage",
        {"name": "{model}", "version": "1", "stage": "Bogus", "archive_existing_versions": False},
    ),
    (
        "POST",
        "model-versions/transition-stage",
        {
            "name": "{model}",
            "version": "99",
            "stage": "Staging",
            "archive_existing_versions": False,
        },
    ),
    (
        "POST",
        "model-versions/set-tag",
        {"name": "{model}", "version": "1", "key": "a!b", "value": "v"},
    ),
    (
        "POST",
        "model-versions/set-tag",
        {"name": "{model}", "version": "99", "key": "k", "value": "v"},
    ),
    # MLflow 3's logged models.
    ("POST", MODELS, {}),
    ("POST", MODELS, {"experiment_id": "999999"}),
    ("GET", f"{MODELS}/m-no-such-model", ""),
    ("DELETE", f"{MODELS}/m-no-such-model", None),
    ("PATCH", f"{MODELS}/m-no-such-model/tags", {"tags": [{"key": "k", "value": "v"}]}),
    ("DELETE", f"{MODELS}/{{lm}}/tags/missing", None),
    ("GET", f"{MODELS}/m-no-such-model/artifacts/directories", ""),
    ("POST", f"{MODELS}/search", {}),
    ("POST", f"{MODELS}/search", {"experiment_ids": ["{exp}"], "filter": "name ="}),
    ("POST", f"{MODELS}/search", {"experiment_ids": ["{exp}"], "order_by": [{"field_name": "x"}]}),
]

# Requests MLflow's server serves although a stricter server might refuse them: trackwire serves
# them too.
ACCEPTED_REQUESTS = [
    ("POST", "runs/log-parameter", {"run_id": "{run}", "key": "long", "value": "v" * 6001}),
    ("POST", "runs/set-tag", {"run_id": "{run}", "key": "long", "value": "v" * 8001}),
    (
        "POST",
        "runs/log-batch",
        {
            "run_id": "{run}",
            "params": [{"key": "batch", "value": "v" * 7000}],
            "tags": [{"key": "batch", "value": "v" * 9000}],
        },
    ),
    ("POST", "runs/create", {"experiment_id": "{exp}", "run_name": "n" * 300}),
    ("POST", "runs/update", {"run_id": "{run}", "run_name": "n" * 300}),
    (
        "POST",
        "experiments/set-experiment-tag",
        {"experiment_id": "{exp}", "key": "k", "value": "v" * 20000},
    ),
    ("POST", "registered-models/set-tag", {"name": "{model}", "key": "k", "value": "v" * 100000}),
    ("POST", "registered-models/create", {"name": "described", "description": "d" * 100000}),
    # Enum values named by no value leave the field unset; numbers may be written as strings.
    ("POST", "runs/search", {"experiment_ids": ["{exp}"], "run_view_type": "BOGUS"}),
    ("POST", "runs/search", {"experiment_ids": ["{exp}"], "run_view_type": "2"}),
    ("POST", "runs/search", {"experiment_ids": ["{exp}"], "run_view_type": 99}),
    # (MLflow's parser stops at the unknown number: fields after it are lost.)
    ("POST", "experiments/search", {"max_results": 10, "view_type": 99}),
    # max_results left out: the default page; a larger page than the largest: the largest.
    ("GET", "metrics/get-history", "run_id={run}&metric_key=m"),
    ("GET", "metrics/get-history", "run_id={run}&metric_key=m&max_results=30000"),
    ("POST", "runs/search", {"experiment_ids": ["{exp}"]}),
    ("GET", "model-versions/search", ""),
    ("GET", "registered-models/search", ""),
    ("GET", "model-versions/search", "filter=" + urllib.parse.quote("version_number = '1'")),
    ("POST", "experiments/search", {"view_type": "BOGUS", "max_results": 10}),
    ("GET", "experiments/search", "view_type=99&max_results=5"),
    ("POST", "runs/update", {"run_id": "{run}", "status": "BOGUS"}),
    ("POST", "runs/update", {"run_id": "{run}", "status": "99"}),
    # Deleting what is not there.
    ("DELETE", "registered-models/delete-tag", {"name": "{model}", "key": "missing"}),
    ("DELETE", "model-versions/delete-tag", {"name": "{model}", "version": "1", "key": "missing"}),
    ("DELETE", "registered-models/alias", {"name": "{model}", "alias": "missing"}),
    # Logged models keep any param or tag, and take any page size.
    ("POST", MODELS, {"experiment_id": "{exp}", "params": [{"key": "a!b", "value": "v" * 7000}]}),
    ("POST", MODELS, {"experiment_id": "{exp}", "source_run_id": "no-such-run"}),
    ("PATCH", f"{MODELS}/{{lm}}/tags", {"tags": [{"key": "a!b", "value": "v" * 9000}]}),
    ("POST", f"{MODELS}/search", {"experiment_ids": ["{exp}"], "max_results": 1001}),
    ("POST", f"{MODELS}/search", {"experiment_ids": ["{exp}"], "max_results": -1}),
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
    return requests.request(method, url, json=payload, timeout=30)


def _fill(payload, names: dict[str, str]):
    """The payload with the names of _subjects replaced, at any depth."""
    if isinstance(payload, str):
        return payload.format(**names)
    if isinstance(payload, list):
        return [_fill(item, names) for item in payload]
    if isinstance(payload, dict):
        return {key: _fill(value, names) for key, value in payload.items()}
    return payload


def _subjects(base: str) -> dict[str, str]:
    """A fresh experiment, run, registered model (with version 1) and logged model on one
    server."""
    created = _call(base, "POST", "experiments/create", {"name": f"v-{uuid.uuid4().hex}"})
    exp = created.json()["experiment_id"]
    run = _call(base, "POST", "runs/create", {"experiment_id": exp, "start_time": 1})
    run_id = run.json()["run"]["info"]["run_id"]
    model = f"model-{uuid.uuid4().hex}"
    _call(base, "POST", "registered-models/create", {"name": model}).raise_for_status()
    version = {"name": model, "source": f"runs:/{run_id}/model", "run_id": run_id}
    _call(base, "POST", "model-versions/create", version).raise_for_status()
    logged = _call(base, "POST", MODELS, {"experiment_id": exp})
    lm = logged.json()["model"]["info"]["model_id"]
    return {"exp": exp, "run": run_id, "model": model, "lm": lm}


@pytest.fixture(scope="module")
def servers(mlflow_server, server_url):
    return {base: _subjects(base) for base in (mlflow_server, server_url)}


# A Python set in MLflow's messages ("Valid keys are '{'name', 'run_id'}'"): its order varies.
_PYTHON_SET = re.compile(r"\{'[^{}]*'\}")


def _sorted_set(match: re.Match) -> str:
    return "{" + ", ".join(sorted(match.group(0)[1:-1].split(", "))) + "}"


def _answer(base: str, names: dict[str, str], request) -> tuple[int, dict]:
    """The status and error body, with what differs between the servers' subjects (ids) and
    runs (a set's order) made equal."""
    method, path, payload = request
    response = _call(base, method, path, _fill(payload, names))
    body = response.json()
    message = body.get("message")
    if message is not None:
        for name in ("run", "model", "lm"):
            message = message.replace(names[name], f"{{{name}}}")
        body["message"] = _PYTHON_SET.sub(_sorted_set, message)
    return response.status_code, body


@pytest.mark.parametrize("request_", BAD_REQUESTS, ids=lambda r: f"{r[1]}:{str(r[2])[:60]}")
def test_bad_requests_are_answered_as_mlflow_answers_them(servers, mlflow_server, request_):
    mlflow_names = servers[mlflow_server]
    expected = _answer(mlflow_server, mlflow_names, request_)
    assert 400 <= expected[0] < 500  # the table holds only requests MLflow refuses
    assert expected[1]["sqlstate"] and expected[1]["error_class"]  # compared below too
    (trackwire, names) = next((b, n) for b, n in servers.items() if b != mlflow_server)
    assert _answer(trackwire, names, request_) == expected


@pytest.mark.parametrize("request_", ACCEPTED_REQUESTS, ids=lambda r: f"{r[1]}:{str(r[2])[:60]}")
def test_requests_mlflow_serves_are_served(servers, request_):
    method, path, payload = request_
    for base, names in servers.items():
        response = _call(base, method, _fill(path, names), _fill(payload, names))
        assert response.status_code == 200, (base, response.text)


# Malformed logged-model searches MLflow's server answers with 500; trackwire refuses them
# as the client's mistake they are.
SERVER_ERRORS_IN_MLFLOW = [
    ("POST", f"{MODELS}/search", {"experiment_ids": ["{exp}"], "filter": "foo = 1"}),
    ("POST", f"{MODELS}/search", {"experiment_ids": ["{exp}"], "page_token": "garbage"}),
]


@pytest.mark.parametrize(
    "request_", SERVER_ERRORS_IN_MLFLOW, ids=lambda r: f"{r[1]}:{str(r[2])[:60]}"
)
def test_what_mlflow_fails_on_is_a_client_error(servers, mlflow_server, request_):
    method, path, payload = request_
    answers = {}
    for base, names in servers.items():
        answers[base == mlflow_server] = _call(base, method, path, _fill(payload, names))
    mlflow, trackwire = answers[True], answers[False]
    assert (mlflow.status_code, trackwire.status_code) == (500, 400)
    assert trackwire.json()["error_code"] == "INVALID_PARAMETER_VALUE"
    # MLflow's failure names its ORM class or is an HTML page; trackwire names the mistake.
    assert ("'foo'" if "filter" in payload else "page token") in trackwire.json()["message"]


def _stored(base: str, names: dict[str, str]) -> dict[str, int]:
    """The lengths of what one server stored of over-long values."""
    run = _call(base, "GET", "runs/get", f"run_id={names['run']}").json()["run"]
    experiment = _call(base, "GET", "experiments/get", f"experiment_id={names['exp']}").json()
    lengths = {f"param {p['key']}": len(p["value"]) for p in run["data"]["params"]}
    lengths.update({f"tag {t['key']}": len(t["value"]) for t in run["data"]["tags"]})
    lengths.update(
        {f"experiment tag {t['key']}": len(t["value"]) for t in experiment["experiment"]["tags"]}
    )
    return lengths


def test_over_long_values_are_stored_as_mlflow_stores_them(servers):
    """Param and run tag values keep their first 6000 and 8000 characters on both servers."""
    lengths = []
    for base, names in servers.items():
        for method, path, payload in (
            ("POST", "runs/log-parameter", {"run_id": "{run}", "key": "p", "value": "v" * 6001}),
            ("POST", "runs/set-tag", {"run_id": "{run}", "key": "t", "value": "v" * 8001}),
            (
                "POST",
                "runs/log-batch",
                {
                    "run_id": "{run}",
                    "params": [{"key": "bp", "value": "v" * 9000}],
                    "tags": [{"key": "bt", "value": "v" * 9000}],
                },
            ),
            (
                "POST",
                "experiments/set-experiment-tag",
                {"experiment_id": "{exp}", "key": "e", "value": "v" * 20000},
            ),
        ):
            _call(base, method, path, _fill(payload, names)).raise_for_status()
        stored = _stored(base, names)
        lengths.append(
            {
                key: stored[key]
                for key in ("param p", "tag t", "param bp", "tag bt", "experiment tag e")
            }
        )
    assert (
        lengths[0]
        == lengths[1]
        == {
            "param p": 6000,
            "tag t": 8000,
            "param bp": 6000,
            "tag bt": 8000,
            "experiment tag e": 20000,
        }
    )


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
