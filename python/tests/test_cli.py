"""The experiments, runs and artifacts commands against a live server over both wires, and
against an embedded SQLite store."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
import time
import urllib.request

import pytest
from cli_process import failed_with_one_line, ok, trackwire
from ports import free_port
from server_process import LiveServer

import trackwire as tw
from trackwire.client import TrackingClient
from trackwire.v1 import entities_pb2 as ent


@pytest.fixture(autouse=True)
def _in_tmp_path(tmp_path, monkeypatch):
    """Embedded stores keep artifacts in ./trackwire-artifacts: here, not in the checkout."""
    monkeypatch.chdir(tmp_path)


@pytest.fixture(params=["grpc", "http", "sqlite"])
def wire(request, server, tmp_path) -> dict[str, str]:
    """The environment that points the commands at a store: the live server over gRPC
    (TRACKWIRE_TRACKING_URI) or its REST gateway (MLflow's variable), or a SQLite file."""
    if request.param == "grpc":
        return {"TRACKWIRE_TRACKING_URI": server.tracking_uri}
    if request.param == "http":
        return {"MLFLOW_TRACKING_URI": server.http_url}
    uri = f"sqlite:///{tmp_path / 'embedded.db'}"
    ok("db", "upgrade", "--create", uri)
    return {"TRACKWIRE_TRACKING_URI": uri}


def _uri(env: dict[str, str]) -> str:
    return next(iter(env.values()))


def _log_runs(uri: str, experiment: str) -> str:
    """Three finished runs with lr and acc; the experiment's id."""
    with TrackingClient(uri) as client:
        experiment_id = client.create_experiment(experiment)
        for i, (lr, acc) in enumerate([("0.1", 0.7), ("0.01", 0.9), ("0.001", 0.8)]):
            run = client.create_run(experiment_id, run_name=f"run-{i}")
            client.log_batch(
                run.info.run_id,
                params={"lr": lr},
                metrics=[ent.Metric(key="acc", value=acc, timestamp=1, step=0)],
                tags={"team": "vision"},
            )
            client.set_terminated(run.info.run_id, "FINISHED")
    return experiment_id


def test_version():
    expected = f"trackwire {tw.__version__}"
    assert ok("--version").strip() == expected
    result = subprocess.run(
        [sys.executable, "-m", "trackwire.cli", "--version"], capture_output=True, text=True
    )
    assert result.stdout.strip() == expected


def test_experiments_lifecycle(wire, unique):
    created = ok("experiments", "create", "--experiment-name", unique, env=wire).strip()
    listed = json.loads(ok("experiments", "list", "--output", "json", env=wire))
    assert {"experiment_id": created, "name": unique} in [
        {"experiment_id": e["experiment_id"], "name": e["name"]} for e in listed
    ]
    ok("experiments", "rename", "--experiment-id", created, "--new-name", unique + "-2", env=wire)
    ok("experiments", "delete", "-x", created, env=wire)
    active = ok("experiments", "list", "--output", "csv", env=wire)
    assert unique + "-2" not in active
    deleted = json.loads(
        ok("experiments", "search", "--view", "deleted_only", "--output", "json", env=wire)
    )
    assert [e["name"] for e in deleted if e["experiment_id"] == created] == [unique + "-2"]
    ok("experiments", "restore", "-x", created, env=wire)
    table = ok("experiments", "list", "--filter", f"name = '{unique}-2'", env=wire)
    header, row = table.splitlines()
    assert header.split()[:3] == ["ID", "NAME", "STAGE"]
    assert row.split()[:3] == [created, unique + "-2", "active"]


def test_runs_list_filters_orders_and_formats(wire, unique):
    experiment_id = _log_runs(_uri(wire), unique)
    search = ["runs", "list", "--experiment-id", experiment_id]
    search += ["--filter", "metrics.acc > 0.75", "--order-by", "metrics.acc DESC"]

    records = json.loads(ok(*search, "--output", "json", env=wire))
    assert [(r["run_name"], r["params.lr"], r["metrics.acc"]) for r in records] == [
        ("run-1", "0.01", 0.9),
        ("run-2", "0.001", 0.8),
    ]
    assert {r["status"] for r in records} == {"FINISHED"}
    assert all(r["tags.team"] == "vision" for r in records)

    rows = list(csv.DictReader(io.StringIO(ok(*search, "--output", "csv", env=wire))))
    assert [(r["run_id"], r["metrics.acc"]) for r in rows] == [
        (r["run_id"], str(r["metrics.acc"])) for r in records
    ]

    table = ok(*search, "--columns", "metrics.acc,params.lr", env=wire).splitlines()
    assert table[0].split() == ["ID", "NAME", "STATUS", "STARTED", "USER"] + [
        "metrics.acc",
        "params.lr",
    ]
    assert [line.split()[0] for line in table[1:]] == [r["run_id"] for r in records]
    assert [line.split()[-2:] for line in table[1:]] == [["0.9", "0.01"], ["0.8", "0.001"]]

    limited = json.loads(ok(*search, "--max-results", "1", "--output", "json", env=wire))
    assert [r["run_name"] for r in limited] == ["run-1"]


@pytest.fixture
def grpc_wire(server) -> dict[str, str]:
    return {"TRACKWIRE_TRACKING_URI": server.tracking_uri}


def test_runs_describe_delete_restore(grpc_wire, unique):
    wire = grpc_wire
    experiment_id = _log_runs(_uri(wire), unique)
    records = json.loads(ok("runs", "list", "-x", experiment_id, "--output", "json", env=wire))
    run_id = records[0]["run_id"]

    described = json.loads(ok("runs", "describe", "--run-id", run_id, "--output", "json", env=wire))
    assert described["info"]["run_id"] == run_id
    assert described["data"]["params"]["lr"] == records[0]["params.lr"]
    assert described["data"]["metrics"]["acc"] == records[0]["metrics.acc"]
    table = ok("runs", "describe", "--run-id", run_id, env=wire)
    assert ["run_id", run_id] in [line.split() for line in table.splitlines()]
    assert ["lr", records[0]["params.lr"]] in [line.split() for line in table.splitlines()]

    ok("runs", "delete", "--run-id", run_id, env=wire)
    active = json.loads(ok("runs", "list", "-x", experiment_id, "--output", "json", env=wire))
    assert run_id not in [r["run_id"] for r in active]
    deleted = json.loads(
        ok("runs", "list", "-x", experiment_id, "-v", "deleted_only", "--output", "json", env=wire)
    )
    assert [(r["run_id"], r["lifecycle_stage"]) for r in deleted] == [(run_id, "deleted")]
    ok("runs", "restore", "--run-id", run_id, env=wire)
    active = json.loads(ok("runs", "list", "-x", experiment_id, "--output", "json", env=wire))
    assert run_id in [r["run_id"] for r in active]


def test_experiment_csv(grpc_wire, unique, tmp_path):
    wire = grpc_wire
    experiment_id = _log_runs(_uri(wire), unique)
    rows = list(
        csv.DictReader(io.StringIO(ok("experiments", "csv", "-x", experiment_id, env=wire)))
    )
    assert sorted(r["params.lr"] for r in rows) == ["0.001", "0.01", "0.1"]
    target = tmp_path / "runs.csv"
    ok("experiments", "csv", "-x", experiment_id, "--filename", str(target), env=wire)
    assert list(csv.DictReader(target.open())) == rows


def test_artifacts_upload_list_download(wire, unique, tmp_path):
    with TrackingClient(_uri(wire)) as client:
        run_id = client.create_run(client.create_experiment(unique)).info.run_id
    local = tmp_path / "local"
    (local / "sub").mkdir(parents=True)
    (local / "notes.txt").write_text("hello")
    (local / "sub" / "weights.bin").write_bytes(bytes(range(256)) * 4096)
    single = tmp_path / "config.yaml"
    single.write_text("lr: 0.01\n")

    ok(
        "artifacts",
        "upload",
        "--run-id",
        run_id,
        "--local-dir",
        str(local),
        "-a",
        "model",
        env=wire,
    )
    ok("artifacts", "log-artifact", "-r", run_id, "--local-file", str(single), env=wire)

    top = ok("artifacts", "list", "--run-id", run_id, env=wire).splitlines()
    assert [line.split() for line in top] == [
        ["PATH", "SIZE"],
        ["config.yaml", "9"],
        ["model/", "-"],
    ]
    nested = json.loads(
        ok(
            "artifacts",
            "list",
            "-r",
            run_id,
            "--artifact-path",
            "model/sub",
            "--output",
            "json",
            env=wire,
        )
    )
    assert nested == [{"path": "model/sub/weights.bin", "is_dir": False, "file_size": 1048576}]

    everything = tmp_path / "everything"
    printed = ok("artifacts", "download", "-r", run_id, "--dst-path", str(everything), env=wire)
    assert printed.strip() == str(everything.resolve())
    assert (everything / "model" / "notes.txt").read_text() == "hello"
    assert (everything / "model" / "sub" / "weights.bin").read_bytes() == (
        local / "sub" / "weights.bin"
    ).read_bytes()
    assert (everything / "config.yaml").read_text() == "lr: 0.01\n"

    one = tmp_path / "one"
    uri = f"runs:/{run_id}/model/notes.txt"
    printed = ok("artifacts", "download", "--artifact-uri", uri, "-d", str(one), env=wire)
    assert printed.strip() == str((one / "model" / "notes.txt").resolve())
    assert [p.name for p in one.rglob("*") if p.is_file()] == ["notes.txt"]

    missing = trackwire(
        "artifacts", "download", "-r", run_id, "-a", "nope", "-d", str(one), env=wire
    )
    assert "has no artifact 'nope'" in failed_with_one_line(missing)


def test_unknown_run_is_one_line(wire):
    result = trackwire("runs", "describe", "--run-id", "0" * 32, env=wire)
    assert "Traceback" not in failed_with_one_line(result)


def test_mlflow_token_variable_is_used(tmp_path):
    """With tokens required, MLFLOW_TRACKING_TOKEN serves when TRACKWIRE_TOKEN is unset."""
    with LiveServer(tmp_path, extra_args=["--auth"]) as server:
        token = server.cli("tokens", "create", "--user", "ada", "--scope", "admin").strip()
        env = {"TRACKWIRE_TRACKING_URI": server.tracking_uri}
        refused = trackwire("experiments", "list", env=env)
        assert "trackwire:" in failed_with_one_line(refused)
        listed = ok(
            "experiments", "list", "--output", "json", env={**env, "MLFLOW_TRACKING_TOKEN": token}
        )
        assert "Default" in listed
        tokens = server.cli("tokens", "list").splitlines()
        assert tokens[0].split() == ["ID", "USER", "SCOPE", "CREATED", "REVOKED"]
        assert tokens[1].split()[1:3] == ["ada", "admin"] and tokens[1].split()[-1] == "-"


def test_server_takes_mlflows_port_flag(tmp_path):
    grpc_port, http_port = free_port(), free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "trackwire", "server", "--grpc-port", str(grpc_port)]
        + ["--port", str(http_port), "--backend-store-uri", f"sqlite:///{tmp_path / 'db'}"],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{http_port}/health") as answer:
                    assert answer.read() == b"OK"
                    break
            except OSError:
                assert process.poll() is None and time.monotonic() < deadline
                time.sleep(0.1)
    finally:
        process.terminate()
        process.wait(30)
