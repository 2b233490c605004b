"""LogBatchStream: batches over one stream, each answered once stored; a failed batch ends
the stream with its error and stores nothing; the Python client's log_batch goes over it,
reopening streams as needed; a server that stops ends idle streams and loses no batch."""

from __future__ import annotations

import queue
import signal
from concurrent.futures import ThreadPoolExecutor

import grpc
import pytest
from server_process import LiveServer, backend_for_tests

from trackwire import errors
from trackwire.client import TrackingClient
from trackwire.client._batch_streams import stream_request_bytes
from trackwire.v1 import entities_pb2 as pb
from trackwire.v1 import tracking_service_pb2 as rpc

LOG_BATCH_STREAM = "/trackwire.v1.TrackingService/LogBatchStream"
_SERIALIZE = rpc.LogBatchStreamRequest.SerializeToString


def _batch(run_id: str, steps, key: str = "loss", **fields) -> rpc.LogBatchStreamRequest:
    metrics = [pb.Metric(key=key, value=s / 2, timestamp=1, step=s) for s in steps]
    return rpc.LogBatchStreamRequest(
        batch=rpc.LogBatchRequest(run_id=run_id, metrics=metrics, **fields)
    )


class _OpenStream:
    """A raw LogBatchStream call that sends one request at a time, as the client does."""

    def __init__(self, channel: grpc.Channel, serializer=_SERIALIZE):
        self._requests: queue.SimpleQueue = queue.SimpleQueue()
        call = channel.stream_stream(
            LOG_BATCH_STREAM,
            request_serializer=serializer,
            response_deserializer=rpc.LogBatchStreamResponse.FromString,
        )
        self.responses = call(iter(self._requests.get, None), timeout=30)

    def send(self, request) -> rpc.LogBatchStreamResponse:
        self._requests.put(request)
        return next(self.responses)

    def close(self) -> None:
        self._requests.put(None)


@pytest.fixture
def run_id(tracking) -> str:
    return tracking.CreateRun(rpc.CreateRunRequest(experiment_id="0")).run.info.run_id


def _steps(tracking, run_id: str, key: str = "loss") -> list[int]:
    history = tracking.GetMetricHistory(rpc.GetMetricHistoryRequest(run_id=run_id, metric_key=key))
    return [m.step for m in history.metrics]


@pytest.mark.parametrize("points", [0, 1, 3, 100, 1000])
def test_the_client_encodes_stream_requests_as_protobuf_does(points):
    request = _batch("a" * 32, range(points), params=[pb.Param(key="lr", value="0.1")])
    assert stream_request_bytes(request.batch) == request.SerializeToString()


def test_batches_on_one_stream_are_stored_before_each_answer(channel, tracking, run_id):
    stream = _OpenStream(channel)
    for batch in range(3):
        steps = range(batch * 10, (batch + 1) * 10)
        assert stream.send(_batch(run_id, steps)) == rpc.LogBatchStreamResponse()
        assert _steps(tracking, run_id) == list(range((batch + 1) * 10))
    stream.close()
    assert list(stream.responses) == []  # the client's half-close ends the call with OK
    assert stream.responses.code() == grpc.StatusCode.OK


@pytest.mark.parametrize(
    ("bad", "code"),
    [
        (lambda run_id: _batch("0" * 32, [1]), grpc.StatusCode.NOT_FOUND),
        # Valid metrics, then a param that changes a logged value: the whole batch is refused.
        (
            lambda run_id: _batch(run_id, [100, 101], params=[pb.Param(key="lr", value="0.2")]),
            grpc.StatusCode.INVALID_ARGUMENT,
        ),
        (lambda run_id: _batch(run_id, [100], key=""), grpc.StatusCode.INVALID_ARGUMENT),
    ],
)
def test_a_failed_batch_ends_the_stream_and_stores_nothing(channel, tracking, run_id, bad, code):
    stream = _OpenStream(channel)
    stream.send(_batch(run_id, range(3), params=[pb.Param(key="lr", value="0.1")]))
    with pytest.raises(grpc.RpcError) as failed:
        stream.send(bad(run_id))
    assert failed.value.code() == code
    assert failed.value.details()
    stream.close()
    assert _steps(tracking, run_id) == [0, 1, 2]
    # The server goes on serving, on a new stream.
    again = _OpenStream(channel)
    again.send(_batch(run_id, [3]))
    again.close()
    assert _steps(tracking, run_id) == [0, 1, 2, 3]


def test_a_malformed_request_is_invalid_argument(channel, tracking, run_id):
    stream = _OpenStream(channel, serializer=lambda raw: raw)
    stream.send(_batch(run_id, [0]).SerializeToString())
    with pytest.raises(grpc.RpcError) as failed:
        stream.send(b"\x0a\xff\xff\xff\xff\x0f")  # a field longer than the message
    assert failed.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "Malformed request message" in failed.value.details()
    stream.close()
    assert _steps(tracking, run_id) == [0]


def test_client_log_batch_from_many_threads_with_failures_between(server, tracking):
    """Each thread's batches go over a stream; a failed batch costs its stream, and the
    thread's next batch opens another."""
    with TrackingClient(server.tracking_uri) as client:
        runs = [client.create_run("0").info.run_id for _ in range(4)]

        def write(run_id: str) -> None:
            for batch in range(10):
                steps = range(batch * 20, (batch + 1) * 20)
                client.log_batch(run_id, [pb.Metric(key="loss", value=1, step=s) for s in steps])
                with pytest.raises(errors.NotFound):
                    client.log_batch("0" * 32, [pb.Metric(key="loss", value=1, step=0)])

        with ThreadPoolExecutor(4) as pool:
            list(pool.map(write, runs))
    for run_id in runs:
        assert _steps(tracking, run_id) == list(range(200))


def test_stopping_server_ends_idle_streams_and_no_batch_is_lost(tmp_path):
    """SIGTERM with streams open: the server ends each idle one with OK (not cancelled after
    its grace period: a batch sent then was not read) and exits 0. The client's next batch,
    sent while the server is down, is retried until it is back, and is stored once."""
    live = LiveServer(tmp_path, backend_for_tests()).start()
    client = TrackingClient(live.tracking_uri)
    try:
        run_id = client.create_run("0").info.run_id
        client.log_batch(run_id, [pb.Metric(key="loss", value=1, step=0)])  # its stream stays
        with live.grpc_channel() as channel:
            raw = _OpenStream(channel)
            raw.send(_batch(run_id, [1]))
            assert live.stop(signal.SIGTERM) == 0
            assert list(raw.responses) == []
            assert raw.responses.code() == grpc.StatusCode.OK
        with ThreadPoolExecutor(1) as pool:
            later = pool.submit(client.log_batch, run_id, [pb.Metric(key="loss", value=1, step=2)])
            live.start(same_ports=True)
            later.result(timeout=30)
        assert [m.step for m in client.get_metric_history(run_id, "loss")] == [0, 1, 2]
    finally:
        client.close()
        live.stop()
