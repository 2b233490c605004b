"""TrackingClient against a real `trackwire server` process (the shared `server` fixture of
conftest.py) over gRPC and over HTTP/JSON: every RPC, errors, chunking."""

from __future__ import annotations

import math
import uuid

import pytest
from server_process import free_port

from trackwire import errors, limits
from trackwire.client import TrackingClient
from trackwire.client.tracking import _batches
from trackwire.v1 import entities_pb2 as ent


@pytest.fixture(scope="module", params=["grpc", "http"])
def client(request, server):
    """The same tests over both wires: gRPC, and HTTP/JSON through the gateway."""
    uri = server.tracking_uri if request.param == "grpc" else server.http_url
    with TrackingClient(uri) as c:
        yield c


@pytest.fixture
def experiment_id(client):
    return client.create_experiment(f"exp-{uuid.uuid4().hex}")


@pytest.fixture
def run_id(client, experiment_id):
    return client.create_run(experiment_id).info.run_id


def test_experiment_lifecycle(client):
    name = f"exp-{uuid.uuid4().hex}"
    eid = client.create_experiment(name, tags={"team": "ml"})
    experiment = client.get_experiment(eid)
    assert (experiment.name, experiment.lifecycle_stage) == (name, "active")
    assert {t.key: t.value for t in experiment.tags} == {"team": "ml"}
    assert client.get_experiment_by_name(name).experiment_id == eid

    client.rename_experiment(eid, name + "-renamed")
    assert client.get_experiment(eid).name == name + "-renamed"
    client.update_experiment(eid, name)
    assert client.get_experiment(eid).name == name

    client.set_experiment_tag(eid, "stage", "dev")
    client.delete_experiment_tag(eid, "team")
    assert {t.key: t.value for t in client.get_experiment(eid).tags} == {"stage": "dev"}

    client.delete_experiment(eid)
    assert client.get_experiment(eid).lifecycle_stage == "deleted"
    deleted = client.search_experiments(filter_string=f"name = '{name}'", view_type="DELETED_ONLY")
    assert [e.experiment_id for e in deleted] == [eid]
    client.restore_experiment(eid)
    active = client.search_experiments(filter_string=f"name = '{name}'")
    assert [e.experiment_id for e in active] == [eid]
    assert active.token == ""


def test_search_experiments_pages(client):
    prefix = f"paged-{uuid.uuid4().hex}"
    ids = [client.create_experiment(f"{prefix}-{i}") for i in range(5)]
    seen, token = [], None
    while True:
        page = client.search_experiments(
            filter_string=f"name LIKE '{prefix}-%'",
            order_by=["name ASC"],
            max_results=2,
            page_token=token,
        )
        seen.extend(e.experiment_id for e in page)
        token = page.token
        if not token:
            break
    assert seen == ids


def test_run_lifecycle(client, experiment_id):
    run = client.create_run(
        experiment_id, start_time=1_700_000_000_000, tags={"a": "b"}, run_name="r1", user_id="ada"
    )
    info = run.info
    assert info.status == ent.RUN_STATUS_RUNNING
    assert (info.run_name, info.user_id, info.start_time) == ("r1", "ada", 1_700_000_000_000)
    assert not info.HasField("end_time")

    updated = client.update_run(info.run_id, run_name="r2")
    assert updated.run_name == "r2"
    client.set_terminated(info.run_id, "KILLED", end_time=1_700_000_001_000)
    got = client.get_run(info.run_id).info
    assert (got.status, got.end_time) == (ent.RUN_STATUS_KILLED, 1_700_000_001_000)

    client.delete_run(info.run_id)
    assert client.get_run(info.run_id).info.lifecycle_stage == "deleted"
    assert list(client.search_runs([experiment_id])) == []
    assert len(client.search_runs([experiment_id], run_view_type="DELETED_ONLY")) == 1
    client.restore_run(info.run_id)
    assert client.get_run(info.run_id).info.lifecycle_stage == "active"


def test_logging_rpcs(client, run_id):
    client.log_param(run_id, "lr", 0.01)
    client.set_tag(run_id, "t", "v")
    client.set_tag(run_id, "gone", "x")
    client.delete_tag(run_id, "gone")
    client.log_metric(run_id, "loss", 0.5, timestamp=1, step=1)
    client.log_metric(run_id, "loss", float("nan"), timestamp=2, step=2)
    client.log_inputs(
        run_id,
        [
            ent.DatasetInput(
                dataset=ent.Dataset(name="d", digest="x1", source_type="local", source="/d"),
                tags=[ent.InputTag(key="mlflow.data.context", value="train")],
            )
        ],
    )
    run = client.get_run(run_id)
    assert {p.key: p.value for p in run.data.params} == {"lr": "0.01"}
    assert {t.key: t.value for t in run.data.tags}["t"] == "v"
    assert "gone" not in {t.key for t in run.data.tags}
    assert [d.dataset.name for d in run.inputs.dataset_inputs] == ["d"]
    history = client.get_metric_history(run_id, "loss")
    assert [m.step for m in history] == [1, 2]
    first = client.get_metric_history_page(run_id, "loss", max_results=1)
    second = client.get_metric_history_page(run_id, "loss", max_results=1, page_token=first.token)
    assert [m.step for m in first + second] == [1, 2] and second.token == ""
    assert history[0].value == 0.5 and math.isnan(history[1].value)


def test_delete_runs_deletes_the_oldest_up_to_the_time_and_count(client, experiment_id):
    run_ids = [client.create_run(experiment_id, start_time=t).info.run_id for t in (1, 2, 3, 4)]
    assert client.delete_runs(experiment_id, max_timestamp_millis=3, max_runs=2) == 2
    assert client.delete_runs(experiment_id, max_timestamp_millis=3) == 1
    assert client.delete_runs(experiment_id, max_timestamp_millis=3) == 0
    active = client.search_runs([experiment_id])
    assert [r.info.run_id for r in active] == [run_ids[3]]
    deleted = client.search_runs([experiment_id], run_view_type="DELETED_ONLY")
    assert sorted(r.info.run_id for r in deleted) == sorted(run_ids[:3])


def test_delete_runs_errors(client, experiment_id):
    with pytest.raises(errors.NotFound):
        client.delete_runs("987654321", max_timestamp_millis=1)
    with pytest.raises(errors.InvalidArgument, match="max_timestamp_millis"):
        client.delete_runs(experiment_id, max_timestamp_millis=0)


def test_search_runs_filter_and_order(client, experiment_id):
    ids = []
    for acc in (0.1, 0.9, 0.5):
        rid = client.create_run(experiment_id).info.run_id
        client.log_metric(rid, "acc", acc)
        ids.append(rid)
    found = client.search_runs(
        [experiment_id], "metrics.acc > 0.3", order_by=["metrics.acc DESC"], max_results=10
    )
    assert [r.info.run_id for r in found] == [ids[1], ids[2]]
    assert found.token == ""


def test_errors_carry_class_and_message(client, run_id):
    with pytest.raises(errors.NotFound):
        client.get_run("0" * 32)
    with pytest.raises(errors.NotFound):
        client.get_experiment("999999")
    name = f"dup-{uuid.uuid4().hex}"
    client.create_experiment(name)
    with pytest.raises(errors.AlreadyExists):
        client.create_experiment(name)
    client.log_param(run_id, "p", "1")
    with pytest.raises(errors.InvalidArgument, match="p"):
        client.log_param(run_id, "p", "2")
    with pytest.raises(errors.InvalidArgument):
        client.search_runs(["0"], "metrics.x >>> 1")
    with pytest.raises(errors.InvalidArgument, match="ACTIVE_ONLY"):
        client.search_runs(["0"], run_view_type="SOMETIMES")


def test_log_batch_is_chunked_to_the_limits(client, run_id):
    metrics = [ent.Metric(key=f"m{i % 3}", value=i, step=i, timestamp=i) for i in range(2500)]
    params = {f"p{i}": str(i) for i in range(250)}
    tags = {f"t{i}": str(i) for i in range(150)}
    client.log_batch(run_id, metrics=metrics, params=params, tags=tags)
    run = client.get_run(run_id)
    assert len(run.data.params) == 250
    assert {t.key for t in run.data.tags} >= set(tags)
    points = [m for key in ("m0", "m1", "m2") for m in client.get_metric_history(run_id, key)]
    assert sorted(m.step for m in points) == list(range(2500))


def test_batches_respect_every_limit_and_send_params_first():
    params = [ent.Param(key=f"p{i}", value="v") for i in range(250)]
    tags = [ent.RunTag(key=f"t{i}", value="v") for i in range(150)]
    metrics = [ent.Metric(key="m", value=i, step=i) for i in range(2500)]
    requests = list(_batches("r", params, tags, metrics))
    for request in requests:
        assert len(request.params) <= limits.MAX_PARAMS_PER_BATCH
        assert len(request.tags) <= limits.MAX_TAGS_PER_BATCH
        assert len(request.metrics) <= limits.MAX_METRICS_PER_BATCH
        total = len(request.params) + len(request.tags) + len(request.metrics)
        assert total <= limits.MAX_ENTRIES_PER_BATCH
    assert [p for r in requests for p in r.params] == params
    assert [t for r in requests for t in r.tags] == tags
    assert [m for r in requests for m in r.metrics] == metrics
    first_metric = next(i for i, r in enumerate(requests) if r.metrics)
    assert all(not r.params for r in requests[first_metric + 1 :])


def test_param_conflict_in_a_later_chunk_fails_before_metrics_land(client, run_id):
    client.log_param(run_id, "p120", "original")
    params = {f"p{i}": "new" for i in range(150)}  # p120 lands in the second request
    metrics = [ent.Metric(key="m", value=i, step=i, timestamp=i) for i in range(2000)]
    with pytest.raises(errors.InvalidArgument, match="p120"):
        client.log_batch(run_id, metrics=metrics, params=params)
    assert client.get_metric_history(run_id, "m") == []


@pytest.mark.parametrize("scheme", ["grpc", "http"])
def test_unreachable_server_is_unavailable(scheme):
    uri = f"{scheme}://127.0.0.1:{free_port()}"
    with TrackingClient(uri) as c, pytest.raises(errors.Unavailable):
        c.get_experiment("0")


@pytest.mark.parametrize("uri", ["ftp://x", "grpc://no-port", "mlflow", "http://"])
def test_unsupported_uris_are_clear_errors(uri):
    with pytest.raises(errors.InvalidArgument, match="URI"):
        TrackingClient(uri)


def test_default_uri_comes_from_the_environment(monkeypatch, server):
    monkeypatch.setenv("TRACKWIRE_TRACKING_URI", server.tracking_uri)
    with TrackingClient() as c:
        assert c.tracking_uri == server.tracking_uri
        assert c.get_experiment("0").name == "Default"


def test_history_columns_bulk_interval_and_selected_columns(client, experiment_id, run_id):
    metrics = [ent.Metric(key="loss", value=s / 10, step=s, timestamp=s) for s in range(500)]
    client.log_batch(run_id, metrics=metrics, params={"lr": "0.1", "bs": "32"})
    history = client.get_metric_history_columns(run_id, "loss")
    assert history.steps == list(range(500)) and history.values[10] == 1.0
    assert [m.step for m in client.get_metric_history(run_id, "loss")] == list(range(500))
    sampled = client.get_metric_history_bulk_interval([run_id], "loss", max_results=20)
    assert len(sampled) == 20 and sampled[0].step == 0 and sampled[-1].step == 499
    (run,) = client.search_runs([experiment_id], columns={"params": ["lr"]})
    assert [p.key for p in run.data.params] == ["lr"] and not run.data.metrics
