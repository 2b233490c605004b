"""Fast recovery: after an outage, the first call once the server is healthy again succeeds
within about half a second, on both wires. Counted in the client's own waits (the delays its
retries slept), not asserted on a clock."""

from __future__ import annotations

import signal
import time

import pytest
from server_process import LiveServer

from trackwire import errors
from trackwire.client import TrackingClient
from trackwire.client._retry import single_attempt

OUTAGE_ATTEMPTS = 20  # one every 0.25 s: the client has met the outage for about 5 s


@pytest.mark.parametrize("wire", ["grpc", "http"])
def test_first_call_after_an_outage_succeeds_within_half_a_second(tmp_path, wire, monkeypatch):
    server = LiveServer(tmp_path).start()
    try:
        uri = server.tracking_uri if wire == "grpc" else server.http_url
        with TrackingClient(uri) as client:
            assert client.get_experiment("0").experiment_id == "0"
            server.stop(signal.SIGKILL)
            for _ in range(OUTAGE_ATTEMPTS):
                with single_attempt(), pytest.raises(errors.Unavailable):
                    client.get_experiment("0")
                time.sleep(0.25)
            server.start(same_ports=True)  # returns once the server answers health checks

            waits: list[float] = []
            sleep = time.sleep
            monkeypatch.setattr(time, "sleep", lambda s: (waits.append(s), sleep(s)))
            started = time.perf_counter()
            assert client.get_experiment("0").experiment_id == "0"
            elapsed = time.perf_counter() - started
        print(f"{wire}: first call after recovery: {len(waits)} retries, {elapsed:.3f} s")
        assert sum(waits) <= 0.5
    finally:
        server.stop()
