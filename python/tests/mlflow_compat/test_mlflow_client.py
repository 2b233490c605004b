"""The official mlflow client, unchanged, against trackwire's HTTP gateway."""

from __future__ import annotations

import math
import uuid
from pathlib import Path

import mlflow
import pytest
from mlflow.entities import Metric, Param, RunTag, ViewType
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def client() -> MlflowClient:
    return MlflowClient()


@pytest.fixture
def experiment_id(client) -> str:
    return client.create_experiment(unique("exp"))


def test_fluent_logging_round_trips(experiment_id, client):
    with mlflow.start_run(experiment_id=experiment_id, run_name="fluent") as run:
        mlflow.log_param("lr", 0.01)
        mlflow.log_params({"layers": 3, "optimizer": "adam"})
        mlflow.log_metric("loss", 0.5, step=0)
        mlflow.log_metric("loss", 0.25, step=1)
        mlflow.log_metrics({"acc": 0.9, "nan": math.nan, "inf": math.inf}, step=2)
        mlflow.set_tag("team", "ml")
        mlflow.set_tags({"stage": "dev", "owner": "me"})
    fetched = client.get_run(run.info.run_id)
    assert fetched.info.status == "FINISHED"
    assert fetched.info.end_time >= fetched.info.start_time > 0
    assert fetched.info.run_name == "fluent"
    assert fetched.info.artifact_uri == (
        f"mlflow-artifacts:/{experiment_id}/{run.info.run_id}/artifacts"
    )
    assert fetched.data.params == {"lr": "0.01", "layers": "3", "optimizer": "adam"}
    assert fetched.data.metrics["loss"] == 0.25
    assert fetched.data.metrics["acc"] == 0.9
    assert math.isnan(fetched.data.metrics["nan"])
    assert fetched.data.metrics["inf"] == math.inf
    assert {"team": "ml", "stage": "dev", "owner": "me"}.items() <= fetched.data.tags.items()


def test_nested_runs(experiment_id, client):
    with (
        mlflow.start_run(experiment_id=experiment_id) as parent,
        mlflow.start_run(experiment_id=experiment_id, nested=True) as child,
    ):
        mlflow.log_param("depth", 1)
    child_run = client.get_run(child.info.run_id)
    assert child_run.data.tags["mlflow.parentRunId"] == parent.info.run_id
    found = mlflow.search_runs(
        [experiment_id], filter_string=f"tags.mlflow.parentRunId = '{parent.info.run_id}'"
    )
    assert list(found["run_id"]) == [child.info.run_id]


def test_log_batch_of_1000_metrics_and_metric_history(experiment_id, client):
    run = client.create_run(experiment_id)
    metrics = [Metric("loss", 1.0 / (i + 1), 1_700_000_000_000 + i, i) for i in range(1000)]
    client.log_batch(
        run.info.run_id,
        metrics=metrics,
        params=[Param("batch", "yes")],
        tags=[RunTag("kind", "batch")],
    )
    history = client.get_metric_history(run.info.run_id, "loss")
    assert [(m.step, m.value, m.timestamp) for m in history] == [
        (m.step, m.value, m.timestamp) for m in metrics
    ]
    assert client.get_run(run.info.run_id).data.metrics["loss"] == 1.0 / 1000


def test_search_runs_with_filter_order_by_and_page_tokens(experiment_id, client):
    for i in range(5):
        run = client.create_run(experiment_id, run_name=f"r{i}")
        client.log_metric(run.info.run_id, "score", float(i))
        client.log_param(run.info.run_id, "parity", "even" if i % 2 == 0 else "odd")
    page = client.search_runs(
        [experiment_id],
        filter_string="params.parity = 'even' and metrics.score >= 1",
        order_by=["metrics.score DESC"],
    )
    assert [r.data.metrics["score"] for r in page] == [4.0, 2.0]

    seen, token = [], None
    while True:
        page = client.search_runs(
            [experiment_id], order_by=["metrics.score ASC"], max_results=2, page_token=token
        )
        seen += [r.data.metrics["score"] for r in page]
        token = page.token
        if not token:
            break
    assert seen == [0.0, 1.0, 2.0, 3.0, 4.0]


def test_search_runs_to_pandas(experiment_id):
    with mlflow.start_run(experiment_id=experiment_id, run_name="df"):
        mlflow.log_metric("acc", 0.75)
        mlflow.log_param("model", "tree")
    frame = mlflow.search_runs([experiment_id])
    assert len(frame) == 1
    assert frame.loc[0, "metrics.acc"] == 0.75
    assert frame.loc[0, "params.model"] == "tree"
    assert frame.loc[0, "tags.mlflow.runName"] == "df"
    assert frame.loc[0, "status"] == "FINISHED"


def test_search_experiments(client):
    name = unique("searchable")
    experiment_id = client.create_experiment(name, tags={"team": "vision"})
    found = client.search_experiments(filter_string=f"name = '{name}'")
    assert [e.experiment_id for e in found] == [experiment_id]
    assert found[0].tags == {"team": "vision"}
    assert found[0].artifact_location == f"mlflow-artifacts:/{experiment_id}"
    by_tag = client.search_experiments(filter_string="tags.team = 'vision'")
    assert experiment_id in [e.experiment_id for e in by_tag]


def test_rename_delete_restore_experiment(client):
    experiment_id = client.create_experiment(unique("old"))
    new_name = unique("new")
    client.rename_experiment(experiment_id, new_name)
    assert client.get_experiment_by_name(new_name).experiment_id == experiment_id
    client.delete_experiment(experiment_id)
    assert client.get_experiment(experiment_id).lifecycle_stage == "deleted"
    deleted = client.search_experiments(view_type=ViewType.DELETED_ONLY)
    assert experiment_id in [e.experiment_id for e in deleted]
    client.restore_experiment(experiment_id)
    assert client.get_experiment(experiment_id).lifecycle_stage == "active"


def test_delete_restore_and_terminate_runs(experiment_id, client):
    run = client.create_run(experiment_id)
    run_id = run.info.run_id
    client.set_terminated(run_id, status="KILLED")
    assert client.get_run(run_id).info.status == "KILLED"
    client.delete_run(run_id)
    assert client.get_run(run_id).info.lifecycle_stage == "deleted"
    assert client.search_runs([experiment_id]) == []
    deleted = client.search_runs([experiment_id], run_view_type=ViewType.DELETED_ONLY)
    assert [r.info.run_id for r in deleted] == [run_id]
    client.restore_run(run_id)
    assert client.get_run(run_id).info.lifecycle_stage == "active"
    client.set_tag(run_id, "temporary", "x")
    client.delete_tag(run_id, "temporary")
    assert "temporary" not in client.get_run(run_id).data.tags


def test_artifacts(experiment_id, tmp_path):
    source = tmp_path / "notes.txt"
    source.write_text("hello artifacts")
    with mlflow.start_run(experiment_id=experiment_id) as run:
        mlflow.log_artifact(str(source))
        mlflow.log_artifact(str(source), artifact_path="docs/text")
        mlflow.log_dict({"a": 1, "b": [1, 2]}, "config/params.json")
        mlflow.log_text("", "empty.txt")
    client = MlflowClient()
    run_id = run.info.run_id
    top = {(f.path, f.is_dir) for f in client.list_artifacts(run_id)}
    assert top == {("notes.txt", False), ("docs", True), ("config", True), ("empty.txt", False)}
    nested = client.list_artifacts(run_id, "docs/text")
    assert [(f.path, f.file_size) for f in nested] == [("docs/text/notes.txt", 15)]

    local = mlflow.artifacts.download_artifacts(
        run_id=run_id, artifact_path="docs", dst_path=str(tmp_path / "out")
    )
    assert (tmp_path / "out" / "docs" / "text" / "notes.txt").read_text() == "hello artifacts"
    assert local.endswith("docs")
    empty = client.download_artifacts(run_id, "empty.txt", str(tmp_path / "single"))
    assert Path(empty).read_bytes() == b""
    loaded = mlflow.artifacts.load_dict(f"{run.info.artifact_uri}/config/params.json")
    assert loaded == {"a": 1, "b": [1, 2]}


def test_large_artifact_round_trips(experiment_id, tmp_path, client):
    payload = bytes(range(256)) * (3 * 4096 + 7)  # ~3 MB, not a multiple of any chunk size
    source = tmp_path / "blob.bin"
    source.write_bytes(payload)
    run = client.create_run(experiment_id)
    client.log_artifact(run.info.run_id, str(source), "data")
    downloaded = client.download_artifacts(run.info.run_id, "data/blob.bin", str(tmp_path / "d"))
    assert Path(downloaded).read_bytes() == payload


def _error_code(excinfo) -> str:
    return excinfo.value.error_code


def test_duplicate_experiment_is_resource_already_exists(client):
    name = unique("dup")
    client.create_experiment(name)
    with pytest.raises(MlflowException) as excinfo:
        client.create_experiment(name)
    assert _error_code(excinfo) == "RESOURCE_ALREADY_EXISTS"
    # mlflow.set_experiment relies on this code and on get-by-name's 404 to get-or-create.
    assert mlflow.set_experiment(name).name == name
    assert mlflow.set_experiment(unique("fresh")).lifecycle_stage == "active"


def test_missing_run_is_resource_does_not_exist(client):
    with pytest.raises(MlflowException) as excinfo:
        client.get_run("0" * 32)
    assert _error_code(excinfo) == "RESOURCE_DOES_NOT_EXIST"
    assert client.get_experiment_by_name(unique("absent")) is None


def test_param_overwrite_is_invalid_parameter_value(experiment_id, client):
    run = client.create_run(experiment_id)
    client.log_param(run.info.run_id, "lr", "0.1")
    client.log_param(run.info.run_id, "lr", "0.1")  # the same value again is allowed
    with pytest.raises(MlflowException) as excinfo:
        client.log_param(run.info.run_id, "lr", "0.2")
    assert _error_code(excinfo) == "INVALID_PARAMETER_VALUE"
    assert "lr" in excinfo.value.message


def test_malformed_filter_is_invalid_parameter_value(experiment_id, client):
    with pytest.raises(MlflowException) as excinfo:
        client.search_runs([experiment_id], filter_string="metrics.acc >>> 1")
    assert _error_code(excinfo) == "INVALID_PARAMETER_VALUE"
