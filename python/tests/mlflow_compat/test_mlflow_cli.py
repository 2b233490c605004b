"""MLflow's own command line (`mlflow experiments|runs|artifacts`, shipped by mlflow-skinny)
against trackwire's REST gateway, as a user runs it: MLFLOW_TRACKING_URI and a process."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import mlflow
from mlflow.tracking import MlflowClient

MLFLOW = str(Path(sys.executable).with_name("mlflow"))


def mlflow_cli(server_url: str, *args: str) -> str:
    result = subprocess.run(
        [MLFLOW, *args],
        capture_output=True,
        text=True,
        env={**os.environ, "MLFLOW_TRACKING_URI": server_url},
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_mlflow_cli_lists_and_manages(server_url, tmp_path):
    name = f"cli-{uuid.uuid4().hex[:8]}"
    created = mlflow_cli(server_url, "experiments", "create", "--experiment-name", name)
    experiment_id = created.strip().rsplit(" ", 1)[-1]
    assert name in mlflow_cli(server_url, "experiments", "search")

    (tmp_path / "notes.txt").write_text("hello")
    with mlflow.start_run(experiment_id=experiment_id, run_name="from-cli-test") as run:
        mlflow.log_param("lr", "0.01")
        mlflow.log_metric("acc", 0.9)
        mlflow.log_artifact(str(tmp_path / "notes.txt"), "docs")
    run_id = run.info.run_id

    listed = mlflow_cli(server_url, "runs", "list", "--experiment-id", experiment_id)
    assert run_id in listed and "from-cli-test" in listed
    described = json.loads(mlflow_cli(server_url, "runs", "describe", "--run-id", run_id))
    assert described["info"]["run_id"] == run_id
    assert described["data"]["params"] == {"lr": "0.01"}
    rows = list(
        csv.DictReader(
            io.StringIO(mlflow_cli(server_url, "experiments", "csv", "-x", experiment_id))
        )
    )
    assert [(r["run_id"], r["metrics.acc"]) for r in rows] == [(run_id, "0.9")]

    files = json.loads(mlflow_cli(server_url, "artifacts", "list", "-r", run_id, "-a", "docs"))
    assert [(f["path"], f["file_size"]) for f in files] == [("docs/notes.txt", 5)]
    target = tmp_path / "downloaded"
    target.mkdir()
    mlflow_cli(server_url, "artifacts", "download", "-r", run_id, "-a", "docs", "-d", str(target))
    assert (target / "docs" / "notes.txt").read_text() == "hello"

    mlflow_cli(server_url, "runs", "delete", "--run-id", run_id)
    assert MlflowClient().get_run(run_id).info.lifecycle_stage == "deleted"
