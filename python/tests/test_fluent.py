"""The fluent API (`import trackwire as tw`) against a real server process, and embedded."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import yaml

import trackwire as tw
from trackwire import errors
from trackwire.client import TrackingClient
from trackwire.v1 import entities_pb2 as ent


@pytest.fixture
def uri(server):
    """Points the fluent API at the server with a fresh experiment; leaves no run active."""
    tw.set_tracking_uri(server.tracking_uri)
    tw.set_experiment(f"fluent-{uuid.uuid4().hex}")
    yield server.tracking_uri
    while tw.active_run():
        tw.end_run()


@pytest.fixture
def client(uri):
    with TrackingClient(uri) as c:
        yield c


def tags_of(run: ent.Run) -> dict[str, str]:
    return {t.key: t.value for t in run.data.tags}


def test_start_run_finishes_with_system_tags(client):
    with tw.start_run(run_name="train") as run:
        assert tw.active_run() is run
        tw.log_param("lr", 0.01)
        tw.log_params({"layers": 3, "act": "relu"})
        tw.set_tag("team", "ml")
        tw.set_tags({"a": 1})
        tw.log_metric("loss", 0.5, step=1)
        tw.log_metrics({"loss": 0.25, "acc": 0.9}, step=2, timestamp=1_700_000_000_000)
    assert tw.active_run() is None
    stored = client.get_run(run.info.run_id)
    assert stored.info.status == ent.RUN_STATUS_FINISHED
    assert stored.info.HasField("end_time")
    assert {p.key: p.value for p in stored.data.params} == {
        "lr": "0.01",
        "layers": "3",
        "act": "relu",
    }
    tags = tags_of(stored)
    assert tags["team"] == "ml" and tags["a"] == "1"
    assert tags["mlflow.runName"] == "train"
    assert tags["mlflow.source.type"] == "LOCAL"
    assert tags["mlflow.user"] and tags["mlflow.source.name"]
    head = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=False)
    if head.returncode == 0:
        assert tags["mlflow.source.git.commit"] == head.stdout.strip()
    history = tw.get_metric_history(run.info.run_id, "loss")
    assert [(m.step, m.value) for m in history] == [(1, 0.5), (2, 0.25)]
    assert {m.key: m.value for m in stored.data.metrics} == {"loss": 0.25, "acc": 0.9}


def test_exception_marks_the_run_failed(client):
    with pytest.raises(RuntimeError, match="boom"), tw.start_run() as run:
        tw.log_metric("x", 1)
        raise RuntimeError("boom")
    stored = client.get_run(run.info.run_id)
    assert stored.info.status == ent.RUN_STATUS_FAILED
    assert [m.key for m in stored.data.metrics] == ["x"]


def test_nested_runs_tag_their_parent(client):
    with tw.start_run() as parent:
        with pytest.raises(errors.InvalidArgument, match="nested=True"):
            tw.start_run()
        with tw.start_run(nested=True) as child:
            assert tw.active_run() is child
        assert tw.active_run() is parent
    assert tags_of(client.get_run(child.info.run_id))["mlflow.parentRunId"] == parent.info.run_id
    assert "mlflow.parentRunId" not in tags_of(client.get_run(parent.info.run_id))


def test_set_experiment_by_name_creates_once_and_by_id(client):
    name = f"named-{uuid.uuid4().hex}"
    created = tw.set_experiment(name)
    assert tw.set_experiment(name).experiment_id == created.experiment_id
    assert tw.set_experiment(experiment_id=created.experiment_id).name == name
    with tw.start_run() as run:
        pass
    assert run.info.experiment_id == created.experiment_id
    client.delete_experiment(created.experiment_id)
    with pytest.raises(errors.InvalidArgument, match="deleted"):
        tw.set_experiment(name)
    with pytest.raises(errors.NotFound):
        tw.set_experiment(experiment_id="987654321")


def test_resume_end_run_status_and_delete(client):
    with tw.start_run() as run:
        pass
    with tw.start_run(run_id=run.info.run_id):
        assert client.get_run(run.info.run_id).info.status == ent.RUN_STATUS_RUNNING
        tw.end_run("KILLED")
    assert client.get_run(run.info.run_id).info.status == ent.RUN_STATUS_KILLED
    tw.delete_run(run.info.run_id)
    assert client.get_run(run.info.run_id).info.lifecycle_stage == "deleted"


def test_delete_runs(client):
    with tw.start_run() as old:
        pass
    experiment_id = old.info.experiment_id
    assert tw.delete_runs(experiment_id, old.info.start_time) == 1
    assert client.get_run(old.info.run_id).info.lifecycle_stage == "deleted"


def test_logging_without_a_run_starts_one(client):
    tw.log_param("auto", "yes")
    run = tw.active_run()
    assert run is not None
    tw.end_run()
    assert client.get_run(run.info.run_id).info.status == ent.RUN_STATUS_FINISHED


def test_artifacts(tmp_path):
    (tmp_path / "model.bin").write_bytes(b"\x00\x01")
    (tmp_path / "dir" / "sub").mkdir(parents=True)
    (tmp_path / "dir" / "sub" / "a.txt").write_text("a")
    with tw.start_run():
        tw.log_artifact(tmp_path / "model.bin")
        tw.log_artifacts(tmp_path / "dir", "tree")
        tw.log_dict({"lr": 0.1, "layers": [1, 2]}, "config/params.json")
        tw.log_dict({"lr": 0.1}, "config/params.yaml")
        tw.log_text("hello", "notes.txt")
        assert sorted(f.path for f in tw.list_artifacts()) == [
            "config",
            "model.bin",
            "notes.txt",
            "tree",
        ]
        assert [f.path for f in tw.list_artifacts("tree")] == ["tree/sub"]
        config = Path(tw.download_artifacts("config", dst_path=str(tmp_path / "out")))
        assert json.loads((config / "params.json").read_text()) == {"lr": 0.1, "layers": [1, 2]}
        assert yaml.safe_load((config / "params.yaml").read_text()) == {"lr": 0.1}
        assert Path(tw.download_artifacts("notes.txt")).read_text() == "hello"


def test_search_runs_returns_a_dataframe(uri):
    with tw.start_run(run_name="a") as a:
        tw.log_metric("acc", 0.5)
        tw.log_param("lr", "0.1")
    with tw.start_run(run_name="b") as b:
        tw.log_metric("acc", 0.9)
        tw.set_tag("best", "yes")
    frame = tw.search_runs(order_by=["metrics.acc DESC"])
    assert list(frame["run_id"]) == [b.info.run_id, a.info.run_id]
    for column in ("run_id", "experiment_id", "status", "start_time", "end_time"):
        assert column in frame.columns
    assert list(frame["metrics.acc"]) == [0.9, 0.5]
    assert list(frame["status"]) == ["FINISHED", "FINISHED"]
    assert frame["params.lr"].isna().tolist() == [True, False]
    assert frame.loc[0, "tags.best"] == "yes"
    assert frame["end_time"].notna().all()
    filtered = tw.search_runs(filter_string="params.lr = '0.1'")
    assert list(filtered["run_id"]) == [a.info.run_id]
    empty = tw.search_runs(filter_string="metrics.acc > 2")
    assert len(empty) == 0 and "run_id" in empty.columns


def test_search_experiments(uri):
    name = f"searchable-{uuid.uuid4().hex}"
    tw.set_experiment(name)
    assert [e.name for e in tw.search_experiments(filter_string=f"name = '{name}'")] == [name]


def test_background_batching_stores_every_point(client):
    with tw.start_run() as run:
        for step in range(100_000):
            tw.log_metric("loss", step, step=step)
    history = client.get_metric_history(run.info.run_id, "loss")
    assert len(history) == 100_000
    assert [m.step for m in history] == list(range(100_000))


def test_bad_keys_and_values_are_refused_at_the_call(client):
    with tw.start_run() as run:
        with pytest.raises(errors.InvalidArgument, match="bad key!"):
            tw.log_metric("bad key!", 1.0)
        with pytest.raises(errors.InvalidArgument, match="'x' exceeds|maximum length"):
            tw.log_metrics({"x" * 251: 1.0})
        with pytest.raises(errors.InvalidArgument, match="expected a number"):
            tw.log_metric("loss", "high")
        tw.log_metric("good", 1.0)
    stored = client.get_run(run.info.run_id)
    assert stored.info.status == ent.RUN_STATUS_FINISHED
    assert [m.key for m in stored.data.metrics] == ["good"]


def test_background_errors_surface_at_end_run(client):
    run = tw.start_run()
    elsewhere = client.create_run(run.info.experiment_id).info.run_id
    client.delete_run(elsewhere)
    tw.log_metric("x", 1.0, run_id=elsewhere)  # queued: the server refuses it in the background
    with pytest.raises(errors.InvalidArgument, match=elsewhere):
        tw.end_run()
    assert tw.active_run() is None
    assert client.get_run(run.info.run_id).info.status == ent.RUN_STATUS_FAILED


def test_background_errors_surface_on_the_next_call(client):
    with tw.start_run() as run:
        elsewhere = client.create_run(run.info.experiment_id).info.run_id
        client.delete_run(elsewhere)
        tw.log_metric("x", 1.0, run_id=elsewhere)
        with pytest.raises(errors.InvalidArgument, match=elsewhere):
            tw.get_metric_history(run.info.run_id, "x")  # flushes, so the failure is known by now
        tw.log_metric("good", 1.0)


def test_embedded_fluent(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    tw.set_tracking_uri(f"sqlite:///{tmp_path / 'fluent.db'}")
    try:
        tw.set_experiment("embedded")
        with tw.start_run() as run:
            tw.log_metric("m", 1.0)
            tw.log_text("x", "x.txt")
        frame = tw.search_runs()
        assert list(frame["run_id"]) == [run.info.run_id]
        assert list(frame["metrics.m"]) == [1.0]
        assert list((tmp_path / "trackwire-artifacts").rglob("x.txt"))
    finally:
        tw.set_tracking_uri(None)  # closes the embedded store


def test_tracking_uri_defaults(monkeypatch):
    tw.set_tracking_uri(None)
    monkeypatch.delenv("TRACKWIRE_TRACKING_URI", raising=False)
    assert tw.get_tracking_uri() == "sqlite:///trackwire.db"
    monkeypatch.setenv("TRACKWIRE_TRACKING_URI", "grpc://example:1")
    assert tw.get_tracking_uri() == "grpc://example:1"


def test_interpreter_exit_flushes_and_ends_the_run(client, uri, tmp_path):
    script = tmp_path / "train.py"
    script.write_text(
        "import trackwire as tw\n"
        f"tw.set_tracking_uri({uri!r})\n"
        "run = tw.start_run()\n"
        "print(run.info.run_id)\n"
        "for step in range(5000):\n"
        "    tw.log_metric('loss', step, step=step)\n"
    )
    result = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, check=True
    )
    run_id = result.stdout.strip()
    assert client.get_run(run_id).info.status == ent.RUN_STATUS_FINISHED
    assert len(client.get_metric_history(run_id, "loss")) == 5000
    assert tags_of(client.get_run(run_id))["mlflow.source.name"] == str(script)


def test_search_runs_without_pandas_names_the_extra(uri):
    script = (
        "import sys; sys.modules['pandas'] = None\n"
        "import trackwire as tw\n"
        f"tw.set_tracking_uri({uri!r})\n"
        "tw.search_runs()\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=False
    )
    assert result.returncode != 0
    assert "pip install 'trackwire[pandas]'" in result.stderr
