"""Fixtures for the MLflow compatibility tests: a live `trackwire server` for the mlflow client.

These tests run in the .venv-mlflow virtualenv (`make test-mlflow-compat`), where the official
mlflow package is installed and trackwire is not: the server binary comes from
$TRACKWIRE_SERVER_BIN. Under trackwire's own virtualenv (no mlflow) they are not collected.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import threading
from pathlib import Path

import pytest
from ports import free_port

if importlib.util.find_spec("mlflow") is None:
    collect_ignore_glob = ["test_*.py"]


@pytest.fixture(scope="session")
def trackwire_server(tmp_path_factory) -> dict[str, str]:
    """Starts one trackwire server for the session: its "http" and "grpc" URIs."""
    binary = os.environ.get("TRACKWIRE_SERVER_BIN")
    if not binary:
        pytest.fail(
            "set TRACKWIRE_SERVER_BIN to the trackwire executable (make test-mlflow-compat)"
        )
    root: Path = tmp_path_factory.mktemp("trackwire")
    http_port, grpc_port = free_port(), free_port()
    process = subprocess.Popen(
        [
            binary,
            "server",
            "--backend-store-uri",
            f"sqlite:///{root / 'tracking.db'}",
            "--artifacts-destination",
            str(root / "artifacts"),
            "--host",
            "127.0.0.1",
            "--grpc-port",
            str(grpc_port),
            "--http-port",
            str(http_port),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    output: list[str] = []
    ready = threading.Event()

    def pump() -> None:  # keeps the pipe drained for the server's whole life
        for line in process.stdout:  # type: ignore[union-attr]
            output.append(line)
            if "trackwire server listening" in line:
                ready.set()
        ready.set()

    threading.Thread(target=pump, daemon=True).start()
    ready.wait(60)
    if not any("trackwire server listening" in line for line in output):
        process.kill()
        pytest.fail("trackwire server did not start:\n" + "".join(output))
    yield {"http": f"http://127.0.0.1:{http_port}", "grpc": f"grpc://127.0.0.1:{grpc_port}"}
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()


@pytest.fixture(scope="session")
def server_url(trackwire_server) -> str:
    """The server's HTTP base URL (MLflow's REST API)."""
    return trackwire_server["http"]


@pytest.fixture(autouse=True)
def mlflow_tracking(server_url, monkeypatch):
    """Points the mlflow client at the server; failing requests are not retried for minutes."""
    import mlflow

    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "60")
    mlflow.set_tracking_uri(server_url)
    yield
    while mlflow.active_run() is not None:
        mlflow.end_run()
