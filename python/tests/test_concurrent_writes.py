"""Many clients at once on both wires, each on a connection of its own: every acknowledged
point is stored once and in order, failing calls fail alone, and readers see whole batches.

On SQLite a quick write runs on the wire's event loop when the store's write lock is free
and in a worker thread when it is not; this load makes both happen.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import grpc
import httpx
import pytest

from trackwire.v1 import entities_pb2 as pb
from trackwire.v1 import tracking_service_pb2 as rpc
from trackwire.v1 import tracking_service_pb2_grpc as rpc_grpc

BATCHES = 15
SIZE = 100  # points per batch
GRPC_WRITERS = 6
REST_WRITERS = 3
READERS = 2


def _value(step: int) -> float:
    return step / 7


def _grpc_writer(target: str, run_id: str) -> None:
    with grpc.insecure_channel(target) as channel:
        tracking = rpc_grpc.TrackingServiceStub(channel)
        for batch in range(BATCHES):
            steps = range(batch * SIZE, (batch + 1) * SIZE)
            metrics = [pb.Metric(key="loss", value=_value(s), timestamp=s, step=s) for s in steps]
            tracking.LogBatch(rpc.LogBatchRequest(run_id=run_id, metrics=metrics))
            with pytest.raises(grpc.RpcError) as failed:  # an unknown run, between good calls
                tracking.LogBatch(rpc.LogBatchRequest(run_id="0" * 32, metrics=metrics[:1]))
            assert failed.value.code() == grpc.StatusCode.NOT_FOUND


def _rest_writer(base_url: str, run_id: str) -> None:
    with httpx.Client(base_url=base_url + "/api/2.0/mlflow") as http:
        for batch in range(BATCHES):
            steps = range(batch * SIZE, (batch + 1) * SIZE)
            metrics = [
                {"key": "loss", "value": _value(s), "timestamp": s, "step": s} for s in steps
            ]
            good = http.post("/runs/log-batch", json={"run_id": run_id, "metrics": metrics})
            assert good.status_code == 200, good.text
            bad = http.post("/runs/log-batch", json={"run_id": run_id, "params": [{"key": ""}]})
            assert bad.status_code == 400, bad.text


def _reader(target: str, run_id: str, points: int) -> int:
    """Streams a history while the writers run; returns how many reads saw it whole."""
    whole = 0
    with grpc.insecure_channel(target) as channel:
        tracking = rpc_grpc.TrackingServiceStub(channel)
        for _ in range(BATCHES):
            request = rpc.StreamMetricHistoryRequest(run_id=run_id, metric_key="seed")
            chunks = tracking.StreamMetricHistory(request)
            assert [m.step for chunk in chunks for m in chunk.metrics] == list(range(points))
            whole += 1
    return whole


@pytest.fixture
def runs(tracking, unique) -> list[str]:
    experiment_id = tracking.CreateExperiment(
        rpc.CreateExperimentRequest(name=unique)
    ).experiment_id
    create = rpc.CreateRunRequest(experiment_id=experiment_id, start_time=1)
    return [tracking.CreateRun(create).run.info.run_id for _ in range(GRPC_WRITERS + REST_WRITERS)]


def test_writers_and_readers_at_once(server, tracking, runs):
    seeded = tracking.CreateRun(rpc.CreateRunRequest(experiment_id="0")).run.info.run_id
    for start in range(0, 3000, 1000):
        seed = [
            pb.Metric(key="seed", value=1.0, timestamp=s, step=s)
            for s in range(start, start + 1000)
        ]
        tracking.LogBatch(rpc.LogBatchRequest(run_id=seeded, metrics=seed))

    with ThreadPoolExecutor(GRPC_WRITERS + REST_WRITERS + READERS) as pool:
        work = [pool.submit(_grpc_writer, server.grpc_target, r) for r in runs[:GRPC_WRITERS]]
        work += [pool.submit(_rest_writer, server.http_url, r) for r in runs[GRPC_WRITERS:]]
        reads = [pool.submit(_reader, server.grpc_target, seeded, 3000) for _ in range(READERS)]
        for done in work:
            done.result()
        assert sum(read.result() for read in reads) == READERS * BATCHES

    points = BATCHES * SIZE
    for run_id in runs:
        request = rpc.StreamMetricHistoryRequest(run_id=run_id, metric_key="loss")
        history = [m for chunk in tracking.StreamMetricHistory(request) for m in chunk.metrics]
        assert [m.step for m in history] == list(range(points)), run_id
        assert [m.value for m in history] == [_value(s) for s in range(points)]
        run = tracking.GetRun(rpc.GetRunRequest(run_id=run_id)).run
        assert [(m.step, m.value) for m in run.data.metrics] == [(points - 1, _value(points - 1))]


def test_abandoned_streams_leave_the_server_serving(server, tracking, runs):
    """A stream the client cancels, or whose deadline passes, mid-way: its chunks were being
    produced in a worker thread; the server goes on answering on the loop and in threads."""
    run_id = runs[0]
    for start in range(0, 25_000, 1000):
        metrics = [
            pb.Metric(key="m", value=1.0, timestamp=s, step=s) for s in range(start, start + 1000)
        ]
        tracking.LogBatch(rpc.LogBatchRequest(run_id=run_id, metrics=metrics))
    request = rpc.StreamMetricHistoryRequest(run_id=run_id, metric_key="m")

    stream = tracking.StreamMetricHistory(request)
    assert len(next(stream).metrics) > 0
    stream.cancel()
    with pytest.raises(grpc.RpcError) as cancelled:
        list(stream)
    assert cancelled.value.code() == grpc.StatusCode.CANCELLED
    with pytest.raises(grpc.RpcError) as late:
        list(tracking.StreamMetricHistory(request, timeout=0.001))
    assert late.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED

    tracking.LogMetric(
        rpc.LogMetricRequest(run_id=run_id, key="m", value=2.0, timestamp=1, step=25_000)
    )
    chunks = list(tracking.StreamMetricHistory(request))
    assert len(chunks) > 1
    assert [m.step for chunk in chunks for m in chunk.metrics] == list(range(25_001))
