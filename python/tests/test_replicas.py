"""Several server replicas on one PostgreSQL database serve the same data, losing nothing."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import grpc
import pytest
from server_process import LiveServer, fresh_postgres_database

from trackwire.v1 import tracking_service_pb2 as rpc
from trackwire.v1 import tracking_service_pb2_grpc

POSTGRES = os.environ.get("TRACKWIRE_TEST_POSTGRES_URI")
pytestmark = pytest.mark.skipif(
    not POSTGRES, reason="needs TRACKWIRE_TEST_POSTGRES_URI (run by `make test-python-postgres`)"
)

WRITERS, BATCHES, POINTS = 8, 40, 100

# One writer process: its own run, BATCHES LogBatch calls alternating between replicas.
WRITER = textwrap.dedent(
    """
    import sys, grpc
    from trackwire.v1 import entities_pb2 as pb, tracking_service_pb2 as rpc
    from trackwire.v1 import tracking_service_pb2_grpc as stubs
    targets, experiment_id = sys.argv[1].split(","), sys.argv[2]
    batches, points = int(sys.argv[3]), int(sys.argv[4])
    replicas = [stubs.TrackingServiceStub(grpc.insecure_channel(t)) for t in targets]
    create = rpc.CreateRunRequest(experiment_id=experiment_id)
    run_id = replicas[0].CreateRun(create).run.info.run_id
    for b in range(batches):
        metrics = [pb.Metric(key="m", value=i, step=b * points + i, timestamp=1)
                   for i in range(points)]
        batch = rpc.LogBatchRequest(run_id=run_id, metrics=metrics, request_id=f"{run_id}-{b}")
        replicas[b % 2].LogBatch(batch)
        param = rpc.LogParamRequest(run_id=run_id, key=f"p{b}", value=str(b))
        replicas[(b + 1) % 2].LogParam(param)
    print(run_id)
    """
)


def test_two_replicas_eight_writers(tmp_path):
    backend = fresh_postgres_database(POSTGRES)
    # Both replicas start at once on an empty database: migrations and the default
    # experiment must not race.
    replicas = [LiveServer(tmp_path / f"replica{i}", backend) for i in range(2)]
    for replica in replicas:
        replica.start()
    try:
        targets = ",".join(r.grpc_target for r in replicas)
        with grpc.insecure_channel(replicas[1].grpc_target) as channel:
            stub = tracking_service_pb2_grpc.TrackingServiceStub(channel)
            experiment_id = stub.CreateExperiment(
                rpc.CreateExperimentRequest(name="replicated")
            ).experiment_id
        writers = [
            subprocess.Popen(
                [sys.executable, "-c", WRITER, targets, experiment_id, str(BATCHES), str(POINTS)],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(WRITERS)
        ]
        run_ids = []
        for writer in writers:
            out, err = writer.communicate(timeout=300)
            assert writer.returncode == 0, err
            run_ids.append(out.strip())

        for replica in replicas:  # every replica sees every acknowledged point
            with grpc.insecure_channel(replica.grpc_target) as channel:
                stub = tracking_service_pb2_grpc.TrackingServiceStub(channel)
                for run_id in run_ids:
                    history = stub.GetMetricHistory(
                        rpc.GetMetricHistoryRequest(run_id=run_id, metric_key="m")
                    )
                    assert len(history.metrics) == BATCHES * POINTS
                    run = stub.GetRun(rpc.GetRunRequest(run_id=run_id)).run
                    assert len(run.data.params) == BATCHES
                search = stub.SearchRuns(rpc.SearchRunsRequest(experiment_ids=[experiment_id]))
                assert sorted(r.info.run_id for r in search.runs) == sorted(run_ids)
                default = stub.GetExperiment(rpc.GetExperimentRequest(experiment_id="0"))
                assert default.experiment.name == "Default"
    finally:
        for replica in replicas:
            replica.stop()
