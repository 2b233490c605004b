"""Rejected large requests do not stay in the server's memory.

Each test sends 100 requests of 15 MB that the server refuses (a param key over the limit;
no token on a server with --auth) and reads the server process's resident memory from
/proc, from outside: it must end within 50 MB of where it started. Without the fixes it grew
by the size of every request (1.5 to 3 GB here): gRPC's abort kept each handler's frame, and
its request, in a reference cycle, and glibc's malloc kept freed large buffers in its heaps.
"""

from __future__ import annotations

import sys
from pathlib import Path

import grpc
import httpx
import pytest
from server_process import LiveServer

from trackwire.client import TrackingClient
from trackwire.v1 import tracking_service_pb2 as rpc
from trackwire.v1 import tracking_service_pb2_grpc

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="reads resident memory from /proc"
)

CALLS = 100
VALUE = "v" * 15_000_000
ALLOWED_GROWTH_MB = 50


def resident_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS line")


def rejected_over_grpc(server: LiveServer, request: rpc.LogParamRequest, code) -> None:
    options = [("grpc.max_send_message_length", -1)]
    with grpc.insecure_channel(server.grpc_target, options=options) as channel:
        log_param = tracking_service_pb2_grpc.TrackingServiceStub(channel).LogParam
        for _ in range(CALLS):
            with pytest.raises(grpc.RpcError) as refused:
                log_param(request, timeout=60)
            assert refused.value.code() == code


def growth_mb(server: LiveServer, send) -> float:
    """How much the server's resident memory grew over `send()`, in MB."""
    pid = server.process.pid
    before = resident_mb(pid)
    send()
    return resident_mb(pid) - before


def test_rejected_grpc_requests_leave_memory_flat(tmp_path):
    with LiveServer(tmp_path) as server:
        client = TrackingClient(server.tracking_uri)
        run_id = client.create_run("0").info.run_id
        client.close()
        too_long = rpc.LogParamRequest(run_id=run_id, key=VALUE, value="v")
        grown = growth_mb(
            server,
            lambda: rejected_over_grpc(server, too_long, grpc.StatusCode.INVALID_ARGUMENT),
        )
    assert grown < ALLOWED_GROWTH_MB


def test_unauthenticated_grpc_requests_leave_memory_flat(tmp_path):
    with LiveServer(tmp_path, extra_args=["--auth"]) as server:
        request = rpc.LogParamRequest(run_id="0" * 32, key="k", value=VALUE)
        grown = growth_mb(
            server,
            lambda: rejected_over_grpc(server, request, grpc.StatusCode.UNAUTHENTICATED),
        )
    assert grown < ALLOWED_GROWTH_MB


def test_large_rest_requests_leave_memory_flat(tmp_path):
    with LiveServer(tmp_path, extra_args=["--auth"]) as server:
        body = {"run_id": "0" * 32, "key": "k", "value": VALUE}

        def send() -> None:
            with httpx.Client(base_url=server.http_url, timeout=60) as http:
                for _ in range(CALLS):
                    response = http.post("/api/2.0/mlflow/runs/log-parameter", json=body)
                    assert response.status_code == 401

        grown = growth_mb(server, send)
    assert grown < ALLOWED_GROWTH_MB
