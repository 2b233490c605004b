"""Shared fixtures: real `trackwire server` processes (SQLite, PostgreSQL, S3 artifacts)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import grpc
import pytest
from server_process import LiveServer, backend_for_tests, free_port

from trackwire.v1 import artifact_service_pb2_grpc, tracking_service_pb2_grpc


@pytest.fixture(scope="session")
def server(tmp_path_factory) -> LiveServer:
    """The shared server: on SQLite, or on PostgreSQL when TRACKWIRE_TEST_POSTGRES_URI is set."""
    backend = backend_for_tests()
    live = LiveServer(tmp_path_factory.mktemp("server"), backend).start()
    yield live
    live.stop()


@pytest.fixture(scope="session")
def channel(server):
    with grpc.insecure_channel(server.grpc_target) as ch:
        yield ch


@pytest.fixture(scope="session")
def tracking(channel):
    return tracking_service_pb2_grpc.TrackingServiceStub(channel)


@pytest.fixture(scope="session")
def artifacts(channel):
    return artifact_service_pb2_grpc.ArtifactServiceStub(channel)


@pytest.fixture
def unique(request) -> str:
    """A name unique to this test, for experiments on the shared server."""
    return f"{request.node.name}-{os.getpid()}-{time.monotonic_ns()}"


S3_ENV = {
    "AWS_ACCESS_KEY_ID": "test",
    "AWS_SECRET_ACCESS_KEY": "test",
    "AWS_DEFAULT_REGION": "us-east-1",
}


@pytest.fixture(scope="session")
def s3_endpoint(tmp_path_factory):
    """A real S3 protocol endpoint on loopback (moto's server); yields its URL."""
    port = free_port()
    log = open(tmp_path_factory.mktemp("moto") / "moto.log", "wb")  # noqa: SIM115
    moto = subprocess.Popen(
        [str(Path(sys.executable).with_name("moto_server")), "-H", "127.0.0.1", "-p", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while socket.socket().connect_ex(("127.0.0.1", port)) != 0:
        if time.monotonic() > deadline or moto.poll() is not None:
            raise RuntimeError("moto server did not start")
        time.sleep(0.05)
    yield url
    moto.terminate()
    moto.wait(timeout=10)
    log.close()


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory, s3_endpoint) -> LiveServer:
    """A server whose artifacts go to a bucket on the S3 endpoint."""
    import boto3

    env = {**S3_ENV, "AWS_ENDPOINT_URL": s3_endpoint}
    boto3.client(
        "s3",
        endpoint_url=s3_endpoint,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    ).create_bucket(Bucket="trackwire-test")
    live = LiveServer(
        tmp_path_factory.mktemp("s3-server"),
        artifacts_destination="s3://trackwire-test/artifacts",
        env=env,
    ).start()
    yield live
    live.stop()
