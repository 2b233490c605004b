"""The server as a process: reflection, health, shutdown, schema upgrades."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys

import grpc
import pytest
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
from ports import free_port
from server_process import LiveServer

from trackwire.server.store.engine import SchemaTooNew, create_store_engine, upgrade_schema
from trackwire.v1 import tracking_service_pb2 as rpc
from trackwire.v1 import tracking_service_pb2_grpc


def test_reflection_lists_the_services(channel):
    stub = reflection_pb2_grpc.ServerReflectionStub(channel)
    responses = stub.ServerReflectionInfo(
        iter([reflection_pb2.ServerReflectionRequest(list_services="")])
    )
    names = {s.name for r in responses for s in r.list_services_response.service}
    assert {"trackwire.v1.TrackingService", "trackwire.v1.ArtifactService"} <= names
    assert "grpc.health.v1.Health" in names


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_clean_shutdown_keeps_data(tmp_path, sig):
    live = LiveServer(tmp_path).start()
    with grpc.insecure_channel(live.grpc_target) as channel:
        stub = tracking_service_pb2_grpc.TrackingServiceStub(channel)
        stub.CreateExperiment(rpc.CreateExperimentRequest(name="kept"))
    assert live.stop(sig) == 0
    live.start()
    with grpc.insecure_channel(live.grpc_target) as channel:
        stub = tracking_service_pb2_grpc.TrackingServiceStub(channel)
        found = stub.GetExperimentByName(rpc.GetExperimentByNameRequest(experiment_name="kept"))
        assert found.experiment.name == "kept"
    live.stop()


def test_port_in_use_is_a_clear_error(server, tmp_path):
    result = subprocess.run(
        [
            sys.executable, "-m", "trackwire.cli", "server",
            "--backend-store-uri", f"sqlite:///{tmp_path / 'db.sqlite'}",
            "--grpc-port", str(server.grpc_port), "--http-port", str(free_port()),
        ],
        capture_output=True, text=True, timeout=60, cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 1
    assert f"cannot listen for gRPC on 127.0.0.1:{server.grpc_port}" in result.stderr


def test_db_upgrade_command_and_schema_too_new(tmp_path):
    uri = f"sqlite:///{tmp_path / 'store.db'}"
    result = subprocess.run(
        [sys.executable, "-m", "trackwire.cli", "db", "upgrade", "--create", uri],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    with sqlite3.connect(tmp_path / "store.db") as db:
        db.execute("UPDATE alembic_version SET version_num = '9999_future'")
    with pytest.raises(SchemaTooNew, match="newer than this trackwire"):
        upgrade_schema(create_store_engine(uri))
    result = subprocess.run(
        [sys.executable, "-m", "trackwire.cli", "server", "--backend-store-uri", uri,
         "--grpc-port", str(free_port()), "--http-port", str(free_port())],
        capture_output=True, text=True, timeout=60, cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 1 and "newer than this trackwire" in result.stderr


def test_sqlite_runs_in_wal_mode(server):
    db = server.workdir / "trackwire.db"
    with sqlite3.connect(db) as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


@pytest.mark.parametrize(
    "flag, durability",
    [
        ([], "WAL, synchronous=NORMAL: survives a server crash"),
        (["--fsync-commits"], "fsync per commit"),
    ],
)
def test_durability_setting_is_announced(tmp_path, flag, durability):
    live = LiveServer(tmp_path, extra_args=flag).start()
    live.stop()
    assert f"durability: {durability}" in live.read_log()
