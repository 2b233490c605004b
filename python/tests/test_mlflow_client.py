"""`trackwire.MlflowClient`: MLflow's client shapes (entities, PagedList, None for a missing
experiment) and the rich artifacts (figures, images, tables), against a real server."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from trackwire import errors
from trackwire.client.mlflow_client import MlflowClient
from trackwire.entities import Metric, Param, Run, RunStatus, RunTag, ViewType


@pytest.fixture
def client(server):
    c = MlflowClient(server.tracking_uri)
    yield c
    c.close()


@pytest.fixture
def experiment_id(client, unique):
    return client.create_experiment(unique, tags={"team": "ml"})


def test_runs_come_back_shaped_like_mlflow_entities(client, experiment_id):
    run = client.create_run(experiment_id, run_name="train", tags={"a": 1})
    client.log_batch(
        run.info.run_id,
        metrics=[
            Metric("loss", 0.5, 1_700_000_000_000, 1),
            Metric("loss", 0.25, 1_700_000_000_001, 2),
        ],
        params=[Param("lr", "0.01")],
        tags=[RunTag("phase", "fit")],
    )
    assert client.log_param(run.info.run_id, "layers", 3) == 3
    client.set_terminated(run.info.run_id)

    stored = client.get_run(run.info.run_id)
    assert isinstance(stored, Run)
    assert stored.info.status == RunStatus.FINISHED == "FINISHED"
    assert stored.info.run_name == "train" and stored.info.run_uuid == run.info.run_id
    assert stored.info.end_time is not None and stored.info.lifecycle_stage == "active"
    assert stored.data.params == {"lr": "0.01", "layers": "3"}
    assert stored.data.metrics == {"loss": 0.25}
    assert stored.data.tags["phase"] == "fit" and stored.data.tags["a"] == "1"
    assert stored.to_proto().info.run_id == run.info.run_id
    history = client.get_metric_history(run.info.run_id, "loss")
    assert [(m.step, m.value) for m in history] == [(1, 0.5), (2, 0.25)]


def test_experiments_and_paged_searches(client, experiment_id, unique):
    experiment = client.get_experiment(experiment_id)
    assert experiment.name == unique and experiment.tags == {"team": "ml"}
    assert client.get_experiment_by_name(unique).experiment_id == experiment_id
    assert client.get_experiment_by_name(unique + "-missing") is None
    for i in range(3):
        client.create_run(experiment_id, run_name=f"r{i}")
    first = client.search_runs([experiment_id], max_results=2, order_by=["attributes.run_name"])
    assert [r.info.run_name for r in first] == ["r0", "r1"] and first.token
    rest = client.search_runs(
        experiment_id, max_results=2, page_token=first.token, order_by=["attributes.run_name"]
    )
    assert [r.info.run_name for r in rest] == ["r2"] and rest.token is None
    client.delete_experiment(experiment_id)
    deleted = client.search_experiments(
        view_type=ViewType.DELETED_ONLY, filter_string=f"name = '{unique}'"
    )
    assert [e.experiment_id for e in deleted] == [experiment_id]


def test_parent_run(client, experiment_id):
    parent = client.create_run(experiment_id)
    child = client.create_run(experiment_id, tags={"mlflow.parentRunId": parent.info.run_id})
    assert client.get_parent_run(child.info.run_id).info.run_id == parent.info.run_id
    assert client.get_parent_run(parent.info.run_id) is None


def test_tables_append_and_load_across_runs(client, experiment_id, tmp_path):
    first = client.create_run(experiment_id).info.run_id
    second = client.create_run(experiment_id).info.run_id
    client.log_table(first, {"question": ["a", "b"], "score": [1, 2]}, "eval/results.json")
    client.log_table(first, pd.DataFrame({"question": ["c"], "score": [3]}), "eval/results.json")
    client.log_table(second, {"question": "d", "score": 4}, "eval/results.json")

    local = client.download_artifacts(first, "eval/results.json", str(tmp_path))
    content = json.loads(open(local).read())
    assert content == {"columns": ["question", "score"], "data": [["a", 1], ["b", 2], ["c", 3]]}
    tag = json.loads(client.get_run(first).data.tags["mlflow.loggedArtifacts"])
    assert tag == [{"path": "eval/results.json", "type": "table"}]

    table = client.load_table(experiment_id, "eval/results.json", extra_columns=["run_id"])
    assert sorted(table["question"]) == ["a", "b", "c", "d"]
    assert set(table["run_id"]) == {first, second}
    with pytest.raises(errors.InvalidArgument, match="forbidden|may not contain"):
        client.log_table(first, {"a": [1]}, "bad:name.json")


def test_images_static_and_step_indexed(client, experiment_id):
    run_id = client.create_run(experiment_id).info.run_id
    client.log_image(run_id, np.zeros((8, 16, 3), dtype=np.uint8), artifact_file="static.png")
    client.log_image(run_id, np.full((600, 300), 0.5), key="samples/gen", step=7)
    root = {f.path for f in client.list_artifacts(run_id)}
    assert "static.png" in root and "images" in root
    series = sorted(f.path for f in client.list_artifacts(run_id, "images"))
    assert len(series) == 2
    png, webp = (p for p in sorted(series, key=lambda p: p.endswith(".webp")))
    assert png.startswith("images/samples~gen+step+7+timestamp+") and png.endswith(".png")
    assert webp.endswith("+compressed.webp")
    assert client.get_run(run_id).data.tags["mlflow.loggedImages"] == "true"
    with pytest.raises(ValueError, match="0..1"):
        client.log_image(run_id, np.full((2, 2), 3.0), artifact_file="bad.png")
    with pytest.raises(TypeError):
        client.log_image(run_id, Image.new("RGB", (2, 2)))


def test_figures_and_dicts(client, experiment_id, tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    run_id = client.create_run(experiment_id).info.run_id
    figure, axes = plt.subplots()
    axes.plot([0, 1], [1, 0])
    client.log_figure(run_id, figure, "plots/curve.png")
    plt.close(figure)
    client.log_dict(run_id, {"a": 1, "b": [1, 2]}, "config.yaml")
    client.log_text(run_id, "hello", "notes/readme.txt")
    local = client.download_artifacts(run_id, "plots/curve.png", str(tmp_path))
    assert open(local, "rb").read(8) == b"\x89PNG\r\n\x1a\n"
    config = client.download_artifacts(run_id, "config.yaml", str(tmp_path))
    assert open(config).read() == "a: 1\nb:\n- 1\n- 2\n"
    assert (
        open(client.download_artifacts(run_id, "notes/readme.txt", str(tmp_path))).read() == "hello"
    )
