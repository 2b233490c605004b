"""MLflow's configuration habits work against a trackwire server with `--auth`.

- The hosted-workspace snippet (DATABRICKS_HOST / DATABRICKS_TOKEN, tracking URI "databricks")
  logs a run with no warning printed.
- trackwire's Python client, with no TRACKWIRE_* variable set, connects and authenticates from
  MLFLOW_TRACKING_URI and MLFLOW_TRACKING_TOKEN, on both wires.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest


@pytest.fixture(scope="module")
def secured(tmp_path_factory, start_trackwire, trackwire_bin):
    """A trackwire server with `--auth` and an admin token: (URIs, token)."""
    root = tmp_path_factory.mktemp("secured")
    store = f"sqlite:///{root / 'tracking.db'}"
    subprocess.run([trackwire_bin, "db", "upgrade", "--create", store], check=True)
    created = subprocess.run(
        [trackwire_bin, "tokens", "create", "--user", "alice", "--scope", "admin"]
        + ["--backend-store-uri", store],
        capture_output=True,
        text=True,
        check=True,
    )
    token = created.stdout.split()[0]
    with start_trackwire(root, "--auth") as uris:
        yield uris, token


def _clean_environment(**variables: str) -> dict[str, str]:
    """The environment without any tracking or workspace variable, plus `variables`."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("MLFLOW_", "TRACKWIRE_", "DATABRICKS_"))
    }
    return {**env, **variables}


def _run(python: str, script: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    command = [python, "-c", textwrap.dedent(script)]
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=120)


def test_the_hosted_workspace_snippet_logs_a_run_without_warnings(secured, tmp_path):
    uris, token = secured
    snippet = """
        import mlflow

        mlflow.set_tracking_uri("databricks")
        mlflow.set_experiment("/Users/alice@example.com/snippet")
        with mlflow.start_run() as run:
            mlflow.log_param("lr", "0.01")
            mlflow.log_metric("loss", 0.5, step=1)
        stored = mlflow.get_run(run.info.run_id)
        print(stored.data.params["lr"], stored.data.metrics["loss"], stored.info.status)
    """
    env = _clean_environment(
        DATABRICKS_HOST=uris["http"], DATABRICKS_TOKEN=token, HOME=str(tmp_path)
    )
    done = _run(sys.executable, snippet, env)
    assert done.returncode == 0, done.stderr
    # mlflow's own "View run ... at: <link>" lines come first on stdout.
    assert done.stdout.splitlines()[-1].split() == ["0.01", "0.5", "FINISHED"]
    # What remains on stderr is the client's own INFO line and its Unity Catalog notice, which
    # it prints for every workspace; no warning (it warned about the discovery document).
    assert "WARNING" not in done.stderr and "Failed" not in done.stderr, done.stderr


def test_trackwire_client_falls_back_to_mlflows_variables(secured, trackwire_bin):
    uris, token = secured
    python = str(Path(trackwire_bin).parent / "python")  # trackwire's own virtualenv
    script = """
        import trackwire

        client = trackwire.TrackingClient()
        experiment_id = client.create_experiment(f"from-mlflow-env-{client.tracking_uri[:4]}")
        print(client.get_experiment(experiment_id).name)
    """
    for uri in (uris["http"], uris["grpc"]):
        env = _clean_environment(MLFLOW_TRACKING_URI=uri, MLFLOW_TRACKING_TOKEN=token)
        done = _run(python, script, env)
        assert done.returncode == 0, done.stderr
        assert done.stdout.strip() == f"from-mlflow-env-{uri[:4]}"
        # Without the token the same server refuses: the token did come from the variable.
        env.pop("MLFLOW_TRACKING_TOKEN")
        refused = _run(python, script, env)
        assert refused.returncode != 0 and "nauthenticated" in refused.stderr
