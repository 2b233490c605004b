"""kill -9 of the server in the middle of a stream of LogBatch calls from a retrying client:
after the restart, every acknowledged batch is stored exactly once (SQLite and PostgreSQL)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest
from server_process import LiveServer, fresh_postgres_database

from trackwire.client import TrackingClient

BATCHES, POINTS = 150, 100

# The client: the real TrackingClient (it retries UNAVAILABLE, re-sending the same
# idempotency key); it prints the number of each batch the server acknowledged.
CLIENT = textwrap.dedent(
    """
    import sys
    from trackwire.client import TrackingClient
    from trackwire.v1 import entities_pb2 as ent
    uri, run_id, batches, points = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    with TrackingClient(uri) as client:
        for b in range(batches):
            metrics = [ent.Metric(key="m", value=b, step=b * points + i, timestamp=1)
                       for i in range(points)]
            client.log_batch(run_id, metrics=metrics)
            print(b, flush=True)
    """
)


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request) -> str | None:
    if request.param == "sqlite":
        return None
    admin = os.environ.get("TRACKWIRE_TEST_POSTGRES_URI")
    if not admin:
        pytest.skip("needs TRACKWIRE_TEST_POSTGRES_URI (run by `make test-python-postgres`)")
    return fresh_postgres_database(admin)


def test_kill_9_mid_stream_loses_and_duplicates_nothing(tmp_path, backend):
    server = LiveServer(tmp_path, backend).start()
    try:
        with TrackingClient(server.tracking_uri) as client:
            run_id = client.create_run("0").info.run_id
        writer = subprocess.Popen(
            [sys.executable, "-c", CLIENT, server.tracking_uri, run_id, str(BATCHES), str(POINTS)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        acknowledged = [int(writer.stdout.readline()) for _ in range(30)]
        server.stop(signal.SIGKILL)
        time.sleep(0.2)  # the writer is now retrying into a closed port
        server.start(same_ports=True)
        rest, err = writer.communicate(timeout=300)
        assert writer.returncode == 0, err
        acknowledged += [int(line) for line in rest.split()]
        assert acknowledged == list(range(BATCHES))

        with TrackingClient(server.tracking_uri) as client:
            steps = [m.step for m in client.get_metric_history(run_id, "m")]
        assert steps == list(range(BATCHES * POINTS))  # each batch exactly once
    finally:
        server.stop()
