"""The fluent API through server outages: the server killed with SIGKILL in the middle of a
200,000-point `log_metric` loop over grpc://, back on the same port and store after 10 s or
60 s. No exception reaches the loop, the run ends FINISHED, and the server holds every point
exactly once. A server that stays down leaves the run's writes in a journal on disk, which
`trackwire sync` uploads."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
import uuid

import pytest
from server_process import LiveServer

import trackwire as tw
from trackwire.client import TrackingClient, journal
from trackwire.client._retry import RETRY_DELAYS_SECONDS
from trackwire.v1 import entities_pb2 as ent

POINTS = 200_000
KILLED_AT, DOWN_UNTIL = 50_000, 150_000


@pytest.fixture
def spool_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("TRACKWIRE_SPOOL_DIR", str(tmp_path / "spool"))
    yield tmp_path / "spool"
    while tw.active_run():
        tw.end_run()
    tw.set_tracking_uri(None)


@pytest.fixture
def own_server(tmp_path):
    server = LiveServer(tmp_path / "server").start()
    yield server
    server.stop()


def _warnings(caplog) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == "trackwire" and r.levelno >= logging.WARNING
    ]


def _journals(spool_dir) -> list:
    return sorted(journal.journal_dir(spool_dir).glob("*.journal"))


def _wait_for(condition, what: str, bound_seconds: float = 120) -> None:
    """Polls `condition` until it holds; fails after `bound_seconds` (a bound, not a measure)."""
    deadline = time.monotonic() + bound_seconds
    while not condition():
        assert time.monotonic() < deadline, f"never happened: {what}"
        time.sleep(0.2)


@pytest.mark.parametrize(
    "outage_seconds", [10, pytest.param(60, marks=pytest.mark.slow)], ids=lambda s: f"{s}s"
)
def test_no_point_is_lost_to_a_server_outage(own_server, spool_dir, caplog, outage_seconds):
    tw.set_tracking_uri(own_server.tracking_uri)
    tw.set_experiment(f"outage-{uuid.uuid4().hex}")
    back = threading.Event()

    def restart() -> None:
        own_server.start(same_ports=True)  # returns once it serves again
        back.set()

    with tw.start_run() as run:
        for step in range(POINTS):
            tw.log_metric("loss", step / POINTS, step=step)
            if step == KILLED_AT:
                own_server.stop(signal.SIGKILL)
                threading.Timer(outage_seconds, restart).start()
            elif KILLED_AT < step < DOWN_UNTIL and step % 1000 == 0:
                time.sleep(outage_seconds / 100)  # the training goes on while the server is down
            elif step == DOWN_UNTIL:
                back.wait()
            elif step > DOWN_UNTIL and step % 1000 == 0:
                time.sleep(0.01)
    # No exception reached the loop, and ending the run raised none.

    with TrackingClient(own_server.tracking_uri) as client:
        _wait_for(
            lambda: client.get_run(run.info.run_id).info.status == ent.RUN_STATUS_FINISHED,
            "the run's end reached the server",
        )
        history = client.get_metric_history_columns(run.info.run_id, "loss")
    assert history.steps == list(range(POINTS))  # every point, exactly once
    _wait_for(lambda: not _journals(spool_dir), "the journal was sent and deleted")
    # One warning when writes went to the journal: always past the retries' budget; a 10 s
    # outage is about as long as that budget, and the retries may ride it out.
    warnings = _warnings(caplog)
    assert len(warnings) == 1 if outage_seconds > sum(RETRY_DELAYS_SECONDS) else len(warnings) <= 1
    for warning in warnings:
        assert own_server.tracking_uri in warning and "trackwire sync" in warning


@pytest.mark.parametrize("wire", ["grpc", "http"])
def test_a_server_that_stays_down_gets_the_journal_through_sync(
    own_server, spool_dir, caplog, wire
):
    uri = own_server.tracking_uri if wire == "grpc" else own_server.http_url
    tw.set_tracking_uri(uri)
    tw.set_experiment(f"down-{uuid.uuid4().hex}")
    online, offline = 20_000, 150_000  # more than the fluent API keeps in memory
    with tw.start_run() as run:
        tw.log_param("lr", 0.1)
        for step in range(online):
            tw.log_metric("loss", 1.0, step=step)
        own_server.stop(signal.SIGKILL)
        for step in range(online, online + offline):
            tw.log_metric("loss", 1.0, step=step)
        tw.set_tag("phase", "offline")
    tw.set_tracking_uri(None)  # as at the end of the process: the server is still down

    [held] = _journals(spool_dir)
    assert held.stat().st_size > offline * 10  # the points went to disk
    [warning] = _warnings(caplog)
    assert uri in warning and str(held) in warning and "trackwire sync" in warning

    own_server.start(same_ports=True)
    result = subprocess.run(
        [sys.executable, "-m", "trackwire.cli", "sync"],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "TRACKWIRE_SPOOL_DIR": str(spool_dir)},
    )
    assert result.returncode == 0, result.stderr
    assert not _journals(spool_dir)
    with TrackingClient(own_server.tracking_uri) as client:
        stored = client.get_run(run.info.run_id)
        steps = client.get_metric_history_columns(run.info.run_id, "loss").steps
    assert steps == list(range(online + offline))
    assert stored.info.status == ent.RUN_STATUS_FINISHED
    assert {t.key: t.value for t in stored.data.tags}["phase"] == "offline"
    assert {p.key: p.value for p in stored.data.params} == {"lr": "0.1"}
