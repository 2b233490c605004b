"""Offline logging: runs started while the server is unreachable go to the spool, and
`trackwire sync` uploads them complete, identical to runs logged online, exactly once."""

from __future__ import annotations

import math
import os
import subprocess
import sys
import uuid

import pytest
from server_process import free_port

import trackwire as tw
from trackwire.client import TrackingClient, spool
from trackwire.v1 import entities_pb2 as ent

STEPS = 2500


@pytest.fixture(autouse=True)
def spool_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("TRACKWIRE_SPOOL_DIR", str(tmp_path / "spool"))
    yield tmp_path / "spool"
    while tw.active_run():
        tw.end_run()
    tw.set_tracking_uri(None)


def _log_training_run(experiment: str) -> str:
    tw.set_experiment(experiment)
    with tw.start_run(run_name="train") as run:
        tw.log_params({"lr": "0.01", "layers": 3})
        tw.set_tag("phase", "test")
        for step in range(STEPS):
            tw.log_metric("loss", 1 / (step + 1), step=step, timestamp=1_000 + step)
        tw.log_metric("score", math.nan, step=1, timestamp=7)
        tw.log_text("hello", "notes/readme.txt")
    return run.info.run_id


def _content(client: TrackingClient, run_id: str) -> dict:
    """What a run holds, without what differs between two runs (ids, times)."""
    run = client.get_run(run_id)
    tags = {t.key: t.value for t in run.data.tags}
    histories = {
        m.key: [(p.step, p.timestamp, "nan" if math.isnan(p.value) else p.value)
                for p in client.get_metric_history(run_id, m.key)]
        for m in run.data.metrics
    }  # fmt: skip
    return {
        "name": run.info.run_name,
        "status": run.info.status,
        "ended": run.info.HasField("end_time"),
        "params": {p.key: p.value for p in run.data.params},
        "tags": {k: v for k, v in tags.items() if not k.startswith("trackwire.spool")},
        "histories": histories,
        "artifacts": [(f.path, f.is_dir) for f in client.list_artifacts(run_id, "notes")],
    }


def test_offline_run_syncs_identical_to_an_online_one(server, spool_dir):
    offline_uri = f"grpc://127.0.0.1:{free_port()}"  # nothing listens here
    experiment = f"offline-{uuid.uuid4().hex}"

    tw.set_tracking_uri(offline_uri)
    spooled_id = _log_training_run(experiment)
    assert spool.has_pending(spool_dir)

    tw.set_tracking_uri(server.tracking_uri)
    online_id = _log_training_run(experiment)

    # `trackwire sync` with the server that came back (here at another address).
    result = subprocess.run(
        [sys.executable, "-m", "trackwire.cli", "sync", "--tracking-uri", server.tracking_uri],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "TRACKWIRE_SPOOL_DIR": str(spool_dir)},
    )
    assert result.returncode == 0, result.stderr
    with TrackingClient(server.tracking_uri) as client:
        experiment_id = client.get_experiment_by_name(experiment).experiment_id
        runs = client.search_runs([experiment_id])
        assert len(runs) == 2
        synced_id = next(r.info.run_id for r in runs if r.info.run_id != online_id)
        synced, online = _content(client, synced_id), _content(client, online_id)
        assert synced == online
        assert synced["status"] == ent.RUN_STATUS_FINISHED
        assert len(synced["histories"]["loss"]) == STEPS

        # An interrupted sync repeated (the spooled run restored): nothing is stored twice.
        with spool.open_spool(spool_dir) as local:
            local.restore_run(spooled_id)
        assert spool.sync(spool_dir, server.tracking_uri) == [(spooled_id, synced_id)]
        assert _content(client, synced_id) == online
        assert len(client.search_runs([experiment_id])) == 2
    assert spool.sync(spool_dir, server.tracking_uri) == []


def test_imports_and_locks_without_fcntl(tmp_path):
    """Windows has no fcntl: the client imports, and the spool's lock works, without it."""
    script = (
        "import sys; sys.modules['fcntl'] = None\n"
        "from pathlib import Path\n"
        "import trackwire as tw\n"
        "from trackwire.client import spool\n"
        f"directory = Path({str(tmp_path)!r})\n"
        "with spool._exclusive(directory):\n"
        "    print(sorted(p.name for p in directory.iterdir()))\n"
        "print(spool.sync(directory), tw.get_tracking_uri())\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "TRACKWIRE_TRACKING_URI"}
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=False, env=env
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split("\n")[:2] == ["['sync.lock']", "[] sqlite:///trackwire.db"]
