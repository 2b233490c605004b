"""Which failures the client retries: UNAVAILABLE (with backoff, the same request id each
time) for the RPCs the schema says are safe to repeat, never a refusal such as
RESOURCE_EXHAUSTED, which a retry cannot cure. Every transport failure is a trackwire error."""

from __future__ import annotations

import time
import uuid

import pytest
from server_process import LiveServer, free_port
from tcp_relay import Relay

from trackwire import errors
from trackwire.client import TrackingClient, _retry, retried_rpcs
from trackwire.rpc_policy import SERVICES, Retry, policy_of
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


@pytest.fixture
def relay(server):
    """A relay in front of the shared server's HTTP port."""
    relay = Relay(server.http_port)
    yield relay
    relay.close()


def test_the_retried_rpcs_are_the_schemas():
    safe = {Retry.RETRY_SAFE, Retry.RETRY_WITH_REQUEST_ID}
    expected = {m.name for s in SERVICES for m in s.methods if policy_of(m).retry in safe}
    assert set(retried_rpcs()) == expected
    assert {"GetRun", "LogBatch", "LogMetric", "CreateRun"} <= expected
    assert "CreateExperiment" not in expected


@pytest.mark.parametrize("wire", ["grpc", "http"])
def test_unavailable_is_retried_with_backoff(wire, sleeps):
    with TrackingClient(f"{wire}://127.0.0.1:{free_port()}") as client:
        with pytest.raises(errors.Unavailable):
            client.log_metric("some-run", "m", 1.0)
    assert sleeps == list(_retry.RETRY_DELAYS_SECONDS)
    assert max(sleeps) <= 0.5  # a server back after an outage is tried again within 0.5 s


@pytest.mark.parametrize("wire", ["grpc", "http"])
def test_a_call_unsafe_to_repeat_is_not_retried(wire, sleeps):
    with TrackingClient(f"{wire}://127.0.0.1:{free_port()}") as client:
        with pytest.raises(errors.Unavailable):
            client.create_experiment("never-sent")
    assert sleeps == []


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


def test_a_write_whose_answer_was_cut_short_is_stored_once(server, relay, sleeps):
    with TrackingClient(server.tracking_uri) as setup:
        run_id = setup.create_run("0").info.run_id
    with TrackingClient(f"http://127.0.0.1:{relay.port}") as client:
        relay.answers_to_cut = 1
        client.log_metric(run_id, "m", 1.0, step=1)
        relay.answers_to_cut = 1
        client.log_batch(run_id, metrics=[ent.Metric(key="m", value=2.0, timestamp=1, step=2)])
        # The answers were lost after the server stored each write: each was sent again,
        # with its idempotency key, on a new connection.
        assert sleeps == [_retry.RETRY_DELAYS_SECONDS[0]] * 2
        assert [m.step for m in client.get_metric_history(run_id, "m")] == [1, 2]


def test_a_run_whose_creation_answer_was_lost_is_created_once(server, relay, sleeps):
    with TrackingClient(server.tracking_uri) as setup:
        experiment_id = setup.create_experiment("created-once")
    with TrackingClient(f"http://127.0.0.1:{relay.port}") as client:
        relay.answers_to_cut = 1
        run = client.create_run(experiment_id, run_name="once")
        # Stored, answer lost, sent again with its key: the retry answers the same run.
        assert sleeps == [_retry.RETRY_DELAYS_SECONDS[0]]
        runs = list(client.search_runs([experiment_id]))
        assert [r.info.run_id for r in runs] == [run.info.run_id]
        assert run.info.run_name == "once"


@pytest.mark.parametrize("wire", ["grpc", "http"])
def test_a_history_stream_cut_in_the_middle_is_read_again(server, wire):
    """A server restart in the middle of a long history read: the read is safe to repeat, so
    the client reads it again from the start instead of raising (found by `make soak`)."""
    with TrackingClient(server.tracking_uri) as setup:
        run_id = setup.create_run("0").info.run_id
        points = [ent.Metric(key="loss", value=s / 7, timestamp=1, step=s) for s in range(100_000)]
        setup.log_batch(run_id, metrics=points)
    relay = Relay(server.grpc_port if wire == "grpc" else server.http_port)
    relay.bytes_until_cut = 300_000  # of an answer of more than a megabyte, on either wire
    try:
        with TrackingClient(f"{wire}://127.0.0.1:{relay.port}") as client:
            history = client.get_metric_history_columns(run_id, "loss")
    finally:
        relay.close()
    assert relay.bytes_until_cut is None  # the cut happened
    assert history.steps == list(range(100_000))
    assert history.values == [s / 7 for s in range(100_000)]


def test_an_answer_cut_short_is_a_trackwire_error(server, relay, sleeps):
    with TrackingClient(f"http://127.0.0.1:{relay.port}") as client:
        relay.answers_to_cut = 1
        with pytest.raises(errors.Unavailable):
            client.create_experiment(f"cut-{uuid.uuid4().hex}")  # not safe to repeat
    assert sleeps == []


def test_connections_are_kept_and_reused(server, relay):
    with TrackingClient(f"http://127.0.0.1:{relay.port}") as client:
        for _ in range(5):
            client.get_experiment("0")
    assert len(relay.requests) == 5
    assert relay.connections == 1


def test_http_proxy_from_the_environment(server, relay, monkeypatch):
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{relay.port}")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    with TrackingClient(server.http_url) as client:
        assert client.get_experiment("0").experiment_id == "0"
    # A proxy is sent the whole URL of each request.
    assert relay.requests == [
        f"GET {server.http_url}/api/2.0/mlflow/experiments/get?experiment_id=0 HTTP/1.1".encode()
    ]

    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    with TrackingClient(server.http_url) as client:
        client.get_experiment("0")
    assert len(relay.requests) == 1
