"""A real `trackwire server` process on loopback ports, for tests of every language.

    with LiveServer(tmp_path) as server:
        client = TrackingClient(server.tracking_uri)

Readiness is the gRPC health check answering SERVING and the HTTP port accepting
connections; the server's output goes to `server.log` in its directory and is quoted
when it fails to start.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from ports import free_port


class LiveServer:
    """A `trackwire server` subprocess with its own store and artifact directory."""

    def __init__(
        self,
        workdir: Path,
        backend_store_uri: str | None = None,
        artifacts_destination: str | None = None,
        env: dict[str, str] | None = None,
        extra_args: list[str] | None = None,
        tls_ca: bytes | None = None,
    ):
        """`extra_args` go to `trackwire server`; `tls_ca` (PEM) is the CA to trust when the
        server speaks TLS (--tls-cert/--tls-key among the extra args)."""
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.backend_store_uri = backend_store_uri or f"sqlite:///{self.workdir / 'trackwire.db'}"
        self.artifacts = self.workdir / "artifacts"
        self.artifacts_destination = artifacts_destination or str(self.artifacts)
        self.env = {**os.environ, **(env or {})}
        self.extra_args = extra_args or []
        self.tls_ca = tls_ca
        self.process: subprocess.Popen | None = None

    def start(self, same_ports: bool = False) -> LiveServer:
        """Starts the server on new free ports, or on the previous ones (a restart)."""
        if not same_ports:
            self.grpc_port, self.http_port = free_port(), free_port()
        self.log = open(self.workdir / "server.log", "ab")  # noqa: SIM115 - closed by stop()
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "trackwire.cli",
                "server",
                "--backend-store-uri",
                self.backend_store_uri,
                "--artifacts-destination",
                self.artifacts_destination,
                "--grpc-port",
                str(self.grpc_port),
                "--http-port",
                str(self.http_port),
                *self.extra_args,
            ],
            cwd=self.workdir,
            env=self.env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        self._wait_ready()
        return self

    @property
    def grpc_target(self) -> str:
        return f"127.0.0.1:{self.grpc_port}"

    @property
    def tracking_uri(self) -> str:
        return f"grpc://{self.grpc_target}"

    @property
    def http_url(self) -> str:
        return f"http{'s' if self.tls_ca else ''}://127.0.0.1:{self.http_port}"

    def grpc_channel(self) -> grpc.Channel:
        if self.tls_ca:
            credentials = grpc.ssl_channel_credentials(root_certificates=self.tls_ca)
            return grpc.secure_channel(self.grpc_target, credentials)
        return grpc.insecure_channel(self.grpc_target)

    def cli(self, *args: str) -> str:
        """Runs a `trackwire` command on this server's store; its standard output."""
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "trackwire.cli",
                *args,
                "--backend-store-uri",
                self.backend_store_uri,
            ],
            capture_output=True,
            text=True,
            env=self.env,
            check=True,
        )
        return done.stdout

    def _wait_ready(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        with self.grpc_channel() as channel:
            health = health_pb2_grpc.HealthStub(channel)
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    raise RuntimeError(f"server exited: {self.read_log()}")
                try:
                    status = health.Check(health_pb2.HealthCheckRequest(), timeout=1).status
                    if status == health_pb2.HealthCheckResponse.SERVING and self._http_up():
                        return
                except grpc.RpcError:
                    pass
                time.sleep(0.05)
        raise RuntimeError(f"server not ready in {timeout}s: {self.read_log()}")

    def _http_up(self) -> bool:
        with socket.socket() as sock:
            return sock.connect_ex(("127.0.0.1", self.http_port)) == 0

    def read_log(self) -> str:
        return (self.workdir / "server.log").read_text(errors="replace")

    def stop(self, sig: int = signal.SIGTERM) -> int:
        """Stops the server (SIGTERM drains in-flight calls); its exit code."""
        if self.process is None:
            return 0
        self.process.send_signal(sig)
        try:
            code = self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            code = self.process.wait()
        self.process = None
        self.log.close()
        return code

    def __enter__(self) -> LiveServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def fresh_postgres_database(admin_uri: str) -> str:
    """A new, empty database on the PostgreSQL server of `admin_uri`; its URI."""
    import psycopg

    name = f"trackwire_test_{os.getpid()}_{time.monotonic_ns()}"
    with psycopg.connect(admin_uri, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    return admin_uri.rsplit("/", 1)[0] + "/" + name


def backend_for_tests() -> str | None:
    """A new PostgreSQL database when TRACKWIRE_TEST_POSTGRES_URI is set; else None (SQLite)."""
    postgres = os.environ.get("TRACKWIRE_TEST_POSTGRES_URI")
    return fresh_postgres_database(postgres) if postgres else None
