"""The `trackwire` Spark data source in a local Spark session, against a real server."""

from __future__ import annotations

import datetime
import math
import os
import re
import sys

import pytest

pytest.importorskip("pyspark", reason="the analytics suite runs in `make test-analytics`")

from pyspark.sql import SparkSession  # noqa: E402
from seeded_runs import BASE_MILLIS, SeededRun, seed_experiment, server_order  # noqa: E402
from server_process import LiveServer  # noqa: E402

import trackwire.spark  # noqa: E402
from trackwire import analytics  # noqa: E402

HOSTED_COLUMNS = [
    "run_id",
    "experiment_id",
    "metrics",
    "params",
    "tags",
    "start_time",
    "end_time",
    "status",
    "artifact_uri",
]


@pytest.fixture(scope="module")
def spark():
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    session = (
        SparkSession.builder.master("local[2]")
        .appName("trackwire-spark-source-tests")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.shuffle.partitions", "2")
        .getOrCreate()
    )
    trackwire.spark.register(session)
    yield session
    session.stop()


class Seeded:
    def __init__(self, server):
        with analytics.open_client(server.tracking_uri) as client:
            self.a, self.runs_a = seed_experiment(client, f"spark-a-{os.getpid()}", 7, deleted=1)
            self.b, self.runs_b = seed_experiment(client, f"spark-b-{os.getpid()}", 3)
        self.by_id = {run.run_id: run for run in self.runs_a + self.runs_b}

    def active(self, runs: list[SeededRun]) -> list[SeededRun]:
        return server_order([run for run in runs if run.lifecycle_stage == "active"])


@pytest.fixture(scope="module")
def seeded(server) -> Seeded:
    return Seeded(server)


def read(spark, tracking_uri: str, path: str | None = None, **options):
    reader = spark.read.format("trackwire").option("tracking_uri", tracking_uri)
    for name, value in options.items():
        reader = reader.option(name, value)
    return reader.load(path) if path is not None else reader.load()


def utc(value: datetime.datetime | None) -> datetime.datetime | None:
    """A collected timestamp (naive, in the Python process's local time) in UTC."""
    return None if value is None else value.astimezone(datetime.UTC)


def millis(value: int | None) -> datetime.datetime | None:
    return None if value is None else analytics.millis_to_datetime(value)


def same_floats(a: dict[str, float], b: dict[str, float]) -> bool:
    return a.keys() == b.keys() and all(
        a[k] == b[k] or (math.isnan(a[k]) and math.isnan(b[k])) for k in a
    )


def assert_row_is(row, run: SeededRun) -> None:
    assert row.run_id == run.run_id
    assert row.experiment_id == run.experiment_id
    assert same_floats(row.metrics, run.latest())
    assert row.params == run.params
    assert row.tags == {**run.tags, "mlflow.runName": run.run_name, "mlflow.user": run.user_id}
    assert utc(row.start_time) == millis(run.start_time)
    assert utc(row.end_time) == millis(run.end_time)
    assert row.status == run.status
    assert row.artifact_uri.endswith(f"/{run.run_id}/artifacts")
    assert (row.run_name, row.user_id, row.lifecycle_stage) == (
        run.run_name,
        run.user_id,
        run.lifecycle_stage,
    )


def residual_filters(frame) -> list[str]:
    """The conditions Spark still applies after the scan, bar the null checks it adds."""
    plan = frame._jdf.queryExecution().executedPlan().toString()
    conditions = re.findall(r"Filter (.*)", plan)
    residues = [re.sub(r"isnotnull\([^)]*\)|AND|[()\s]", "", c) for c in conditions]
    return [residue for residue in residues if residue]


def test_schema_is_the_hosted_one_then_trackwires_columns(spark, server, seeded):
    frame = read(spark, server.tracking_uri, seeded.a)
    assert frame.columns == [*HOSTED_COLUMNS, "run_name", "user_id", "lifecycle_stage"]
    assert frame.schema.simpleString() == (
        "struct<run_id:string,experiment_id:string,metrics:map<string,double>,"
        "params:map<string,string>,tags:map<string,string>,start_time:timestamp,"
        "end_time:timestamp,status:string,artifact_uri:string,run_name:string,"
        "user_id:string,lifecycle_stage:string>"
    )


@pytest.mark.parametrize("wire", ["grpc", "http"])
def test_rows_hold_each_runs_values_in_the_documented_order(spark, server, seeded, wire):
    uri = server.tracking_uri if wire == "grpc" else server.http_url
    rows = read(spark, uri, f"{seeded.b},{seeded.a}").collect()
    expected = seeded.active(seeded.runs_b) + seeded.active(seeded.runs_a)
    assert [row.run_id for row in rows] == [run.run_id for run in expected]
    for row, run in zip(rows, expected, strict=True):
        assert_row_is(row, run)


def test_experiments_are_read_in_parallel_partitions_of_run_ranges(spark, server, seeded):
    frame = read(spark, server.tracking_uri, f"{seeded.a},{seeded.b}", runs_per_partition="2")
    sizes = frame.rdd.mapPartitions(lambda rows: [sum(1 for _ in rows)]).collect()
    assert sizes == [2, 2, 2, 2, 1]  # 6 active runs of a, then 3 of b
    whole = read(spark, server.tracking_uri, f"{seeded.a},{seeded.b}").collect()
    assert frame.collect() == whole


def test_experiment_name_option_and_run_view_type(spark, server, seeded):
    name = f"spark-a-{os.getpid()}"
    every = read(spark, server.tracking_uri, experiment_name=name, run_view_type="ALL").collect()
    assert [row.run_id for row in every] == [r.run_id for r in server_order(seeded.runs_a)]
    deleted = [row for row in every if row.lifecycle_stage == "deleted"]
    assert [row.run_id for row in deleted] == [seeded.runs_a[-1].run_id]


@pytest.mark.parametrize(
    ("condition", "chosen"),
    [
        ("status = 'FINISHED'", lambda r: r.status == "FINISHED"),
        ("status != 'RUNNING'", lambda r: r.status != "RUNNING"),
        ("user_id IN ('bob')", lambda r: r.user_id == "bob"),
        ("startswith(run_name, 'run_')", lambda r: r.run_name.startswith("run_")),
        ("endswith(run_name, '_4')", lambda r: r.run_name.endswith("_4")),
        ("contains(artifact_uri, '/artifacts')", lambda r: True),
        (
            "start_time >= timestamp'2023-11-14 22:13:22' "
            "and start_time < timestamp'2023-11-14 22:13:25'",
            lambda r: BASE_MILLIS + 2000 <= r.start_time < BASE_MILLIS + 5000,
        ),
        (
            "end_time > timestamp'2023-11-14 22:13:22.600'",
            lambda r: (r.end_time or 0) > BASE_MILLIS + 2600,
        ),
    ],
)
def test_filters_the_search_can_express_go_to_the_server(spark, server, seeded, condition, chosen):
    # One run per partition: the partitions planned are the runs the server selected.
    frame = read(spark, server.tracking_uri, seeded.a, runs_per_partition="1").filter(condition)
    expected = [run.run_id for run in seeded.active(seeded.runs_a) if chosen(run)]
    assert expected, "the case must select some runs"
    assert frame.rdd.getNumPartitions() == len(expected)
    assert [row.run_id for row in frame.collect()] == expected
    assert residual_filters(frame) == []


def test_run_id_and_experiment_id_filters(spark, server, seeded):
    frame = read(spark, server.tracking_uri, f"{seeded.a},{seeded.b}", runs_per_partition="1")
    wanted = [seeded.runs_a[0].run_id, seeded.runs_b[2].run_id]
    chosen = frame.filter(frame.run_id.isin(wanted))
    assert chosen.rdd.getNumPartitions() == 2
    assert sorted(row.run_id for row in chosen.collect()) == sorted(wanted)
    only_b = frame.filter(frame.experiment_id == seeded.b)
    assert only_b.rdd.getNumPartitions() == 3
    assert {row.experiment_id for row in only_b.collect()} == {seeded.b}


def test_filters_the_search_cannot_express_are_left_to_spark(spark, server, seeded):
    frame = read(spark, server.tracking_uri, seeded.a)
    chosen = frame.filter(
        "metrics['loss'] < 0.2 and user_id = 'alice' and (end_time is null or status = 'FAILED')"
    )
    expected = [
        run.run_id
        for run in seeded.active(seeded.runs_a)
        if run.latest()["loss"] < 0.2
        and run.user_id == "alice"
        and (run.end_time is None or run.status == "FAILED")
    ]
    assert expected
    assert [row.run_id for row in chosen.collect()] == expected


def test_the_filter_option_is_a_search_filter(spark, server, seeded):
    frame = read(spark, server.tracking_uri, seeded.a, filter="metrics.accuracy > 0.625")
    expected = [r.run_id for r in seeded.active(seeded.runs_a) if r.latest()["accuracy"] > 0.625]
    assert [row.run_id for row in frame.collect()] == expected


def test_timestamp_filters_follow_the_session_time_zone(spark, server, seeded):
    spark.conf.set("spark.sql.session.timeZone", "America/New_York")
    try:
        frame = read(spark, server.tracking_uri, seeded.a, runs_per_partition="1")
        chosen = frame.filter("start_time >= timestamp'2023-11-14 17:13:24'")  # 22:13:24 UTC
        expected = [
            r.run_id for r in seeded.active(seeded.runs_a) if r.start_time >= BASE_MILLIS + 4000
        ]
        assert chosen.rdd.getNumPartitions() == len(expected)
        assert [row.run_id for row in chosen.collect()] == expected
    finally:
        spark.conf.set("spark.sql.session.timeZone", "UTC")


def expected_history(runs: list[SeededRun], keys=("accuracy", "loss")) -> list[tuple]:
    return [
        (run.run_id, key, step, millis(timestamp), value)
        for run in runs
        for key in keys
        for step, timestamp, value in run.history[key]
    ]


def same_history(rows, expected) -> bool:
    got = [(r.run_id, r.key, r.step, utc(r.timestamp), r.value) for r in rows]
    return len(got) == len(expected) and all(
        g[:4] == e[:4] and (g[4] == e[4] or (math.isnan(g[4]) and math.isnan(e[4])))
        for g, e in zip(got, expected, strict=True)
    )


def test_history_mode_is_every_logged_point_as_a_long_table(spark, server, seeded):
    frame = read(spark, server.tracking_uri, seeded.a, mode="history", runs_per_partition="2")
    assert frame.schema.simpleString() == (
        "struct<run_id:string,key:string,step:bigint,timestamp:timestamp,value:double>"
    )
    assert frame.rdd.getNumPartitions() == 3
    assert same_history(frame.collect(), expected_history(seeded.active(seeded.runs_a)))


def test_history_mode_reads_only_the_keys_and_runs_filtered(spark, server, seeded):
    frame = read(spark, server.tracking_uri, f"{seeded.a},{seeded.b}", mode="history")
    run = seeded.runs_b[1]
    chosen = frame.filter((frame.key == "loss") & (frame.run_id == run.run_id))
    assert residual_filters(chosen) == []
    assert same_history(chosen.collect(), expected_history([run], keys=("loss",)))


def test_bad_options_are_refused_clearly(spark, server, seeded):
    with pytest.raises(Exception, match="mode 'points' is not one of runs, history"):
        read(spark, server.tracking_uri, seeded.a, mode="points").collect()
    with pytest.raises(Exception, match="name the experiments"):
        read(spark, server.tracking_uri).collect()
    with pytest.raises(Exception, match="runs_per_partition must be a positive integer"):
        read(spark, server.tracking_uri, seeded.a, runs_per_partition="0").collect()
    with pytest.raises(Exception, match="424242"):
        read(spark, server.tracking_uri, "424242").collect()


@pytest.fixture(scope="module")
def auth_server(tmp_path_factory):
    live = LiveServer(tmp_path_factory.mktemp("spark-auth"), extra_args=["--auth"]).start()
    yield live
    live.stop()


def test_a_token_opens_a_server_that_requires_one(spark, auth_server):
    token = auth_server.cli("tokens", "create", "--user", "alice", "--scope", "write").strip()
    with analytics.open_client(auth_server.tracking_uri, token) as client:
        experiment_id, runs = seed_experiment(client, "spark-token", 2)
    for uri in (auth_server.tracking_uri, auth_server.http_url):
        rows = read(spark, uri, experiment_id, token=token).collect()
        assert [row.run_id for row in rows] == [run.run_id for run in server_order(runs)]
        assert {row.user_id for row in rows} == {"alice"}  # the server sets the token's user
    with pytest.raises(Exception, match="Authentication required"):
        read(spark, auth_server.tracking_uri, experiment_id).collect()


def test_run_ranges_hold_every_run_once_when_runs_come_and_go_after_planning(server):
    with analytics.open_client(server.tracking_uri) as client:
        experiment_id, runs = seed_experiment(client, f"spark-ranges-{os.getpid()}", 7)
        ranges = analytics.plan_run_ranges(client, experiment_id, 3)
        assert len(ranges) == 3
        # After planning: a run starts before all others, one after, one in the middle
        # range, and a run of the first range is deleted.
        for start in (BASE_MILLIS - 1, BASE_MILLIS + 10_000, BASE_MILLIS + 3500):
            client.create_run(experiment_id, start_time=start)
        client.delete_run(runs[5].run_id)
        read = [
            run.info.run_id
            for run_range in ranges
            for run in analytics.runs_in_range(client, run_range, page_size=2)
        ]
        current = [run.info.run_id for run in analytics.search_runs(client, [experiment_id])]
    assert read == current and len(current) == 9
