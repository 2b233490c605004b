"""The model registry over both wires, through the native client, and its per-model
permissions on a server with --auth."""

from __future__ import annotations

import httpx
import pytest
from server_process import LiveServer, backend_for_tests

from trackwire import errors
from trackwire.client import TrackingClient
from trackwire.v1 import model_registry_service_pb2 as reg


@pytest.fixture(params=["grpc", "http"])
def client(request, server):
    uri = f"grpc://{server.grpc_target}" if request.param == "grpc" else server.http_url
    with TrackingClient(uri) as c:
        yield c


def test_register_search_and_fetch(client, unique):
    experiment_id = client.create_experiment(unique)
    run_id = client.create_run(experiment_id).info.run_id
    first = client.register_model(f"runs:/{run_id}/model", unique)
    second = client.register_model(f"runs:/{run_id}/model", unique)
    assert (first.version, second.version) == ("1", "2")
    assert first.run_id == run_id
    assert first.status == reg.MODEL_VERSION_STATUS_READY

    client.transition_model_version_stage(unique, 1, "Staging")
    client.transition_model_version_stage(unique, 2, "staging", archive_existing_versions=True)
    assert client.get_model_version(unique, 1).current_stage == "Archived"
    assert [v.version for v in client.get_latest_versions(unique, ["Staging"])] == ["2"]

    client.set_registered_model_alias(unique, "champion", 1)
    assert client.get_model_version_by_alias(unique, "champion").version == "1"
    model = client.get_registered_model(unique)
    assert [(a.alias, a.version) for a in model.aliases] == [("champion", "1")]
    assert client.get_model_version_download_uri(unique, 2).endswith(f"/{run_id}/artifacts/model")

    page = client.search_registered_models(f"name = '{unique}'")
    assert [m.name for m in page] == [unique]
    versions = client.search_model_versions(f"name = '{unique}'", max_results=1)
    assert len(versions) == 1 and versions.token
    rest = client.search_model_versions(f"name = '{unique}'", page_token=versions.token)
    assert {v.version for v in [*versions, *rest]} == {"1", "2"}


def test_mistakes_are_client_errors(client, unique):
    with pytest.raises(errors.NotFound):
        client.get_registered_model(unique)
    client.create_registered_model(unique)
    with pytest.raises(errors.AlreadyExists):
        client.create_registered_model(unique)
    with pytest.raises(errors.NotFound):
        client.get_model_version(unique, 1)
    with pytest.raises(errors.InvalidArgument):
        client.get_model_version(unique, "one")
    with pytest.raises(errors.NotFound):
        client.create_model_version(unique, "runs:/nope/model", run_id="nope")
    with pytest.raises(errors.InvalidArgument, match="must identify the resource"):
        client.create_model_version(unique, "runs:/0123456789abcdef/model", run_id="nope")
    version = client.create_model_version(unique, "s3://bucket/model")
    with pytest.raises(errors.InvalidArgument):
        client.transition_model_version_stage(unique, version.version, "Shipped")
    with pytest.raises(errors.InvalidArgument):
        client.set_registered_model_alias(unique, "latest", version.version)
    with pytest.raises(errors.InvalidArgument):
        client.search_registered_models("metrics.acc > 1")
    with pytest.raises(errors.InvalidArgument):
        client.search_registered_models(page_token="not-a-token")
    assert client.get_model_version(unique, version.version).current_stage == "None"


# -- permissions (--auth) -----------------------------------------------------------------


@pytest.fixture(scope="module")
def auth_server(tmp_path_factory):
    live = LiveServer(
        tmp_path_factory.mktemp("registry-auth"), backend_for_tests(), extra_args=["--auth"]
    )
    live.start()
    yield live
    live.stop()


def _token(server, user: str, scope: str) -> str:
    return server.cli("tokens", "create", "--user", user, "--scope", scope).strip()


def _api(server, token: str):
    return httpx.Client(
        base_url=server.http_url + "/api/2.0/mlflow",
        headers={"Authorization": f"Bearer {token}"},
    )


def test_model_permissions(auth_server, unique):
    owner = _api(auth_server, _token(auth_server, "bob", "write"))
    other = _api(auth_server, _token(auth_server, "mallory", "write"))
    reader = _api(auth_server, _token(auth_server, "carol", "read"))
    name = {"name": unique}

    created = owner.post("/registered-models/create", json=name)
    assert created.status_code == 200, created.text
    assert created.json()["registered_model"]["user_id"] == "bob"

    # Others read with the default permission (READ) but may not edit or delete.
    assert other.get("/registered-models/get", params=name).status_code == 200
    update = {**name, "description": "changed"}
    refused = other.patch("/registered-models/update", json=update)
    assert refused.status_code == 403
    assert refused.json()["error_code"] == "PERMISSION_DENIED"
    assert reader.patch("/registered-models/update", json=update).status_code == 403
    assert other.request("DELETE", "/registered-models/delete", json=name).status_code == 403

    # The creator manages the model: grants EDIT; the grant allows edits, not deletes.
    grant = {**name, "username": "mallory", "permission": "EDIT"}
    assert other.post("/registered-models/permissions/create", json=grant).status_code == 403
    granted = owner.post("/registered-models/permissions/create", json=grant)
    assert granted.status_code == 200, granted.text
    assert granted.json()["registered_model_permission"]["permission"] == "EDIT"
    fetched = owner.get(
        "/registered-models/permissions/get", params={**name, "username": "mallory"}
    )
    assert fetched.json()["registered_model_permission"]["permission"] == "EDIT"
    assert other.patch("/registered-models/update", json=update).status_code == 200
    assert other.request("DELETE", "/registered-models/delete", json=name).status_code == 403

    # NO_PERMISSIONS hides the model from gets and searches.
    revoke = {**grant, "permission": "NO_PERMISSIONS"}
    assert owner.patch("/registered-models/permissions/update", json=revoke).status_code == 200
    assert other.get("/registered-models/get", params=name).status_code == 403
    found = other.get("/registered-models/search", params={"filter": f"name = '{unique}'"})
    assert found.json().get("registered_models", []) == []
    found = owner.get("/registered-models/search", params={"filter": f"name = '{unique}'"})
    assert [m["name"] for m in found.json()["registered_models"]] == [unique]

    assert owner.request("DELETE", "/registered-models/delete", json=name).status_code == 200


def test_mlflow_shaped_client_and_fluent_register(server, unique):
    import trackwire
    from trackwire import MlflowClient

    client = MlflowClient(server.http_url)
    experiment_id = client.create_experiment(unique)
    run_id = client.create_run(experiment_id).info.run_id
    trackwire.set_tracking_uri(server.tracking_uri)
    try:
        registered = trackwire.register_model(f"runs:/{run_id}/model", unique)
    finally:
        trackwire.set_tracking_uri(None)
    assert (registered.name, registered.version, registered.status) == (unique, "1", "READY")

    client.set_registered_model_alias(unique, "champion", "1")
    model = client.get_registered_model(unique)
    assert model.aliases == {"champion": "1"}
    assert [v.version for v in model.latest_versions] == ["1"]
    assert client.get_model_version_by_alias(unique, "champion").run_id == run_id
    found = client.search_registered_models(f"name = '{unique}'")
    assert [m.name for m in found] == [unique] and found.token is None
    versions = client.search_model_versions(f"run_id = '{run_id}'")
    assert [(v.name, v.version, v.aliases) for v in versions] == [(unique, "1", ["champion"])]
    client.close()


@pytest.mark.parametrize(
    "call",
    [
        lambda c, name: c.get_model_version(name, "abc"),
        lambda c, name: c.create_registered_model(name + "\x00"),
        lambda c, name: c.create_model_version(name, "s3://b/m", description="a\x00b"),
        lambda c, name: c.search_model_versions(page_token="eyJvZmZzZXQiOiAxZTMwMH0="),
        lambda c, name: c.search_registered_models(max_results=10**6),
        lambda c, name: c.search_registered_models(order_by=["metrics.acc"]),
    ],
)
def test_hostile_values_are_invalid_arguments(client, unique, call):
    client.create_registered_model(unique)
    with pytest.raises(errors.InvalidArgument):
        call(client, unique)
    assert client.get_registered_model(unique).name == unique


@pytest.mark.parametrize("version", ["0", "-1", "99999999999999999999"])
def test_versions_no_model_can_have_are_not_found(client, unique, version):
    """Integers beyond the versions' range are versions that do not exist, as in MLflow."""
    client.create_registered_model(unique)
    with pytest.raises(errors.NotFound):
        client.get_model_version(unique, version)


def test_model_permissions_over_grpc(auth_server, unique, monkeypatch):
    """The same guard on the native wire: the creator manages, others read only."""
    monkeypatch.setenv("TRACKWIRE_TOKEN", _token(auth_server, "erin", "write"))
    owner = TrackingClient(f"grpc://{auth_server.grpc_target}")
    monkeypatch.setenv("TRACKWIRE_TOKEN", _token(auth_server, "frank", "write"))
    other = TrackingClient(f"grpc://{auth_server.grpc_target}")
    with owner, other:
        owner.create_registered_model(unique)
        owner.create_model_version(unique, "s3://bucket/model")
        assert other.get_model_version(unique, 1).version == "1"
        with pytest.raises(errors.PermissionDenied):
            other.create_model_version(unique, "s3://bucket/other")
        with pytest.raises(errors.PermissionDenied):
            other.set_registered_model_alias(unique, "champion", 1)
        owner.set_registered_model_alias(unique, "champion", 1)
        assert [m.name for m in other.search_registered_models(f"name = '{unique}'")] == [unique]
