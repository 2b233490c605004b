"""GetMetricBuckets: a metric summarised per step bucket for charts, extremes kept."""

from __future__ import annotations

import math
import time

import grpc
import httpx
import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from trackwire.server.store.engine import create_store_engine
from trackwire.server.store.points_at_steps import points_at_steps
from trackwire.v1 import entities_pb2 as pb
from trackwire.v1 import tracking_service_pb2 as rpc

SPIKE_STEP = 777_777
SPIKE_VALUE = 1e6
LOG_BATCH_STREAM = "/trackwire.v1.TrackingService/LogBatchStream"


def _run(tracking, unique: str) -> str:
    """A new run in the test's experiment."""
    try:
        experiment_id = tracking.CreateExperiment(
            rpc.CreateExperimentRequest(name=unique)
        ).experiment_id
    except grpc.RpcError:
        experiment_id = tracking.GetExperimentByName(
            rpc.GetExperimentByNameRequest(experiment_name=unique)
        ).experiment.experiment_id
    return tracking.CreateRun(rpc.CreateRunRequest(experiment_id=experiment_id)).run.info.run_id


def _log(tracking, run_id: str, key: str, points) -> None:
    batch: list[pb.Metric] = []
    for step, value in points:
        batch.append(pb.Metric(key=key, value=value, timestamp=1000 + step, step=step))
        if len(batch) == 1000:
            tracking.LogBatch(rpc.LogBatchRequest(run_id=run_id, metrics=batch))
            batch = []
    if batch:
        tracking.LogBatch(rpc.LogBatchRequest(run_id=run_id, metrics=batch))


def _buckets(tracking, run_ids, key, **fields) -> rpc.GetMetricBucketsResponse:
    return tracking.GetMetricBuckets(
        rpc.GetMetricBucketsRequest(run_ids=run_ids, metric_key=key, **fields)
    )


def test_a_one_point_spike_among_a_million_steps_survives(tracking, unique):
    run_id = _run(tracking, unique)
    _log(
        tracking,
        run_id,
        "loss",
        ((step, SPIKE_VALUE if step == SPIKE_STEP else 1.0) for step in range(1_000_000)),
    )
    response = _buckets(tracking, [run_id], "loss", buckets=500)
    (run,) = response.runs
    assert (response.start_step, response.end_step, response.bucket_width) == (0, 999_999, 2000)
    assert len(run.buckets) == 500
    assert sum(b.count for b in run.buckets) == 1_000_000
    spiked = [b for b in run.buckets if b.max_value == SPIKE_VALUE]
    assert len(spiked) == 1
    assert spiked[0].first_step <= SPIKE_STEP <= spiked[0].last_step
    assert all(b.min_value == 1.0 and b.last_value == 1.0 for b in run.buckets)


def test_buckets_summarise_each_run_over_a_shared_step_range(tracking, unique):
    first, second = _run(tracking, unique), _run(tracking, unique)
    _log(tracking, first, "acc", ((step, step / 10) for step in range(10)))
    _log(tracking, second, "acc", ((step, -step) for step in range(5, 20)))
    response = _buckets(tracking, [second, first], "acc", buckets=4)
    assert (response.start_step, response.end_step, response.bucket_width) == (0, 19, 5)
    assert [r.run_id for r in response.runs] == [second, first]
    by_run = {r.run_id: r.buckets for r in response.runs}
    assert [(b.first_step, b.last_step, b.count) for b in by_run[first]] == [(0, 4, 5), (5, 9, 5)]
    assert [(b.min_value, b.max_value, b.last_value) for b in by_run[first]] == [
        (0.0, 0.4, 0.4),
        (0.5, 0.9, 0.9),
    ]
    assert [(b.first_step, b.last_step) for b in by_run[second]] == [(5, 9), (10, 14), (15, 19)]
    assert by_run[second][0].first_timestamp == 1005
    assert by_run[second][0].last_timestamp == 1009

    zoomed = _buckets(tracking, [first], "acc", start_step=2, end_step=3, buckets=100)
    assert [(b.first_step, b.last_value) for b in zoomed.runs[0].buckets] == [(2, 0.2), (3, 0.3)]


def test_the_last_value_is_the_latest_point_of_the_last_step_and_nan_is_kept(tracking, unique):
    run_id = _run(tracking, unique)
    metrics = [
        pb.Metric(key="m", value=5.0, timestamp=1, step=0),
        pb.Metric(key="m", value=math.nan, timestamp=2, step=1),
        pb.Metric(key="m", value=3.0, timestamp=3, step=1),
    ]
    tracking.LogBatch(rpc.LogBatchRequest(run_id=run_id, metrics=metrics))
    (bucket,) = _buckets(tracking, [run_id], "m", buckets=1).runs[0].buckets
    assert (bucket.last_value, bucket.min_value, bucket.max_value, bucket.count) == (
        3.0,
        3.0,
        5.0,
        3,
    )

    tracking.LogBatch(
        rpc.LogBatchRequest(run_id=run_id, metrics=[pb.Metric(key="n", value=math.nan, step=0)])
    )
    (only,) = _buckets(tracking, [run_id], "n").runs[0].buckets
    assert math.isnan(only.last_value) and math.isnan(only.max_value)


def test_a_metric_never_logged_gives_runs_without_buckets(tracking, unique):
    run_id = _run(tracking, unique)
    response = _buckets(tracking, [run_id], "absent")
    assert [(r.run_id, len(r.buckets)) for r in response.runs] == [(run_id, 0)]


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"run_ids": [], "metric_key": "m"}, grpc.StatusCode.INVALID_ARGUMENT),
        ({"run_ids": ["x"], "metric_key": ""}, grpc.StatusCode.INVALID_ARGUMENT),
        (
            {"run_ids": ["x"] * 1, "metric_key": "m", "buckets": 5001},
            grpc.StatusCode.INVALID_ARGUMENT,
        ),
        (
            {"run_ids": [f"r{i}" for i in range(101)], "metric_key": "m"},
            grpc.StatusCode.INVALID_ARGUMENT,
        ),
        (
            {"run_ids": ["x"], "metric_key": "m", "start_step": 5, "end_step": 4},
            grpc.StatusCode.INVALID_ARGUMENT,
        ),
        ({"run_ids": ["no-such-run"], "metric_key": "m"}, grpc.StatusCode.NOT_FOUND),
    ],
)
def test_bad_requests_are_refused(tracking, fields, code):
    with pytest.raises(grpc.RpcError) as raised:
        tracking.GetMetricBuckets(rpc.GetMetricBucketsRequest(**fields))
    assert raised.value.code() == code


def test_served_over_http_with_repeated_run_ids(server, tracking, unique):
    run_id = _run(tracking, unique)
    _log(tracking, run_id, "loss", ((step, float(step)) for step in range(100)))
    for prefix in ("api", "ajax-api"):
        response = httpx.get(
            f"{server.http_url}/{prefix}/2.0/trackwire/metrics/get-buckets",
            params=[("run_ids", run_id), ("metric_key", "loss"), ("buckets", "10")],
        )
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["bucket_width"] == 10
        buckets = body["runs"][0]["buckets"]
        assert len(buckets) == 10
        assert buckets[-1] == {
            "first_step": 90,
            "last_step": 99,
            "first_timestamp": 1090,
            "last_timestamp": 1099,
            "last_value": 99.0,
            "min_value": 90.0,
            "max_value": 99.0,
            "count": 10,
        }
    missing = httpx.get(
        f"{server.http_url}/api/2.0/trackwire/metrics/get-buckets",
        params={"run_ids": "nope", "metric_key": "loss"},
    )
    assert missing.status_code == 404
    assert missing.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"


def _brute_force(points, run_ids, start, end, buckets) -> list[tuple]:
    """The response computed from the logged points themselves: (run_id, key, step, timestamp,
    value) in the order logged."""
    steps = [p[2] for p in points]
    if not steps:
        return []
    start = min(steps) if start is None else start
    end = max(steps) if end is None else end
    width = -(-(end - start + 1) // buckets)
    expected = []
    for run_id in run_ids:
        by_bucket: dict[int, list] = {}
        for order, point in enumerate(points):
            if point[0] == run_id and start <= point[2] <= end:
                by_bucket.setdefault((point[2] - start) // width, []).append((order, point))
        for _, members in sorted(by_bucket.items()):
            rows = [point for _, point in members]
            numbers = [p[4] for p in rows if not math.isnan(p[4])]
            last_step = max(p[2] for p in rows)
            # The latest point of the last step: highest timestamp, then the last logged.
            _, last = max((p[3], order) for order, p in members if p[2] == last_step)
            expected.append(
                (
                    run_id,
                    min(p[2] for p in rows),
                    last_step,
                    min(p[3] for p in rows),
                    max(p[3] for p in rows),
                    points[last][4],
                    min(numbers, default=math.nan),
                    max(numbers, default=math.nan),
                    len(rows),
                )
            )
    return expected


def _served(response) -> list[tuple]:
    return [
        (
            run.run_id,
            b.first_step,
            b.last_step,
            b.first_timestamp,
            b.last_timestamp,
            b.last_value,
            b.min_value,
            b.max_value,
            b.count,
        )
        for run in response.runs
        for b in run.buckets
    ]


def _same(served, expected) -> bool:
    """Equal, NaN equal to NaN."""
    return len(served) == len(expected) and all(
        a == b or (isinstance(a, float) and math.isnan(a) and math.isnan(b))
        for row, other in zip(served, expected, strict=True)
        for a, b in zip(row, other, strict=True)
    )


_VALUES = st.one_of(
    st.floats(-1e6, 1e6), st.sampled_from([math.nan, math.inf, -math.inf, 0.0, 1e6])
)
# Points of one key: steps around block boundaries (negative too), out of order, repeated.
_POINTS = st.lists(
    st.tuples(st.integers(-70, 300), st.integers(0, 5), _VALUES), min_size=1, max_size=120
)
# How each batch goes in: LogBatch, LogBatchStream, or point by point through LogMetric; a
# chart read follows each.
_WRITES = st.lists(st.sampled_from(["batch", "stream", "metric"]), min_size=1, max_size=4)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    histories=st.lists(st.tuples(_POINTS, _WRITES), min_size=1, max_size=2),
    buckets=st.integers(1, 60),
    start=st.one_of(st.none(), st.integers(-80, 310)),
    span=st.one_of(st.none(), st.integers(0, 400)),
)
def test_buckets_equal_a_brute_force_summary_of_the_points(
    tracking, channel, histories, buckets, start, span
):
    stream = channel.stream_stream(
        LOG_BATCH_STREAM,
        request_serializer=rpc.LogBatchStreamRequest.SerializeToString,
        response_deserializer=rpc.LogBatchStreamResponse.FromString,
    )
    points, run_ids = [], []
    for history, writes in histories:
        run_id = tracking.CreateRun(rpc.CreateRunRequest(experiment_id="0")).run.info.run_id
        run_ids.append(run_id)
        size = -(-len(history) // len(writes))
        for index, write in enumerate(writes):
            batch = history[index * size : (index + 1) * size]
            metrics = [pb.Metric(key="m", step=s, timestamp=ts, value=v) for s, ts, v in batch]
            if write == "batch":
                tracking.LogBatch(rpc.LogBatchRequest(run_id=run_id, metrics=metrics))
            elif write == "stream":
                request = rpc.LogBatchRequest(run_id=run_id, metrics=metrics)
                list(stream(iter([rpc.LogBatchStreamRequest(batch=request)]), timeout=30))
            else:
                for m in metrics:
                    tracking.LogMetric(
                        rpc.LogMetricRequest(
                            run_id=run_id,
                            key="m",
                            value=m.value,
                            step=m.step,
                            timestamp=m.timestamp,
                        )
                    )
            points.extend((run_id, "m", s, ts, v) for s, ts, v in batch)
            # A read between writes summarises the blocks written so far: the writes after
            # it (out of order too) must make the summaries they touch stale.
            _buckets(tracking, [run_id], "m", buckets=buckets)
    end = None if start is None or span is None else start + span
    fields = {"buckets": buckets}
    if end is not None:
        fields.update(start_step=start, end_step=end)
    served = _served(_buckets(tracking, run_ids, "m", **fields))
    expected = _brute_force(points, run_ids, start if end is not None else None, end, buckets)
    assert _same(served, expected), (served, expected)


def test_a_range_as_wide_as_64_bits_is_answered(tracking, unique):
    run_id = _run(tracking, unique)
    _log(tracking, run_id, "m", ((step, float(step)) for step in range(100)))
    low, high = -(2**63), 2**63 - 1
    widest = _buckets(tracking, [run_id], "m", start_step=low, end_step=high, buckets=10)
    # Ten buckets of ceil(2**64 / 10) steps: the fifth ends at step 1.
    assert [(b.first_step, b.last_step) for b in widest.runs[0].buckets] == [(0, 1), (2, 99)]
    (top,) = _buckets(tracking, [run_id], "m", start_step=0, end_step=high, buckets=1).runs
    assert [b.count for b in top.buckets] == [100]


def test_an_ended_runs_summaries_are_built_in_the_background(server, tracking, unique):
    run_id = _run(tracking, unique)
    _log(tracking, run_id, "m", [(step, math.sin(step)) for step in range(5000)])
    _log(tracking, run_id, "n", [(step, step) for step in range(-40, 700)])
    before = _buckets(tracking, [run_id], "m", buckets=37)
    # A chart read summarises what it reads: "n" is left to the run's end.
    watermarks = _watermarks(server, run_id)
    assert watermarks["m"] == 4999 // 32 and watermarks["n"] < 0
    tracking.UpdateRun(rpc.UpdateRunRequest(run_id=run_id, status=pb.RUN_STATUS_FINISHED))
    deadline = time.monotonic() + 30
    while _watermarks(server, run_id)["n"] != 699 // 32:
        assert time.monotonic() < deadline, _watermarks(server, run_id)
        time.sleep(0.05)
    assert _buckets(tracking, [run_id], "m", buckets=37) == before


def _watermarks(server, run_id: str) -> dict[str, int]:
    """Each metric's summaries' watermark (latest_metrics.summarized_below), from the store."""
    engine = create_store_engine(server.backend_store_uri)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                sa.text("SELECT key, summarized_below FROM latest_metrics WHERE run_id = :r"),
                {"r": run_id},
            )
            return dict(rows.all())
    finally:
        engine.dispose()


def test_summaries_of_a_sparse_history_are_built_point_by_point(tracking, unique):
    # Steps as far apart as timestamps: the summaries are built in steps of points, not of
    # block numbers (a block at a time would take some 10^11 transactions here).
    run_id = _run(tracking, unique)
    steps = [-900, 0, 1, 10**12, 10**12 + 1, 5 * 10**14, 2 * 10**15]
    _log(tracking, run_id, "m", [(step, float(i)) for i, step in enumerate(steps)])
    for _ in range(2):  # the second read is served from the summaries the first one built
        served = _served(_buckets(tracking, [run_id], "m", buckets=9))
        points = [(run_id, "m", step, 1000 + step, float(i)) for i, step in enumerate(steps)]
        assert _same(served, _brute_force(points, [run_id], None, None, 9)), served


def test_points_at_steps_are_sought_one_by_one_under_a_generic_plan(server, tracking, unique):
    """PostgreSQL: the points at a chart's steps (store/points_at_steps.py) are read by an
    index seek per step even with the generic plan a prepared statement gets. With an IN
    list of steps, that plan read the run's whole history and filtered it (10 s a chart at
    a million steps)."""
    if not server.backend_store_uri.startswith("postgresql"):
        pytest.skip("a PostgreSQL plan")
    long_run = _run(tracking, unique)
    _log(tracking, long_run, "m", [(step, 0.5) for step in range(5_000)])
    for _ in range(100):  # many short runs: the planner expects few points per run
        _log(tracking, _run(tracking, unique), "m", [(0, 0.5)])
    steps = list(range(0, 5_000, 5))
    plans: list[str] = []
    engine = create_store_engine(server.backend_store_uri)
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("ANALYZE metrics")
            driver = conn.connection.dbapi_connection
            driver.add_notice_handler(lambda notice: plans.append(notice.message_primary))
            for setting in (
                "LOAD 'auto_explain'",
                "SET auto_explain.log_min_duration = 0",
                "SET auto_explain.log_level = notice",
                "SET plan_cache_mode = force_generic_plan",
            ):
                conn.exec_driver_sql(setting)
            for _ in range(7):  # psycopg prepares a statement on its sixth run
                got = list(points_at_steps(conn, long_run, "m", steps))
            assert [row.step for row in got] == steps
    finally:
        engine.dispose()
    plan = plans[-1]
    assert "Index Scan using pk_metrics" in plan and "Filter" not in plan, plan
    index_condition = plan.split("Index Cond:")[1].splitlines()[0]
    assert "step =" in index_condition, plan
