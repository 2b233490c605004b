"""Authentication and authorisation on both wires, for every RPC of both services.

The RPCs are walked from the descriptors: for each one a plausible request aimed at a
protected experiment (or its run) goes over gRPC (generic method handles) and over the
HTTP/JSON gateway (the route its `google.api.http` annotation gives) without a token, with a
revoked token, with a read token, and with the token of a user who may not see the
experiment. Each is refused, and the experiment, run, artifacts and grants are unchanged.
"""

from __future__ import annotations

import queue
import time
from collections.abc import Iterator
from dataclasses import dataclass

import grpc
import httpx
import pytest
from google.protobuf import message_factory
from google.protobuf.descriptor import MethodDescriptor
from google.protobuf.message import Message
from server_process import LiveServer, backend_for_tests

from trackwire.server.http_gateway import transcode
from trackwire.server.http_gateway.routes import bindings
from trackwire.v1 import artifact_service_pb2, tracking_service_pb2
from trackwire.v1 import entities_pb2 as pb

SERVICES = [
    tracking_service_pb2.DESCRIPTOR.services_by_name["TrackingService"],
    artifact_service_pb2.DESCRIPTOR.services_by_name["ArtifactService"],
]
METHODS = [method for service in SERVICES for method in service.methods]
# Bidirectional streams (LogBatchStream) have no HTTP binding.
_BOUND = {b.method.full_name for service in SERVICES for b in bindings(service)}
HTTP_METHODS = [method for method in METHODS if method.full_name in _BOUND]

_HTTP_STATUS = {
    grpc.StatusCode.UNAUTHENTICATED: 401,
    grpc.StatusCode.PERMISSION_DENIED: 403,
}


@dataclass
class Target:
    """What the requests point at: an experiment and one of its runs."""

    experiment_id: str
    experiment_name: str
    run_id: str


def build_request(method: MethodDescriptor, target: Target) -> Message:
    """A request of `method` aimed at `target`, every field the RPC needs filled in."""
    message = message_factory.GetMessageClass(method.input_type)()
    values = {
        "experiment_id": target.experiment_id,
        "run_id": target.run_id,
        "experiment_name": target.experiment_name,
        "name": f"created-{time.monotonic_ns()}",
        "new_name": f"renamed-{time.monotonic_ns()}",
        "key": "k",
        "value": "v",
        "metric_key": "m",
        "path": "a.txt",
        "username": "someone",
        "permission": pb.PERMISSION_EDIT,
        "max_timestamp_millis": int(time.time() * 1000) + 60_000,
        "data": b"data",
    }
    fields = method.input_type.fields_by_name
    for name, value in values.items():
        if name in fields and not fields[name].is_repeated:
            if fields[name].type == fields[name].TYPE_DOUBLE:
                value = 1.0  # LogMetric's value
            setattr(message, name, value)
    if "experiment_ids" in fields:
        message.experiment_ids.append(target.experiment_id)
    if "run_ids" in fields:
        message.run_ids.append(target.run_id)
    if method.name == "LogBatch":
        message.metrics.add(key="m", value=1.0, timestamp=1, step=1)
    if method.name == "LogBatchStream":  # one batch, as LogBatch's
        message.batch.CopyFrom(build_request(_rpc("LogBatch"), target))
    if method.name == "LogInputs":
        message.datasets.add().dataset.CopyFrom(
            pb.Dataset(name="d", digest="1", source_type="local", source="/d")
        )
    return message


def _method_path(method: MethodDescriptor) -> str:
    return f"/{method.containing_service.full_name}/{method.name}"


def call_grpc(channel: grpc.Channel, method: MethodDescriptor, request: Message, token: str | None):
    """Calls the RPC; the response (a list for streams), or raises grpc.RpcError."""
    response_class = message_factory.GetMessageClass(method.output_type)
    kwargs = {
        "request_serializer": lambda m: m.SerializeToString(),
        "response_deserializer": response_class.FromString,
    }
    metadata = [("authorization", f"Bearer {token}")] if token else []
    path = _method_path(method)
    if method.client_streaming and method.server_streaming:
        calls = channel.stream_stream(path, **kwargs)
        return list(calls(iter([request]), metadata=metadata, timeout=30))
    if method.client_streaming:
        header = type(request)(run_id=request.run_id, path=request.path)
        chunks: Iterator[Message] = iter([header, type(request)(data=request.data)])
        return channel.stream_unary(path, **kwargs)(chunks, metadata=metadata, timeout=30)
    if method.server_streaming:
        return list(channel.unary_stream(path, **kwargs)(request, metadata=metadata, timeout=30))
    return channel.unary_unary(path, **kwargs)(request, metadata=metadata, timeout=30)


def call_http(
    client: httpx.Client,
    method: MethodDescriptor,
    request: Message,
    token: str | None,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    """Sends the request to the RPC's first HTTP binding."""
    binding = bindings(method.containing_service)
    binding = next(b for b in binding if b.method.full_name == method.full_name)
    headers = dict(headers or {})
    if token:
        headers["Authorization"] = f"Bearer {token}"
    fields = transcode.codec_for(method.input_type).to_dict(request)
    if binding.body == "*":
        return client.request(binding.verb, binding.path, json=fields, headers=headers)
    if binding.body:
        data = fields.pop(binding.body, "")
        return client.request(
            binding.verb,
            binding.path,
            params=fields,
            content=request.data if data else b"",
            headers=headers,
        )
    return client.request(binding.verb, binding.path, params=fields, headers=headers)


# -- the server and its users -------------------------------------------------------------


@dataclass
class Users:
    admin: str
    owner: str  # bob, who creates the protected experiment
    reader: str  # carol, read scope (READ by the default permission)
    outsider: str  # mallory, write scope, NO_PERMISSIONS on the protected experiment
    revoked: str


def create_token(server, user: str, scope: str) -> str:
    return server.cli("tokens", "create", "--user", user, "--scope", scope).strip()


def token_id_of(server, user: str) -> str:
    for line in server.cli("tokens", "list").splitlines()[1:]:
        token_id, name, *_ = line.split()
        if name == user:
            return token_id
    raise AssertionError(f"no token of {user}")


@pytest.fixture(scope="module")
def auth_server(tmp_path_factory):
    live = LiveServer(
        tmp_path_factory.mktemp("auth-server"), backend_for_tests(), extra_args=["--auth"]
    )
    live.start()
    yield live
    live.stop()


@pytest.fixture(scope="module")
def users(auth_server) -> Users:
    users = Users(
        admin=create_token(auth_server, "alice", "admin"),
        owner=create_token(auth_server, "bob", "write"),
        reader=create_token(auth_server, "carol", "read"),
        outsider=create_token(auth_server, "mallory", "write"),
        revoked=create_token(auth_server, "dave", "write"),
    )
    auth_server.cli("tokens", "revoke", token_id_of(auth_server, "dave"))
    return users


@pytest.fixture(scope="module")
def grpc_channel(auth_server):
    with auth_server.grpc_channel() as channel:
        yield channel


@pytest.fixture(scope="module")
def http(auth_server):
    with httpx.Client(base_url=auth_server.http_url, timeout=30) as client:
        yield client


def _rpc(name: str) -> MethodDescriptor:
    return next(m for m in METHODS if m.name == name)


def _call(channel, rpc_name: str, token: str, **fields):
    method = _rpc(rpc_name)
    request = message_factory.GetMessageClass(method.input_type)(**fields)
    return call_grpc(channel, method, request, token)


@pytest.fixture(scope="module")
def target(grpc_channel, users) -> Target:
    """Bob's experiment with a run holding a metric, a param, a tag and an artifact;
    mallory is refused everything on it."""
    name = f"bob-{time.monotonic_ns()}"
    experiment_id = _call(grpc_channel, "CreateExperiment", users.owner, name=name).experiment_id
    run_id = _call(
        grpc_channel, "CreateRun", users.owner, experiment_id=experiment_id
    ).run.info.run_id
    _call(
        grpc_channel,
        "LogBatch",
        users.owner,
        run_id=run_id,
        metrics=[pb.Metric(key="m", value=1.0, timestamp=1, step=0)],
        params=[pb.Param(key="p", value="1")],
        tags=[pb.RunTag(key="k", value="original")],
    )
    _call(
        grpc_channel,
        "SetExperimentTag",
        users.owner,
        experiment_id=experiment_id,
        key="k",
        value="v",
    )
    call_grpc(
        grpc_channel,
        _rpc("UploadArtifact"),
        artifact_service_pb2.UploadArtifactRequest(run_id=run_id, path="a.txt", data=b"kept"),
        users.owner,
    )
    for user in ("mallory", "someone"):
        _call(
            grpc_channel,
            "CreateExperimentPermission",
            users.owner,
            experiment_id=experiment_id,
            username=user,
            permission=pb.PERMISSION_NO_PERMISSIONS,
        )
    return Target(experiment_id, name, run_id)


def snapshot(channel, users: Users, target: Target) -> tuple:
    """Everything a refused call could have changed, read with the admin token."""
    admin = users.admin
    experiment = _call(channel, "GetExperiment", admin, experiment_id=target.experiment_id)
    run = _call(channel, "GetRun", admin, run_id=target.run_id)
    history = _call(channel, "GetMetricHistory", admin, run_id=target.run_id, metric_key="m")
    files = call_grpc(
        channel,
        _rpc("ListArtifacts"),
        artifact_service_pb2.ListArtifactsRequest(run_id=target.run_id),
        admin,
    )
    grant = _call(
        channel,
        "GetExperimentPermission",
        admin,
        experiment_id=target.experiment_id,
        username="someone",
    )
    runs = _call(channel, "SearchRuns", admin, experiment_ids=[target.experiment_id])
    experiments = _call(channel, "SearchExperiments", admin, view_type=pb.VIEW_TYPE_ALL)
    return (
        experiment.SerializeToString(deterministic=True),
        run.SerializeToString(deterministic=True),
        history.SerializeToString(deterministic=True),
        files.SerializeToString(deterministic=True),
        grant.SerializeToString(deterministic=True),
        len(runs.runs),
        len(experiments.experiments),
    )


def _expect_grpc(channel, method, request, token, code: grpc.StatusCode) -> None:
    with pytest.raises(grpc.RpcError) as caught:
        call_grpc(channel, method, request, token)
    assert caught.value.code() == code, (method.name, caught.value.details())


def _expect_http(http, method, request, token, code: grpc.StatusCode) -> None:
    response = call_http(http, method, request, token)
    assert response.status_code == _HTTP_STATUS[code], (method.name, response.text)
    assert response.json()["error_code"] == code.name, (method.name, response.text)


WRITES = [
    m for m in METHODS if not m.name.startswith(("Get", "Search", "List", "Download", "Stream"))
]
# RPCs aimed at an experiment or a run (the others create or search).
TARGETED = [
    m for m in METHODS if m.name not in ("CreateExperiment", "SearchExperiments", "SearchRuns")
]


@pytest.mark.parametrize("wire", ["grpc", "http"])
def test_every_rpc_is_refused_and_nothing_changes(wire, grpc_channel, http, users, target):
    before = snapshot(grpc_channel, users, target)
    expect = _expect_grpc if wire == "grpc" else _expect_http
    client = grpc_channel if wire == "grpc" else http
    served = METHODS if wire == "grpc" else HTTP_METHODS
    unauthenticated = grpc.StatusCode.UNAUTHENTICATED
    denied = grpc.StatusCode.PERMISSION_DENIED
    for method in served:
        request = build_request(method, target)
        expect(client, method, request, None, unauthenticated)
        expect(client, method, request, users.revoked, unauthenticated)
        expect(client, method, request, "tw_not-a-token", unauthenticated)
    for method in WRITES:
        if method in served:
            expect(client, method, build_request(method, target), users.reader, denied)
    for method in TARGETED:
        if method in served:
            expect(client, method, build_request(method, target), users.outsider, denied)
    if wire == "http":
        # MLflow's artifact proxy API, which is not an RPC of its own.
        proxy = (
            "/api/2.0/mlflow-artifacts/artifacts/"
            f"{target.experiment_id}/{target.run_id}/artifacts/a.txt"
        )
        for verb in ("GET", "PUT", "DELETE"):
            for token, status in ((None, 401), (users.revoked, 401), (users.outsider, 403)):
                headers = {"Authorization": f"Bearer {token}"} if token else {}
                response = http.request(verb, proxy, content=b"overwritten", headers=headers)
                assert response.status_code == status, (verb, response.text)
        for verb in ("PUT", "DELETE"):
            headers = {"Authorization": f"Bearer {users.reader}"}
            response = http.request(verb, proxy, content=b"overwritten", headers=headers)
            assert response.status_code == 403, (verb, response.text)
    assert snapshot(grpc_channel, users, target) == before


def test_searches_show_only_readable_experiments_and_runs(grpc_channel, http, users, target):
    experiments = _call(grpc_channel, "SearchExperiments", users.outsider)
    assert target.experiment_id not in {e.experiment_id for e in experiments.experiments}
    runs = _call(grpc_channel, "SearchRuns", users.outsider, experiment_ids=[target.experiment_id])
    assert list(runs.runs) == []
    body = http.post(
        "/api/2.0/mlflow/runs/search",
        json={"experiment_ids": [target.experiment_id]},
        headers={"Authorization": f"Bearer {users.outsider}"},
    ).json()
    assert body.get("runs", []) == []
    # The reader (default permission READ) sees them; the admin sees everything.
    for token in (users.reader, users.admin):
        found = _call(grpc_channel, "SearchRuns", token, experiment_ids=[target.experiment_id])
        assert [r.info.run_id for r in found.runs] == [target.run_id]


def test_search_experiments_pages_skip_unreadable_ones(grpc_channel, users):
    prefix = f"paged-{time.monotonic_ns()}"
    ids = [
        _call(grpc_channel, "CreateExperiment", users.owner, name=f"{prefix}-{i}").experiment_id
        for i in range(5)
    ]
    for hidden in ids[1::2]:
        _call(
            grpc_channel,
            "CreateExperimentPermission",
            users.owner,
            experiment_id=hidden,
            username="mallory",
            permission=pb.PERMISSION_NO_PERMISSIONS,
        )
    seen, token = [], ""
    while True:
        page = _call(
            grpc_channel,
            "SearchExperiments",
            users.outsider,
            filter=f"name LIKE '{prefix}-%'",
            max_results=1,
            page_token=token,
        )
        seen += [e.experiment_id for e in page.experiments]
        token = page.next_page_token
        if not token:
            break
    assert sorted(seen) == sorted(ids[0::2])


def test_run_user_comes_from_the_token(grpc_channel, http, users, target):
    run = _call(
        grpc_channel,
        "CreateRun",
        users.owner,
        experiment_id=target.experiment_id,
        user_id="eve",
        tags=[pb.RunTag(key="mlflow.user", value="eve")],
    ).run
    assert run.info.user_id == "bob"
    assert {t.key: t.value for t in run.data.tags}["mlflow.user"] == "bob"
    with pytest.raises(grpc.RpcError) as caught:
        _call(
            grpc_channel,
            "SetTag",
            users.owner,
            run_id=run.info.run_id,
            key="mlflow.user",
            value="eve",
        )
    assert caught.value.code() == grpc.StatusCode.PERMISSION_DENIED
    created = http.post(
        "/api/2.0/mlflow/runs/create",
        json={"experiment_id": target.experiment_id, "user_id": "eve"},
        headers={"Authorization": f"Bearer {users.owner}"},
    )
    assert created.json()["run"]["info"]["user_id"] == "bob"


def test_creator_manages_and_grants(grpc_channel, users):
    experiment_id = _call(
        grpc_channel, "CreateExperiment", users.outsider, name=f"mallory-{time.monotonic_ns()}"
    ).experiment_id
    grant = _call(
        grpc_channel,
        "GetExperimentPermission",
        users.outsider,
        experiment_id=experiment_id,
        username="mallory",
    ).experiment_permission
    assert grant.permission == pb.PERMISSION_MANAGE
    # Bob may read it (default READ) but not write until mallory grants EDIT.
    with pytest.raises(grpc.RpcError) as caught:
        _call(grpc_channel, "CreateRun", users.owner, experiment_id=experiment_id)
    assert caught.value.code() == grpc.StatusCode.PERMISSION_DENIED
    _call(
        grpc_channel,
        "CreateExperimentPermission",
        users.outsider,
        experiment_id=experiment_id,
        username="bob",
        permission=pb.PERMISSION_EDIT,
    )
    _call(grpc_channel, "CreateRun", users.owner, experiment_id=experiment_id)
    # EDIT is not MANAGE: bob cannot delete it.
    with pytest.raises(grpc.RpcError) as caught:
        _call(grpc_channel, "DeleteExperiment", users.owner, experiment_id=experiment_id)
    assert caught.value.code() == grpc.StatusCode.PERMISSION_DENIED


def test_health_is_open_and_mlflow_basic_auth_works(auth_server, http, users, target):
    assert http.get("/health").status_code == 200
    response = http.get(
        "/api/2.0/mlflow/experiments/get",
        params={"experiment_id": target.experiment_id},
        auth=("carol", users.reader),
    )
    assert response.status_code == 200, response.text
    assert response.json()["experiment"]["name"] == target.experiment_name
    proxy = (
        "/api/2.0/mlflow-artifacts/artifacts/"
        f"{target.experiment_id}/{target.run_id}/artifacts/a.txt"
    )
    assert http.get(proxy, headers={"Authorization": f"Bearer {users.reader}"}).content == b"kept"
    refused = http.get(proxy, headers={"Authorization": f"Bearer {users.outsider}"})
    assert refused.status_code == 403
    assert http.get(proxy).status_code == 401


def test_revocation_takes_effect_within_seconds(auth_server, grpc_channel, users, target):
    token = create_token(auth_server, "erin", "read")
    _call(grpc_channel, "GetExperiment", token, experiment_id=target.experiment_id)  # cached now
    auth_server.cli("tokens", "revoke", token_id_of(auth_server, "erin"))
    deadline = time.monotonic() + 30
    while True:
        try:
            _call(grpc_channel, "GetExperiment", token, experiment_id=target.experiment_id)
        except grpc.RpcError as error:
            assert error.code() == grpc.StatusCode.UNAUTHENTICATED
            break
        assert time.monotonic() < deadline, "revoked token still accepted"
        time.sleep(0.2)


def test_revocation_ends_an_open_log_batch_stream(auth_server, grpc_channel, target):
    """A stream outlives a token's check: every batch on it is checked anew."""
    token = create_token(auth_server, "gina", "admin")
    method = _rpc("LogBatchStream")
    requests: queue.SimpleQueue = queue.SimpleQueue()
    responses = grpc_channel.stream_stream(
        _method_path(method),
        request_serializer=lambda m: m.SerializeToString(),
        response_deserializer=tracking_service_pb2.LogBatchStreamResponse.FromString,
    )(iter(requests.get, None), metadata=[("authorization", f"Bearer {token}")], timeout=60)
    batch = build_request(method, target)
    requests.put(batch)
    next(responses)
    auth_server.cli("tokens", "revoke", token_id_of(auth_server, "gina"))
    deadline = time.monotonic() + 30
    try:
        while True:
            requests.put(batch)
            try:
                next(responses)
            except grpc.RpcError as error:
                assert error.code() == grpc.StatusCode.UNAUTHENTICATED
                break
            assert time.monotonic() < deadline, "revoked token still accepted on the stream"
            time.sleep(0.2)
    finally:
        requests.put(None)


def test_permission_rpcs_on_mlflow_rest_paths(http, grpc_channel, users):
    name = f"grants-{time.monotonic_ns()}"
    experiment_id = _call(grpc_channel, "CreateExperiment", users.owner, name=name).experiment_id
    bob = {"Authorization": f"Bearer {users.owner}"}
    root = "/api/2.0/mlflow/experiments/permissions"
    grant = {"experiment_id": experiment_id, "username": "carol", "permission": "EDIT"}
    created = http.post(f"{root}/create", json=grant, headers=bob)
    assert created.status_code == 200, created.text
    assert created.json()["experiment_permission"] == grant
    assert http.post(f"{root}/create", json=grant, headers=bob).status_code == 400  # exists
    query = {"experiment_id": experiment_id, "username": "carol"}
    grant["permission"] = "MANAGE"
    assert http.patch(f"{root}/update", json=grant, headers=bob).status_code == 200
    got = http.get(f"{root}/get", params=query, headers=bob).json()
    assert got["experiment_permission"]["permission"] == "MANAGE"
    # Carol (read scope) manages it now, but her token cannot write.
    carol = {"Authorization": f"Bearer {users.reader}"}
    assert http.get(f"{root}/get", params=query, headers=carol).status_code == 200
    assert http.request("DELETE", f"{root}/delete", json=query, headers=carol).status_code == 403
    assert http.request("DELETE", f"{root}/delete", json=query, headers=bob).status_code == 200
    assert http.get(f"{root}/get", params=query, headers=bob).status_code == 404
