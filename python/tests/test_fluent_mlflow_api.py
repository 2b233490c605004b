"""The fluent API's MLflow surface (`import trackwire as mlflow`): experiments, run lookups,
rich artifacts and their loaders, dataset inputs, system metrics and scikit-learn autologging,
against a real server."""

from __future__ import annotations

import json
import time
import uuid

import numpy as np
import pandas as pd
import pytest

import trackwire as mlflow
from trackwire import errors
from trackwire.entities import Experiment, Run


@pytest.fixture
def experiment(server):
    mlflow.set_tracking_uri(server.tracking_uri)
    name = f"api-{uuid.uuid4().hex}"
    experiment = mlflow.set_experiment(name)
    yield experiment
    while mlflow.active_run():
        mlflow.end_run()


def test_experiment_functions(experiment):
    assert isinstance(experiment, Experiment)
    created = mlflow.create_experiment(f"{experiment.name}-b", tags={"k": 1})
    assert mlflow.get_experiment(created).tags == {"k": "1"}
    assert mlflow.get_experiment_by_name(f"{experiment.name}-b").experiment_id == created
    assert mlflow.get_experiment_by_name(f"{experiment.name}-missing") is None
    mlflow.set_experiment_tag("owner", "vision")
    mlflow.set_experiment_tags({"a": 1, "b": 2})
    mlflow.delete_experiment_tag("a")
    assert mlflow.get_experiment(experiment.experiment_id).tags == {"owner": "vision", "b": "2"}
    mlflow.delete_experiment(created)
    assert mlflow.get_experiment(created).lifecycle_stage == "deleted"
    mlflow.restore_experiment(created)
    found = mlflow.search_experiments(filter_string=f"name LIKE '{experiment.name}%'")
    assert sorted(e.name for e in found) == [experiment.name, f"{experiment.name}-b"]


def test_runs_are_mlflow_entities(experiment):
    with mlflow.start_run(run_name="p", description="about it", tags={"t": 1}) as parent:
        assert mlflow.log_param("lr", 0.1) == 0.1
        child = mlflow.start_run(nested=True)
        mlflow.end_run()
        explicit = mlflow.start_run(parent_run_id=parent.info.run_id, nested=True)
        mlflow.end_run()
        assert mlflow.get_artifact_uri().endswith(f"{parent.info.run_id}/artifacts")
        assert mlflow.get_artifact_uri("a/b.txt").endswith("/artifacts/a/b.txt")
        mlflow.set_tag("gone", "x")
        mlflow.delete_tag("gone")
    run = mlflow.get_run(parent.info.run_id)
    assert isinstance(run, Run) and run.info.status == "FINISHED"
    assert run.data.params == {"lr": "0.1"}
    assert run.data.tags["mlflow.note.content"] == "about it" and "gone" not in run.data.tags
    assert mlflow.last_active_run().info.run_id == parent.info.run_id
    for kid in (child, explicit):
        assert mlflow.get_parent_run(kid.info.run_id).info.run_id == parent.info.run_id
    assert mlflow.get_parent_run(parent.info.run_id) is None
    listed = mlflow.search_runs(output_format="list", order_by=["attributes.start_time ASC"])
    assert [r.info.run_id for r in listed][0] == parent.info.run_id and len(listed) == 3
    by_name = mlflow.search_runs(
        experiment_names=[experiment.name], filter_string="params.lr = '0.1'"
    )
    assert list(by_name["run_id"]) == [parent.info.run_id]
    everywhere = mlflow.search_runs(search_all_experiments=True, filter_string="params.lr = '0.1'")
    assert parent.info.run_id in set(everywhere["run_id"])
    mlflow.delete_run(parent.info.run_id)
    mlflow.restore_run(parent.info.run_id)
    assert mlflow.get_run(parent.info.run_id).info.lifecycle_stage == "active"
    with pytest.raises(errors.InvalidArgument, match="output_format"):
        mlflow.search_runs(output_format="arrow")


def test_is_tracking_uri_set(server, monkeypatch):
    monkeypatch.delenv("TRACKWIRE_TRACKING_URI", raising=False)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    mlflow.set_tracking_uri(None)
    assert not mlflow.is_tracking_uri_set()
    monkeypatch.setenv("MLFLOW_TRACKING_URI", server.tracking_uri)
    assert mlflow.is_tracking_uri_set()
    monkeypatch.delenv("MLFLOW_TRACKING_URI")
    mlflow.set_tracking_uri(server.tracking_uri)
    assert mlflow.is_tracking_uri_set()


def test_rich_artifacts_and_their_loaders(experiment):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    with mlflow.start_run() as run:
        mlflow.log_dict({"a": [1, 2]}, "cfg/params.yaml")
        mlflow.log_dict({"b": 3}, "cfg/params.json")
        mlflow.log_text("héllo", "notes.txt")
        mlflow.log_image(np.full((4, 6, 3), 255, dtype=np.uint8), "white.png")
        mlflow.log_image(np.zeros((4, 4)), key="masks", step=2)
        figure = plt.figure()
        plt.plot([1, 2, 3])
        mlflow.log_figure(figure, "curve.png")
        plt.close(figure)
        mlflow.log_table({"x": [1, 2], "y": ["a", "b"]}, "tables/t.json")
        mlflow.log_table(pd.DataFrame({"x": [3], "y": ["c"]}), "tables/t.json")
    base = f"runs:/{run.info.run_id}"
    assert mlflow.artifacts.load_dict(f"{base}/cfg/params.yaml") == {"a": [1, 2]}
    assert mlflow.artifacts.load_dict(f"{base}/cfg/params.json") == {"b": 3}
    assert mlflow.artifacts.load_text(f"{base}/notes.txt") == "héllo"
    image = mlflow.artifacts.load_image(f"{base}/white.png")
    assert image.size == (6, 4) and image.getpixel((0, 0)) == (255, 255, 255)
    assert mlflow.artifacts.load_image(f"{base}/curve.png").size[0] > 100
    table = mlflow.load_table("tables/t.json", extra_columns=["run_id"])
    assert list(table["x"]) == [1, 2, 3] and set(table["run_id"]) == {run.info.run_id}
    uri = mlflow.get_run(run.info.run_id).info.artifact_uri + "/notes.txt"
    assert mlflow.artifacts.load_text(uri) == "héllo"
    names = {f.path for f in mlflow.artifacts.list_artifacts(run_id=run.info.run_id)}
    assert {"cfg", "notes.txt", "white.png", "curve.png", "images", "tables"} <= names
    with pytest.raises(errors.InvalidArgument, match="neither JSON nor YAML"):
        mlflow.artifacts.load_dict(f"{base}/notes.txt")
    with pytest.raises(errors.InvalidArgument, match="not UTF-8"):
        mlflow.artifacts.load_text(f"{base}/white.png")
    with pytest.raises(errors.InvalidArgument, match="exactly one"):
        mlflow.artifacts.download_artifacts()


def test_dataset_inputs(experiment, server):
    frame = pd.DataFrame({"a": [1, 2, 3], "label": [0, 1, 0]})
    dataset = mlflow.data.from_pandas(
        frame, source="s3://bucket/train.csv", targets="label", name="train"
    )
    with mlflow.start_run() as run:
        mlflow.log_input(dataset, context="training", tags={"version": 2})
        mlflow.log_input(mlflow.data.from_numpy(np.ones((5, 2)), name="eval"), context="eval")
    client = mlflow.TrackingClient(server.tracking_uri)
    inputs = client.get_run(run.info.run_id).inputs.dataset_inputs
    by_name = {i.dataset.name: i for i in inputs}
    assert set(by_name) == {"train", "eval"}
    train = by_name["train"]
    assert train.dataset.source_type == "s3" and json.loads(train.dataset.source) == {
        "uri": "s3://bucket/train.csv"
    }
    assert json.loads(train.dataset.profile)["num_rows"] == 3
    assert {t.key: t.value for t in train.tags} == {
        "version": "2",
        "mlflow.data.context": "training",
    }
    same = mlflow.data.from_pandas(frame.copy(), name="train")
    assert same.digest == train.dataset.digest and len(same.digest) == 8
    client.close()


def test_system_metrics_follow_the_run(experiment, monkeypatch):
    monkeypatch.setenv("TRACKWIRE_SYSTEM_METRICS_SAMPLING_INTERVAL", "0.05")
    with mlflow.start_run(log_system_metrics=True) as run:
        monitor = run.system_metrics
        for _ in range(1000):  # sampled in the background; the flush in get_run sends it
            if "system/cpu_utilization_percentage" in mlflow.get_run(run.info.run_id).data.metrics:
                break
            time.sleep(0.01)
        assert monitor.running
    assert not monitor.running
    history = mlflow.get_metric_history(run.info.run_id, "system/system_memory_usage_megabytes")
    assert [m.step for m in history] == list(range(len(history))) and history[0].value > 0
    with mlflow.start_run() as quiet:
        assert quiet.system_metrics is None
    mlflow.enable_system_metrics_logging()
    try:
        with mlflow.start_run() as sampled:
            assert sampled.system_metrics is not None
    finally:
        mlflow.disable_system_metrics_logging()


def test_sklearn_autolog(experiment):
    from sklearn.datasets import make_classification
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, y = make_classification(n_samples=60, n_features=4, random_state=0)
    mlflow.autolog()
    try:
        model = make_pipeline(StandardScaler(), LogisticRegression(C=0.5)).fit(X, y)
        own = mlflow.last_active_run()
        with mlflow.start_run() as outer:
            LogisticRegression(max_iter=50).fit(X, y)
    finally:
        mlflow.autolog(disable=True)
    LogisticRegression().fit(X, y)  # not logged any more
    assert model.score(X, y) > 0.5
    assert own.info.status == "FINISHED"
    assert own.data.tags["estimator_name"] == "Pipeline"
    assert own.data.params["logisticregression__C"] == "0.5"
    assert 0 < own.data.metrics["training_accuracy_score"] <= 1
    assert {"training_f1_score", "training_log_loss", "training_roc_auc", "training_score"} <= set(
        own.data.metrics
    )
    inner = mlflow.get_run(outer.info.run_id)
    assert (
        inner.data.params["max_iter"] == "50"
        and inner.data.tags["estimator_name"] == "LogisticRegression"
    )
    runs = mlflow.search_runs(output_format="list")
    assert len(runs) == 2
