"""Embedded mode: `sqlite:///` runs the store in-process, no server; a server serves it later."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import pytest
from server_process import LiveServer

from trackwire import errors
from trackwire.client import TrackingClient
from trackwire.v1 import entities_pb2 as ent


def test_embedded_store_needs_no_server_and_a_server_can_serve_it_later(tmp_path):
    db_uri = f"sqlite:///{tmp_path / 'embedded.db'}"
    artifacts = tmp_path / "artifacts"
    with TrackingClient(db_uri, artifacts_destination=str(artifacts)) as client:
        eid = client.create_experiment("offline", tags={"where": "laptop"})
        run = client.create_run(eid, run_name="local")
        rid = run.info.run_id
        client.log_param(rid, "lr", "0.1")
        client.log_batch(
            rid, metrics=[ent.Metric(key="loss", value=v, step=i) for i, v in enumerate([3, 2, 1])]
        )
        client.log_metric(rid, "loss", float("inf"), step=3)
        (tmp_path / "model.txt").write_text("weights")
        client.log_artifact(rid, tmp_path / "model.txt", "model")
        assert [m.value for m in client.get_metric_history(rid, "loss")] == [3, 2, 1, math.inf]
        local = client.download_artifacts(rid, "model/model.txt", tmp_path / "out")
        assert Path(local).read_text() == "weights"
        with pytest.raises(errors.InvalidArgument):
            client.log_param(rid, "lr", "0.2")
        with pytest.raises(errors.NotFound):
            client.get_run("0" * 32)
        client.set_terminated(rid)

    with LiveServer(tmp_path / "server", backend_store_uri=db_uri) as server:
        server_client = TrackingClient(server.tracking_uri)
        served = server_client.get_run(rid)
        assert served.info.status == ent.RUN_STATUS_FINISHED
        assert {p.key: p.value for p in served.data.params} == {"lr": "0.1"}
        assert [r.info.run_id for r in server_client.search_runs([eid])] == [rid]
        server_client.close()


def test_embedded_is_the_default_in_the_working_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("TRACKWIRE_TRACKING_URI", raising=False)
    with TrackingClient() as client:
        assert client.tracking_uri == "sqlite:///trackwire.db"
        rid = client.create_run("0").info.run_id
        (tmp_path / "f.txt").write_text("x")
        client.log_artifact(rid, tmp_path / "f.txt")
    assert (tmp_path / "trackwire.db").exists()
    assert list((tmp_path / "trackwire-artifacts").rglob("f.txt"))


def test_embedded_mode_without_the_server_extra_names_it(tmp_path):
    # A client-only install lacks SQLAlchemy; simulate that in a fresh interpreter.
    script = (
        "import sys; sys.modules['sqlalchemy'] = None\n"
        "from trackwire.client import TrackingClient\n"
        f"TrackingClient('sqlite:///{tmp_path / 'x.db'}')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=False
    )
    assert result.returncode != 0
    assert "pip install 'trackwire[server]'" in result.stderr
