"""Which failures the client retries: UNAVAILABLE (with backoff, the same request id each
time), never a refusal such as RESOURCE_EXHAUSTED, which a retry cannot cure."""

from __future__ import annotations

import time

import pytest
from server_process import LiveServer, free_port

from trackwire import errors
from trackwire.client import TrackingClient, _transport
from trackwire.v1 import entities_pb2 as ent


@pytest.fixture(scope="module")
def quota_server(tmp_path_factory):
    live = LiveServer(
        tmp_path_factory.mktemp("quota-server"), extra_args=["--max-metric-steps-per-run", "1"]
    ).start()
    yield live
    live.stop()


@pytest.fixture
def sleeps(monkeypatch) -> list[float]:
    """The backoff delays the client waits, recorded instead of slept."""
    delays: list[float] = []
    monkeypatch.setattr(time, "sleep", delays.append)
    return delays


@pytest.mark.parametrize("wire", ["grpc", "http"])
def test_unavailable_is_retried_with_backoff(wire, sleeps):
    with TrackingClient(f"{wire}://127.0.0.1:{free_port()}") as client:
        with pytest.raises(errors.Unavailable):
            client.log_metric("some-run", "m", 1.0)
    assert sleeps == list(_transport.RETRY_DELAYS_SECONDS)


@pytest.mark.parametrize("wire", ["grpc", "http"])
def test_quota_exceeded_is_not_retried(quota_server, wire, sleeps):
    uri = quota_server.tracking_uri if wire == "grpc" else quota_server.http_url
    with TrackingClient(uri) as client:
        run_id = client.create_run(client.create_experiment(f"quota-{wire}")).info.run_id
        client.log_metric(run_id, "m", 1.0, step=0)
        with pytest.raises(errors.ResourceExhausted):
            client.log_metric(run_id, "m", 2.0, step=1)
        with pytest.raises(errors.ResourceExhausted):
            client.log_batch(run_id, metrics=[ent.Metric(key="m", value=3.0, timestamp=1, step=2)])
    assert sleeps == []
