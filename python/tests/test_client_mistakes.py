"""Client mistakes never get a 5xx: NUL characters, ids beyond 64 bits and tampered page tokens
are 400 INVALID_PARAMETER_VALUE on both stores (PostgreSQL under `make test-python-postgres`),
error messages carry no SQL, and hostile values in any field of any REST endpoint leave the
server serving (hypothesis)."""

from __future__ import annotations

import base64
import json
import re
import sqlite3

import grpc
import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from server_process import LiveServer, backend_for_tests

from trackwire.server.http_gateway.routes import bindings
from trackwire.v1 import tracking_service_pb2, tracking_service_pb2_grpc
from trackwire.v1 import tracking_service_pb2 as rpc

API = "/api/2.0/mlflow"
HUGE_ID = "99999999999999999999999"
SQL_WORDS = ("SELECT", "INSERT", "UPDATE ", "sqlalchemy", "psycopg", "sqlite3", "[parameters")


def _token(payload: bytes) -> str:
    return base64.urlsafe_b64encode(payload).decode().rstrip("=")


TAMPERED_TOKENS = [
    _token(json.dumps({"v": 1, "q": "x", "k": [int("9" * 400)]}).encode()),
    _token(b"[" * 5000 + b"]" * 5000),
    _token(b'{"v":2,"q":"0000000000000000","k":[1,2]}'),
    "9" * 400,
    "not a token",
]


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    server = LiveServer(tmp_path_factory.mktemp("client-mistakes"), backend_for_tests()).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def http(live):
    with httpx.Client(base_url=live.http_url, timeout=60) as client:
        yield client


@pytest.fixture(scope="module")
def target(http) -> dict[str, str]:
    """An experiment and a run with a param, a tag and a metric."""
    experiment_id = http.post(f"{API}/experiments/create", json={"name": "mistakes"}).json()[
        "experiment_id"
    ]
    run = http.post(f"{API}/runs/create", json={"experiment_id": experiment_id}).json()["run"]
    run_id = run["info"]["run_id"]
    batch = {
        "run_id": run_id,
        "metrics": [{"key": "loss", "value": 1.0, "timestamp": 1, "step": 0}],
        "params": [{"key": "lr", "value": "0.1"}],
        "tags": [{"key": "team", "value": "ml"}],
    }
    assert http.post(f"{API}/runs/log-batch", json=batch).status_code == 200
    return {"experiment_id": experiment_id, "run_id": run_id, "run_name": "r", "name": "mistakes"}


def assert_invalid(response: httpx.Response) -> None:
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["error_code"] == "INVALID_PARAMETER_VALUE", body
    assert not any(word in body["message"] for word in SQL_WORDS), body


NUL = "a\x00b"


@pytest.mark.parametrize(
    "method, path, body",
    [
        ("post", "/experiments/create", {"name": NUL}),
        ("post", "/experiments/create", {"name": "x-artifacts", "artifact_location": NUL}),
        ("get", "/experiments/get-by-name", {"experiment_name": NUL}),
        ("post", "/runs/create", {"experiment_id": "{experiment_id}", "run_name": NUL}),
        ("post", "/runs/create", {"experiment_id": "{experiment_id}", "user_id": NUL}),
        ("post", "/runs/create", {"experiment_id": "{experiment_id}", "user_id": "u" * 257}),
        ("post", "/runs/update", {"run_id": "{run_id}", "run_name": NUL}),
        ("post", "/runs/log-parameter", {"run_id": "{run_id}", "key": "p", "value": NUL}),
        ("post", "/runs/set-tag", {"run_id": "{run_id}", "key": "t", "value": NUL}),
        (
            "post",
            "/experiments/set-experiment-tag",
            {"experiment_id": "0", "key": "t", "value": NUL},
        ),
        ("get", "/runs/get", {"run_id": NUL}),
        (
            "post",
            "/runs/search",
            {"experiment_ids": ["{experiment_id}"], "filter": f"params.lr = '{NUL}'"},
        ),
        ("post", "/runs/search", {"experiment_ids": ["{experiment_id}"], "order_by": [NUL]}),
        (
            "post",
            "/runs/search",
            {"experiment_ids": ["{experiment_id}"], "columns": {"param_keys": [NUL]}},
        ),
        ("get", "/metrics/get-history-bulk-interval", {"run_ids": NUL, "metric_key": "loss"}),
        ("post", "/experiments/search", {"filter": f"name = '{NUL}'"}),
        ("get", "/experiments/get", {"experiment_id": HUGE_ID}),
        ("post", "/runs/create", {"experiment_id": HUGE_ID}),
        ("post", "/runs/search", {"experiment_ids": [HUGE_ID]}),
        ("post", "/experiments/delete", {"experiment_id": HUGE_ID}),
        (
            "post",
            "/runs/search",
            {"experiment_ids": ["{experiment_id}"], "filter": f"start_time > {HUGE_ID}0"},
        ),
    ],
)
def test_mistakes_are_invalid_parameter_values(http, target, method, path, body):
    body = {k: _fill(v, target) for k, v in body.items()}
    if method == "get":
        response = http.get(API + path, params=body)
    else:
        response = http.post(API + path, json=body)
    if path == "/runs/search" and "start_time" in body.get("filter", ""):
        assert response.status_code == 200, response.text  # compared as a double: no match
        assert "runs" not in response.json()
        return
    assert_invalid(response)


def _fill(value, target):
    if isinstance(value, list):
        return [_fill(v, target) for v in value]
    if isinstance(value, dict):
        return {k: _fill(v, target) for k, v in value.items()}
    return value.format(**target) if isinstance(value, str) and "{" in value else value


@pytest.mark.parametrize("token", TAMPERED_TOKENS)
@pytest.mark.parametrize("endpoint", ["runs", "experiments", "history"])
def test_tampered_page_tokens(http, target, token, endpoint):
    if endpoint == "runs":
        body = {"experiment_ids": [target["experiment_id"]], "page_token": token}
        response = http.post(f"{API}/runs/search", json=body)
    elif endpoint == "experiments":
        response = http.post(f"{API}/experiments/search", json={"page_token": token})
    else:
        query = {"run_id": target["run_id"], "metric_key": "loss", "page_token": token}
        response = http.get(f"{API}/metrics/get-history", params=query)
    assert_invalid(response)


def test_a_genuine_token_pages_on(http, target):
    for _ in range(3):
        http.post(f"{API}/runs/create", json={"experiment_id": target["experiment_id"]})
    query = {"experiment_ids": [target["experiment_id"]], "max_results": 2}
    first = http.post(f"{API}/runs/search", json=query).json()
    second = http.post(
        f"{API}/runs/search", json={**query, "page_token": first["next_page_token"]}
    ).json()
    assert {r["info"]["run_id"] for r in first["runs"]}.isdisjoint(
        r["info"]["run_id"] for r in second["runs"]
    )


# Hostile values for any string field, and where a string holds a number or a token.
hostile_text = st.one_of(
    st.sampled_from(
        [
            NUL,
            "\x00",
            HUGE_ID,
            "-" + HUGE_ID,
            "9" * 400,
            "[" * 5000,
            *TAMPERED_TOKENS,
            "' OR 1=1 --",
        ]
    ),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=30).map(lambda s: s + "\x00"),
)
TRACKING = tracking_service_pb2.DESCRIPTOR.services_by_name["TrackingService"]
ENDPOINTS = [
    b for b in bindings(TRACKING) if not b.method.client_streaming and not b.method.server_streaming
]


@settings(max_examples=120, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    binding=st.sampled_from(ENDPOINTS),
    data=st.data(),
)
def test_hostile_values_in_any_field_never_get_a_5xx(http, target, binding, data):
    request = binding.method.input_type
    strings = [f.name for f in request.fields if f.type == f.TYPE_STRING]
    if not strings:
        return
    hostile = data.draw(st.sampled_from(strings))
    # The other id fields name the real run and experiment, so the value reaches the store.
    fields: dict = {name: target[name] for name in strings if name in target and name != hostile}
    value = data.draw(hostile_text)
    repeated = request.fields_by_name[hostile].is_repeated
    fields[hostile] = [value] if repeated else value
    if binding.verb == "GET":
        response = http.get(binding.path, params=fields)
    else:
        response = http.request(binding.verb, binding.path, json=fields)
    assert response.status_code < 500, (binding.path, fields, response.text)
    if response.status_code >= 400:
        message = response.json()["message"]
        assert not any(word in message for word in SQL_WORDS), message
    assert http.get("/health").status_code == 200


def test_a_genuine_internal_error_names_an_incident_the_log_repeats(tmp_path):
    """A store broken behind the server's back (a table dropped) is the server's failure:
    500 / INTERNAL on both wires, saying only that it happened and under which incident id;
    the details (the SQL error) are in the server's log beside that id."""
    server = LiveServer(tmp_path).start()
    try:
        with httpx.Client(base_url=server.http_url, timeout=60) as http:
            run = http.post(f"{API}/runs/create", json={"experiment_id": "0"}).json()["run"]
            with sqlite3.connect(tmp_path / "trackwire.db") as db:
                db.execute("DROP TABLE params")
            body = {"run_id": run["info"]["run_id"], "key": "lr", "value": "0.1"}
            response = http.post(f"{API}/runs/log-parameter", json=body)
            assert response.status_code == 500
            assert response.json()["error_code"] == "INTERNAL_ERROR"
            http_message = response.json()["message"]
        with server.grpc_channel() as channel:
            stub = tracking_service_pb2_grpc.TrackingServiceStub(channel)
            with pytest.raises(grpc.RpcError) as caught:
                stub.LogParam(rpc.LogParamRequest(**body))
            assert caught.value.code() == grpc.StatusCode.INTERNAL
            grpc_message = caught.value.details()
        for message in (http_message, grpc_message):
            incident = re.search(r"incident ([0-9a-f]{12})", message)
            assert incident, message
            assert "params" not in message and not any(w in message for w in SQL_WORDS)
            logged = [line for line in server.read_log().splitlines() if incident[1] in line]
            assert logged, message
        assert "no such table: params" in server.read_log()
    finally:
        server.stop()
