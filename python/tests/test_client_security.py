"""The client's TRACKWIRE_TOKEN and TLS (grpcs://, https://, TRACKWIRE_CA_CERT) against real
servers started with --auth and with --tls-cert/--tls-key."""

from __future__ import annotations

from pathlib import Path

import pytest
from server_process import LiveServer
from test_tls import make_ca_and_server_cert

from trackwire import errors
from trackwire.client import TrackingClient
from trackwire.v1 import entities_pb2 as ent


@pytest.fixture(scope="module")
def auth_server(tmp_path_factory):
    live = LiveServer(tmp_path_factory.mktemp("auth-server"), extra_args=["--auth"]).start()
    yield live
    live.stop()


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory):
    directory = tmp_path_factory.mktemp("tls-server")
    ca, cert, key = make_ca_and_server_cert(directory)
    (directory / "ca.pem").write_bytes(ca)
    live = LiveServer(directory, extra_args=["--tls-cert", cert, "--tls-key", key], tls_ca=ca)
    live.start()
    yield live
    live.stop()


@pytest.mark.parametrize("wire", ["grpc", "http"])
def test_token_from_the_environment_is_sent(auth_server, monkeypatch, wire):
    uri = auth_server.tracking_uri if wire == "grpc" else auth_server.http_url
    monkeypatch.delenv("TRACKWIRE_TOKEN", raising=False)
    with TrackingClient(uri) as anonymous, pytest.raises(errors.Unauthenticated):
        anonymous.create_experiment(f"no-token-{wire}")

    token = auth_server.cli("tokens", "create", "--user", "ada", "--scope", "write").strip()
    monkeypatch.setenv("TRACKWIRE_TOKEN", token)
    with TrackingClient(uri) as client:
        eid = client.create_experiment(f"with-token-{wire}")
        run = client.create_run(eid)
        client.log_metric(run.info.run_id, "m", 1.0)
        assert [m.value for m in client.get_metric_history(run.info.run_id, "m")] == [1.0]


@pytest.mark.parametrize("scheme", ["grpcs", "https"])
def test_tls_with_a_private_ca(tls_server, monkeypatch, tmp_path, scheme):
    port = tls_server.grpc_port if scheme == "grpcs" else tls_server.http_port
    uri = f"{scheme}://localhost:{port}"
    monkeypatch.delenv("TRACKWIRE_CA_CERT", raising=False)
    with TrackingClient(uri) as untrusting, pytest.raises(errors.Unavailable):
        untrusting.get_experiment("0")

    monkeypatch.setenv("TRACKWIRE_CA_CERT", str(tls_server.workdir / "ca.pem"))
    with TrackingClient(uri) as client:
        eid = client.create_experiment(f"over-{scheme}")
        run_id = client.create_run(eid).info.run_id
        (tmp_path / "a.txt").write_text("secret")
        client.log_artifact(run_id, tmp_path / "a.txt")
        local = client.download_artifacts(run_id, "a.txt", tmp_path / "out")
        assert Path(local).read_text() == "secret"


@pytest.mark.parametrize("wire", ["grpc", "http"])
def test_experiment_permission_helpers(auth_server, monkeypatch, wire):
    uri = auth_server.tracking_uri if wire == "grpc" else auth_server.http_url

    def client_of(user: str) -> TrackingClient:
        token = auth_server.cli("tokens", "create", "--user", user, "--scope", "write").strip()
        monkeypatch.setenv("TRACKWIRE_TOKEN", token)
        return TrackingClient(uri)

    owner_name, guest_name = f"owner-{wire}", f"guest-{wire}"
    with client_of(owner_name) as owner, client_of(guest_name) as guest:
        eid = owner.create_experiment(f"shared-{wire}")
        with pytest.raises(errors.PermissionDenied):
            guest.create_experiment_permission(eid, guest_name, "MANAGE")

        granted = owner.create_experiment_permission(eid, guest_name, "EDIT")
        assert (granted.experiment_id, granted.username, granted.permission) == (
            eid,
            guest_name,
            ent.PERMISSION_EDIT,
        )
        guest.create_run(eid)  # EDIT lets the guest log to the experiment

        owner.update_experiment_permission(eid, guest_name, "READ")
        assert owner.get_experiment_permission(eid, guest_name).permission == ent.PERMISSION_READ
        owner.delete_experiment_permission(eid, guest_name)
        with pytest.raises(errors.NotFound):
            owner.get_experiment_permission(eid, guest_name)
        with pytest.raises(errors.InvalidArgument, match="WRITE"):
            owner.create_experiment_permission(eid, guest_name, "WRITE")
