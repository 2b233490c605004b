"""Runs a real `trackwire server` process on free loopback ports for tests.

    with ServerProcess(tmp_path) as server:
        client = TrackingClient(server.grpc_uri)

Readiness is the gRPC health check answering SERVING (then, briefly, the HTTP port accepting
connections). The process is killed and reaped on exit; its output goes to `server.log` in the
given directory and is quoted when the server fails to start.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

if TYPE_CHECKING:
    from typing import Self

STARTUP_TIMEOUT_SECONDS = 60
HTTP_GRACE_SECONDS = 10


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def trackwire_executable() -> str:
    """The `trackwire` script next to the running interpreter (the venv's bin)."""
    candidate = Path(sys.executable).with_name("trackwire")
    return str(candidate) if candidate.exists() else "trackwire"


class ServerProcess:
    def __init__(self, directory: str | os.PathLike, backend_store_uri: str | None = None):
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.backend_store_uri = backend_store_uri or f"sqlite:///{self.directory / 'trackwire.db'}"
        self.artifacts_destination = str(self.directory / "artifacts")
        self.grpc_port = free_port()
        self.http_port = free_port()
        self.log_path = self.directory / "server.log"
        self.process: subprocess.Popen | None = None

    @property
    def grpc_uri(self) -> str:
        return f"grpc://127.0.0.1:{self.grpc_port}"

    @property
    def http_uri(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    def start(self) -> Self:
        command = [
            trackwire_executable(),
            "server",
            "--backend-store-uri",
            self.backend_store_uri,
            "--artifacts-destination",
            self.artifacts_destination,
            "--host",
            "127.0.0.1",
            "--grpc-port",
            str(self.grpc_port),
            "--http-port",
            str(self.http_port),
        ]
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                command, stdout=log, stderr=subprocess.STDOUT, cwd=self.directory
            )
        try:
            self._wait_until_serving()
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_until_serving(self) -> None:
        deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
        with grpc.insecure_channel(f"127.0.0.1:{self.grpc_port}") as channel:
            health = health_pb2_grpc.HealthStub(channel)
            while True:
                if self.process.poll() is not None:
                    raise RuntimeError(
                        f"trackwire server exited with {self.process.returncode}:\n"
                        f"{self.log_tail()}"
                    )
                try:
                    response = health.Check(health_pb2.HealthCheckRequest(), timeout=1)
                    if response.status == health_pb2.HealthCheckResponse.SERVING:
                        break
                except grpc.RpcError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(
                        f"trackwire server not SERVING after {STARTUP_TIMEOUT_SECONDS}s:\n"
                        f"{self.log_tail()}"
                    )
                time.sleep(0.1)
        # The HTTP gateway starts alongside; give it a moment, but gRPC tests do not need it.
        deadline = time.monotonic() + HTTP_GRACE_SECONDS
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.http_port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.1)

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no server log)"

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
