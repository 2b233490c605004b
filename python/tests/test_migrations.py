"""A store created by the first schema version upgrades to the current one with its data."""

from __future__ import annotations

import math

from sqlalchemy import text

from trackwire.server.app import open_services
from trackwire.server.store.engine import create_store_engine, upgrade_schema
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
        conn.execute(
            text(
                f"INSERT INTO metrics (run_id, key, step, timestamp, value) "
                f"VALUES ('{run_id}', 'loss', 0, 5, NULL)"
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
        experiment = services.tracking.GetExperiment(rpc.GetExperimentRequest(experiment_id="7"))
        assert experiment.experiment.name == "old"
        # The new revision's feature works on the upgraded store.
        request = rpc.LogBatchRequest(run_id=run_id, request_id="upgraded")
        services.tracking.LogBatch(request)
    finally:
        services.close()
