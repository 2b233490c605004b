"""A store created by the first schema version upgrades to the current one with its data."""

from __future__ import annotations

import math

from sqlalchemy import text

from trackwire.server.services import open_services
from trackwire.server.store.engine import create_store_engine, upgrade_schema
from trackwire.v1 import entities_pb2 as pb
from trackwire.v1 import tracking_service_pb2 as rpc


def test_first_schema_upgrades_with_data_intact(tmp_path):
    uri = f"sqlite:///{tmp_path / 'old.db'}"
    engine = create_store_engine(uri)
    upgrade_schema(engine, "0001")
    with engine.begin() as conn:
        conn.execute(
            text("INSERT INTO experiments VALUES (7, 'old', 'mlflow-artifacts:/7', 'active', 1, 2)")
        )
        conn.execute(
            text(
                "INSERT INTO runs VALUES ('a' || printf('%031d', 0), 7, 'r', 'u', 'FINISHED', "
                "10, 20, 'mlflow-artifacts:/7/x/artifacts', 'active', NULL)"
            )
        )
        run_id = conn.execute(text("SELECT run_id FROM runs")).scalar_one()
        conn.execute(text(f"INSERT INTO params VALUES ('{run_id}', 'lr', '0.1')"))
        # Two points at one step and timestamp: the clustered history (0004) keeps both, in
        # the order of their ids.
        conn.execute(
            text(
                f"INSERT INTO metrics (run_id, key, step, timestamp, value) "
                f"VALUES ('{run_id}', 'loss', 0, 5, NULL), ('{run_id}', 'loss', 0, 5, 0.25)"
            )
        )
        conn.execute(text(f"INSERT INTO latest_metrics VALUES ('{run_id}', 'loss', 0, 5, NULL)"))
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == "0001"
    engine.dispose()

    services = open_services(uri, str(tmp_path / "artifacts"))  # upgrades to the newest
    try:
        run = services.tracking.GetRun(rpc.GetRunRequest(run_id=run_id)).run
        assert run.info.experiment_id == "7" and run.info.end_time == 20
        assert {p.key: p.value for p in run.data.params} == {"lr": "0.1"}
        assert math.isnan(run.data.metrics[0].value)
        history = services.tracking.GetMetricHistory(
            rpc.GetMetricHistoryRequest(run_id=run_id, metric_key="loss")
        ).metrics
        assert [(m.step, m.timestamp) for m in history] == [(0, 5), (0, 5)]
        assert math.isnan(history[0].value) and history[1].value == 0.25
        experiment = services.tracking.GetExperiment(rpc.GetExperimentRequest(experiment_id="7"))
        assert experiment.experiment.name == "old"
        # The new revision's feature works on the upgraded store.
        request = rpc.LogBatchRequest(run_id=run_id, request_id="upgraded")
        services.tracking.LogBatch(request)
        services.tracking.LogMetric(
            rpc.LogMetricRequest(run_id=run_id, key="loss", value=0.5, step=0, timestamp=5)
        )
        history = services.tracking.GetMetricHistory(
            rpc.GetMetricHistoryRequest(run_id=run_id, metric_key="loss")
        ).metrics
        assert [m.value for m in history][1:] == [0.25, 0.5]
    finally:
        services.close()


def test_metric_blocks_are_built_from_the_history_of_a_store_without_them(tmp_path):
    uri = f"sqlite:///{tmp_path / 'store.db'}"
    request = rpc.GetMetricBucketsRequest(metric_key="m", buckets=7)
    services = open_services(uri, str(tmp_path / "artifacts"))
    try:
        tracking = services.tracking
        for _ in range(2):
            run_id = tracking.CreateRun(rpc.CreateRunRequest(experiment_id="0")).run.info.run_id
            points = [(step, step % 5, math.sin(step)) for step in range(-40, 300, 3)]
            points += [(7, 9, math.nan), (7, 9, math.inf), (100, 0, -1e9)]
            metrics = [pb.Metric(key="m", step=s, timestamp=ts, value=v) for s, ts, v in points]
            tracking.LogBatch(rpc.LogBatchRequest(run_id=run_id, metrics=metrics))
            request.run_ids.append(run_id)
        written = tracking.GetMetricBuckets(request)
    finally:
        services.close()
    engine = create_store_engine(uri)
    with engine.begin() as conn:  # the store as revision 0007 left it
        conn.execute(text("DROP TABLE metric_blocks"))
        conn.execute(text("ALTER TABLE latest_metrics DROP COLUMN summarized_below"))  # 0009's
        conn.execute(text("UPDATE alembic_version SET version_num = '0007'"))
    engine.dispose()

    services = open_services(uri, str(tmp_path / "artifacts"))  # upgrades, building the blocks
    try:
        rebuilt = services.tracking.GetMetricBuckets(request)
    finally:
        services.close()
    assert len(written.runs[0].buckets) == 7
    # NaN != NaN field by field; the serialised messages compare bit for bit.
    assert rebuilt.SerializeToString() == written.SerializeToString()
