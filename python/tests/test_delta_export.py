"""The Delta Lake export against a real server: first export, reruns, values, the command."""

from __future__ import annotations

import math
import os
import subprocess
import sys

import pytest

pytest.importorskip("deltalake", reason="the analytics suite runs in `make test-analytics`")

from deltalake import DeltaTable  # noqa: E402
from seeded_runs import seed_experiment  # noqa: E402

from trackwire import TrackingClient, analytics  # noqa: E402
from trackwire.export import delta  # noqa: E402
from trackwire.export.delta import export_delta  # noqa: E402


@pytest.fixture
def client(server):
    with TrackingClient(server.tracking_uri) as client:
        yield client


def nan_equal(a: float, b: float) -> bool:
    return a == b or (math.isnan(a) and math.isnan(b))


def server_history(client: TrackingClient, experiment_ids: list[str]) -> list[tuple]:
    """Every point of every run (deleted ones too), as the server has it."""
    return sorted(
        (
            (run.info.experiment_id, *row)
            for run in analytics.search_runs(client, experiment_ids, run_view_type="ALL")
            for row in analytics.history_rows(client, run)
        ),
        key=_point_order,
    )


def table_history(path) -> list[tuple]:
    rows = DeltaTable(str(path / "metric_history")).to_pyarrow_table().to_pylist()
    return sorted(
        (
            (r["experiment_id"], r["run_id"], r["key"], r["step"], r["timestamp"], r["value"])
            for r in rows
        ),
        key=_point_order,
    )


def _point_order(point: tuple) -> tuple:
    *identity, value = point
    return (*identity, math.isnan(value), 0.0 if math.isnan(value) else value)


def assert_same_history(got: list[tuple], expected: list[tuple]) -> None:
    assert len(got) == len(expected)
    for g, e in zip(got, expected, strict=True):
        assert g[:5] == e[:5] and nan_equal(g[5], e[5]), (g, e)


def assert_runs_table_matches_the_server(client, path, experiment_ids: list[str]) -> None:
    table = DeltaTable(str(path / "runs")).to_pyarrow_table().to_pylist()
    runs = list(analytics.search_runs(client, experiment_ids, run_view_type="ALL"))
    assert sorted(row["run_id"] for row in table) == sorted(run.info.run_id for run in runs)
    by_id = {row["run_id"]: row for row in table}
    for run in runs:
        row = by_id[run.info.run_id]
        expected = analytics.run_row(run)
        for column in ("experiment_id", "status", "run_name", "user_id", "lifecycle_stage"):
            assert row[column] == expected[column]
        assert row["artifact_uri"] == expected["artifact_uri"]
        assert row["start_time"] == expected["start_time"]
        assert row["end_time"] == expected["end_time"]
        assert dict(row["params"]) == expected["params"]
        assert dict(row["tags"]) == expected["tags"]
        latest = dict(row["metrics"])
        assert latest.keys() == expected["metrics"].keys()
        assert all(nan_equal(latest[k], v) for k, v in expected["metrics"].items())
        for key in latest:
            values = client.get_metric_history_columns(run.info.run_id, key).values
            finite = [v for v in values if not math.isnan(v)]
            assert dict(row["metrics_min"])[key] == min(finite)
            assert dict(row["metrics_max"])[key] == max(finite)


def test_first_export_writes_both_tables_partitioned_by_experiment(client, tmp_path, monkeypatch):
    a, runs_a = seed_experiment(client, f"delta-a-{os.getpid()}", 6, deleted=1)
    b, _ = seed_experiment(client, f"delta-b-{os.getpid()}", 2)
    monkeypatch.setattr(delta, "BATCH_POINTS", 15)  # about 2 runs a batch: several batches

    report = export_delta(tmp_path, [a], [f"delta-b-{os.getpid()}"], client.tracking_uri)

    assert report.experiment_ids == [a, b]
    assert report.runs_version >= 3 and report.history_version >= 3
    assert (report.runs_seen, report.runs_written) == (8, 8)
    for table in ("runs", "metric_history"):
        assert DeltaTable(str(tmp_path / table)).metadata().partition_columns == ["experiment_id"]
    assert_runs_table_matches_the_server(client, tmp_path, [a, b])
    assert_same_history(table_history(tmp_path), server_history(client, [a, b]))
    assert report.history_rows_written == len(server_history(client, [a, b]))
    deleted = [
        row
        for row in DeltaTable(str(tmp_path / "runs")).to_pandas().itertuples()
        if row.lifecycle_stage == "deleted"
    ]
    assert [row.run_id for row in deleted] == [runs_a[-1].run_id]


def test_a_rerun_writes_only_what_changed_and_never_a_row_twice(client, tmp_path):
    experiment_id, runs = seed_experiment(client, f"delta-rerun-{os.getpid()}", 4)
    first = export_delta(tmp_path, [experiment_id], tracking_uri=client.tracking_uri)

    unchanged = export_delta(tmp_path, [experiment_id], tracking_uri=client.tracking_uri)
    assert (unchanged.runs_written, unchanged.history_rows_written) == (0, 0)
    assert (unchanged.runs_version, unchanged.history_version) == (
        first.runs_version,
        first.history_version,
    )

    # One run logs more points (one of them NaN), one ends, one is new.
    client.log_metric(runs[0].run_id, "loss", 0.01, step=10, timestamp=runs[0].start_time + 10)
    client.log_metric(runs[0].run_id, "loss", math.nan, step=11, timestamp=runs[0].start_time + 11)
    client.set_terminated(runs[3].run_id, status="KILLED")
    new = client.create_run(experiment_id, run_name="late")
    client.log_metric(new.info.run_id, "loss", 2.0, step=0)

    rerun = export_delta(tmp_path, [experiment_id], tracking_uri=client.tracking_uri)
    assert (rerun.runs_seen, rerun.runs_written, rerun.history_rows_written) == (5, 3, 3)
    history = table_history(tmp_path)
    assert len({(*p[:5], str(p[5])) for p in history}) == len(history)
    assert_same_history(history, server_history(client, [experiment_id]))
    assert_runs_table_matches_the_server(client, tmp_path, [experiment_id])
    runs_table = DeltaTable(str(tmp_path / "runs")).to_pandas()
    assert runs_table.run_id.is_unique and len(runs_table) == 5

    again = export_delta(tmp_path, [experiment_id], tracking_uri=client.tracking_uri)
    assert (again.runs_written, again.history_rows_written) == (0, 0)


def test_the_tables_read_back_with_pandas(client, tmp_path):
    experiment_id, runs = seed_experiment(client, f"delta-pandas-{os.getpid()}", 3)
    export_delta(tmp_path, [experiment_id], tracking_uri=client.tracking_uri)
    frame = DeltaTable(str(tmp_path / "metric_history")).to_pandas()
    losses = frame[(frame.run_id == runs[2].run_id) & (frame.key == "loss")].sort_values("step")
    assert losses.value.tolist() == [v for _, _, v in runs[2].history["loss"]]
    assert str(losses.timestamp.dtype) == "datetime64[us, UTC]"


def test_the_command_exports_by_id_or_name_over_http(server, client, tmp_path):
    name = f"delta-cli-{os.getpid()}"
    experiment_id, _ = seed_experiment(client, name, 2)
    command = [sys.executable, "-m", "trackwire.cli", "export", "delta", "--to", str(tmp_path)]
    uri = ["--tracking-uri", server.http_url]
    done = subprocess.run(
        [*command, "--experiment", name, *uri], capture_output=True, text=True, check=True
    )
    assert f"experiments {experiment_id}: 2 runs seen, 2 written" in done.stdout
    done = subprocess.run(
        [*command, "--experiment", experiment_id, *uri], capture_output=True, text=True, check=True
    )
    assert "2 runs seen, 0 written" in done.stdout
    assert "0 metric points written" in done.stdout

    missing = subprocess.run(
        [*command, "--experiment", "no-such-experiment", *uri], capture_output=True, text=True
    )
    assert missing.returncode == 1
    assert "no-such-experiment" in missing.stderr and "Traceback" not in missing.stderr
