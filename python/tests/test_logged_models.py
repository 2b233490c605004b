"""MLflow 3's logged models against a real server: created over MLflow's REST paths (as
MLflow's client does), read back by TrackingClient over gRPC and HTTP, their artifacts through
the artifact proxy (paths confined to the model)."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path

import pytest
import urllib3
from server_process import LiveServer, backend_for_tests

from trackwire import errors
from trackwire.client import TrackingClient
from trackwire.v1.entities_pb2 import Metric

API = "/api/2.0/mlflow"
PROXY = "/api/2.0/mlflow-artifacts/artifacts"


class Rest:
    """MLflow's REST API of the server, as MLflow's client calls it."""

    def __init__(self, base: str):
        self.base = base
        self.http = urllib3.PoolManager()

    def call(self, verb: str, path: str, body=None, raw: bytes | None = None):
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        response = self.http.request(verb, self.base + path, body=data)
        return response.status, json.loads(response.data or b"{}")


@pytest.fixture(scope="module")
def rest(server) -> Rest:
    return Rest(server.http_url)


@pytest.fixture(scope="module", params=["grpc", "http"])
def client(request, server):
    uri = server.tracking_uri if request.param == "grpc" else server.http_url
    with TrackingClient(uri) as c:
        yield c


def create_model(rest: Rest, experiment_id: str, run_id: str, **fields) -> dict:
    status, body = rest.call(
        "POST",
        f"{API}/logged-models",
        {"experiment_id": experiment_id, "source_run_id": run_id, **fields},
    )
    assert status == 200, body
    return body["model"]


@pytest.fixture(scope="module")
def experiment(rest, client) -> tuple[str, str]:
    experiment_id = client.create_experiment(f"lm-{uuid.uuid4().hex}")
    return experiment_id, client.create_run(experiment_id).info.run_id


def test_rest_lifecycle_in_mlflow_shapes(rest, experiment):
    experiment_id, run_id = experiment
    model = create_model(
        rest,
        experiment_id,
        run_id,
        name="clf",
        model_type="sklearn",
        params=[{"key": "alpha", "value": "0.1"}],
        tags=[{"key": "team", "value": "a"}],
    )
    info = model["info"]
    model_id = info["model_id"]
    assert info["status"] == "LOGGED_MODEL_PENDING"
    assert info["artifact_uri"] == f"mlflow-artifacts:/{experiment_id}/models/{model_id}/artifacts"
    assert model["data"]["params"] == [{"key": "alpha", "value": "0.1"}]

    status, body = rest.call(
        "PATCH", f"{API}/logged-models/{model_id}", {"status": "LOGGED_MODEL_READY"}
    )
    assert status == 200 and body["model"]["info"]["status"] == "LOGGED_MODEL_READY"
    status, _ = rest.call(
        "PATCH", f"{API}/logged-models/{model_id}/tags", {"tags": [{"key": "k", "value": "v"}]}
    )
    assert status == 200
    status, _ = rest.call("DELETE", f"{API}/logged-models/{model_id}/tags/team")
    assert status == 200
    status, _ = rest.call(
        "POST", f"{API}/logged-models/{model_id}/params", {"params": [{"key": "b", "value": "2"}]}
    )
    assert status == 200
    status, body = rest.call(
        "POST",
        f"{API}/runs/log-batch",
        {
            "run_id": run_id,
            "metrics": [
                {
                    "key": "acc",
                    "value": 0.9,
                    "timestamp": 1,
                    "step": 0,
                    "model_id": model_id,
                    "dataset_name": "val",
                    "dataset_digest": "d1",
                }
            ],
        },
    )
    assert status == 200, body
    status, body = rest.call(
        "POST",
        f"{API}/runs/outputs",
        {"run_id": run_id, "models": [{"model_id": model_id, "step": 3}]},
    )
    assert status == 200, body

    status, body = rest.call("GET", f"{API}/logged-models/{model_id}")
    got = body["model"]
    assert [t["key"] for t in got["info"]["tags"]] == ["k"]
    assert {p["key"] for p in got["data"]["params"]} == {"alpha", "b"}
    (metric,) = got["data"]["metrics"]
    assert (metric["key"], metric["dataset_name"], metric["model_id"]) == ("acc", "val", model_id)
    status, body = rest.call("GET", f"{API}/runs/get?run_id={run_id}")
    assert body["run"]["outputs"]["model_outputs"] == [{"model_id": model_id, "step": 3}]

    status, body = rest.call("DELETE", f"{API}/logged-models/{model_id}")
    assert status == 200
    status, body = rest.call("GET", f"{API}/logged-models/{model_id}")
    assert status == 404 and body["error_code"] == "RESOURCE_DOES_NOT_EXIST"


def test_client_searches_fetches_and_downloads(rest, client, experiment, tmp_path: Path):
    experiment_id, run_id = experiment
    name = f"m-{uuid.uuid4().hex[:6]}"
    model_id = create_model(rest, experiment_id, run_id, name=name)["info"]["model_id"]
    root = f"{PROXY}/{experiment_id}/models/{model_id}/artifacts"
    for path, data in (("MLmodel", b"flavors: {}\n"), ("data/model.pkl", b"\x00\x01weights")):
        status, _ = rest.call("PUT", f"{root}/{path}", raw=data)
        assert status == 200
    status, listing = rest.call("GET", f"{PROXY}?path={experiment_id}/models/{model_id}/artifacts")
    assert sorted(f["path"] for f in listing["files"]) == ["MLmodel", "data"]

    model = client.get_logged_model(model_id)
    assert (model.info.name, model.info.source_run_id) == (name, run_id)
    found = client.search_logged_models([experiment_id], filter_string=f"name = '{name}'")
    assert [m.info.model_id for m in found] == [model_id]
    assert [f.path for f in client.list_logged_model_artifacts(model_id)] == ["MLmodel", "data"]
    local = Path(client.download_logged_model_artifacts(model_id, "", tmp_path))
    assert (local / "data" / "model.pkl").read_bytes() == b"\x00\x01weights"

    with pytest.raises(errors.NotFound):
        client.get_logged_model("m-" + "0" * 32)


def test_search_pages_and_orders(rest, client, experiment):
    experiment_id = client.create_experiment(f"lm-pages-{uuid.uuid4().hex}")
    run_id = client.create_run(experiment_id).info.run_id
    ids = [
        create_model(rest, experiment_id, run_id, name=f"n{i}")["info"]["model_id"]
        for i in range(3)
    ]
    first = client.search_logged_models(
        [experiment_id], order_by=[{"field_name": "name", "ascending": False}], max_results=2
    )
    rest_of = client.search_logged_models(
        [experiment_id],
        order_by=[{"field_name": "name", "ascending": False}],
        max_results=2,
        page_token=first.token,
    )
    assert [m.info.model_id for m in [*first, *rest_of]] == list(reversed(ids))
    assert not rest_of.token
    with pytest.raises(errors.InvalidArgument):
        client.search_logged_models([experiment_id], filter_string="colour = 'red'")


@pytest.fixture(scope="module")
def searched(rest, client) -> str:
    """An experiment of four models: alpha and beta with params, tags and an rmse on a dataset
    each, gamma READY with a NaN rmse, delta with nothing."""
    experiment_id = client.create_experiment(f"lm-search-{uuid.uuid4().hex}")
    run_id = client.create_run(experiment_id).info.run_id
    rows = {
        "alpha": ("0.1", "ml", 0.5, "train"),
        "beta": ("0.2", "cv", 0.3, "test"),
        "gamma": (None, None, "NaN", "train"),
        "delta": (None, None, None, None),
    }
    for name, (lr, team, rmse, dataset) in rows.items():
        fields = {"name": name}
        if lr:
            fields |= {
                "params": [{"key": "lr", "value": lr}],
                "tags": [{"key": "team", "value": team}],
            }
        model_id = create_model(rest, experiment_id, run_id, **fields)["info"]["model_id"]
        time.sleep(0.002)  # distinct creation milliseconds: the default order is defined
        if rmse is not None:
            metric = {"run_id": run_id, "key": "rmse", "value": rmse, "timestamp": 1, "step": 0}
            metric |= {"model_id": model_id, "dataset_name": dataset, "dataset_digest": "d"}
            assert rest.call("POST", f"{API}/runs/log-metric", metric)[0] == 200
        if name == "gamma":
            status = {"status": "LOGGED_MODEL_READY"}
            assert rest.call("PATCH", f"{API}/logged-models/{model_id}", status)[0] == 200
    return experiment_id


@pytest.mark.parametrize(
    ("filter_string", "datasets", "names"),
    [
        ("name = 'alpha'", [], {"alpha"}),
        ("name LIKE 'g%'", [], {"gamma"}),
        ("name ILIKE 'AL%'", [], {"alpha"}),
        ("name IN ('alpha', 'delta')", [], {"alpha", "delta"}),
        ("status = 'READY'", [], {"gamma"}),
        ("status != 'READY'", [], {"alpha", "beta", "delta"}),
        ("params.lr = '0.1'", [], {"alpha"}),
        ("params.lr != '0.1'", [], {"beta"}),
        ("tags.team IS NULL", [], {"gamma", "delta"}),
        ("tags.team LIKE 'c%'", [], {"beta"}),
        ("metrics.rmse < 0.4", [], {"beta"}),
        ("metrics.rmse >= 0", [], {"alpha", "beta"}),  # NaN compares false
        ("metrics.rmse IS NOT NULL", [], {"alpha", "beta", "gamma"}),
        ("metrics.rmse IS NULL", [], {"delta"}),
        ("metrics.rmse < 1", [{"dataset_name": "train"}], {"alpha"}),
        ("metrics.rmse < 1", [{"dataset_name": "test", "dataset_digest": "other"}], set()),
        ("creation_timestamp > 0 AND params.lr = '0.2'", [], {"beta"}),
        ("", [], {"alpha", "beta", "gamma", "delta"}),
    ],
)
def test_search_filters(client, searched, filter_string, datasets, names):
    found = client.search_logged_models([searched], filter_string=filter_string, datasets=datasets)
    assert {m.info.name for m in found} == names


@pytest.mark.parametrize(
    ("order_by", "names"),
    [
        ({"field_name": "metrics.rmse"}, ["beta", "alpha", "gamma", "delta"]),
        ({"field_name": "metrics.rmse", "ascending": False}, ["alpha", "beta", "gamma", "delta"]),
        (
            {"field_name": "metrics.rmse", "dataset_name": "test"},
            ["beta", "delta", "gamma", "alpha"],
        ),
        ({"field_name": "name"}, ["alpha", "beta", "delta", "gamma"]),
        ({"field_name": "creation_timestamp"}, ["alpha", "beta", "gamma", "delta"]),
    ],
)
def test_search_orders_page_by_page(client, searched, order_by, names):
    """Models without the metric sort last in both directions, NaN just before them; each
    page of one starts where the last ended."""
    pages, token = [], None
    while True:
        page = client.search_logged_models(
            [searched], order_by=[order_by], max_results=1, page_token=token
        )
        pages += [m.info.name for m in page]
        token = page.token
        if not token:
            break
    assert pages == names


def test_model_artifact_paths_stay_inside_the_model(rest, experiment):
    experiment_id, run_id = experiment
    model_id = create_model(rest, experiment_id, run_id)["info"]["model_id"]
    root = f"{PROXY}/{experiment_id}/models/{model_id}/artifacts"
    for bad in ("../../escape", "a/../../b", "%2e%2e/x"):
        status, body = rest.call("PUT", f"{root}/{bad}", raw=b"x")
        assert status in (400, 404), (bad, status, body)
    status, body = rest.call(
        "PUT", f"{PROXY}/{experiment_id}/models/m-missing/artifacts/f", raw=b"x"
    )
    assert status == 404 and body["error_code"] == "RESOURCE_DOES_NOT_EXIST"
    status, body = rest.call(
        "GET", f"{API}/logged-models/{model_id}/artifacts/directories?artifact_directory_path=../x"
    )
    assert status == 400 and body["error_code"] == "INVALID_PARAMETER_VALUE"


@pytest.fixture(scope="module")
def auth_server(tmp_path_factory):
    live = LiveServer(
        tmp_path_factory.mktemp("auth-models"), backend_for_tests(), extra_args=["--auth"]
    )
    live.start()
    yield live
    live.stop()


def test_model_permissions_follow_its_experiment(auth_server):
    """Without a grant, a user reads (the default permission) but cannot change a model or its
    artifacts; the experiment's creator can."""
    owner_token = auth_server.cli("tokens", "create", "--user", "bob", "--scope", "write").strip()
    other_token = auth_server.cli("tokens", "create", "--user", "eve", "--scope", "write").strip()
    http = urllib3.PoolManager()

    def call(token: str, verb: str, path: str, body=None, raw: bytes | None = None):
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        headers = {"Authorization": f"Bearer {token}"}
        response = http.request(verb, auth_server.http_url + path, body=data, headers=headers)
        return response.status, json.loads(response.data or b"{}")

    status, body = call(owner_token, "POST", f"{API}/experiments/create", {"name": "owned"})
    experiment_id = body["experiment_id"]
    status, body = call(
        owner_token, "POST", f"{API}/logged-models", {"experiment_id": experiment_id}
    )
    assert status == 200, body
    model_id = body["model"]["info"]["model_id"]
    file = f"{PROXY}/{experiment_id}/models/{model_id}/artifacts/MLmodel"
    tags = f"{API}/logged-models/{model_id}/tags"

    assert call(owner_token, "PUT", file, raw=b"flavors: {}")[0] == 200
    assert call(other_token, "GET", f"{API}/logged-models/{model_id}")[0] == 200
    for verb, path, kwargs in (
        ("PUT", file, {"raw": b"overwritten"}),
        ("DELETE", file, {}),
        ("PATCH", tags, {"body": {"tags": [{"key": "k", "value": "v"}]}}),
        ("DELETE", f"{API}/logged-models/{model_id}", {}),
        ("POST", f"{API}/logged-models", {"body": {"experiment_id": experiment_id}}),
    ):
        status, body = call(other_token, verb, path, **kwargs)
        assert (status, body.get("error_code")) == (403, "PERMISSION_DENIED"), (verb, path)
    download = http.request(
        "GET", auth_server.http_url + file, headers={"Authorization": f"Bearer {owner_token}"}
    )
    assert (download.status, download.data) == (200, b"flavors: {}")
    assert http.request("GET", auth_server.http_url + file).status == 401


def test_a_batch_naming_an_unknown_model_stores_nothing(client, experiment):
    experiment_id, _ = experiment
    run_id = client.create_run(experiment_id).info.run_id
    metrics = [
        Metric(key="acc", value=0.5, timestamp=1, step=0),
        Metric(key="acc", value=0.7, timestamp=2, step=1, model_id="m-not-there"),
    ]
    with pytest.raises(errors.NotFound, match="m-not-there"):
        client.log_batch(run_id, metrics=metrics)
    assert client.get_metric_history(run_id, "acc") == []


def test_a_metric_naming_an_unknown_model_stores_nothing(rest, client, experiment):
    experiment_id, _ = experiment
    run_id = client.create_run(experiment_id).info.run_id
    point = {"run_id": run_id, "key": "acc", "value": 0.5, "timestamp": 1, "step": 0}
    status, body = rest.call("POST", "/api/2.0/mlflow/runs/log-metric", point | {"model_id": "m-x"})
    assert (status, body["error_code"]) == (404, "RESOURCE_DOES_NOT_EXIST")
    assert client.get_metric_history(run_id, "acc") == []
