"""A metric's history summarised per step bucket, for charts (GetMetricBuckets).

The step range is cut into buckets of equal width shared by every run, so the runs' buckets
line up on a chart. Each bucket is one row of a GROUP BY over the history's primary key
(run, key, step): first and last step and timestamp, minimum, maximum and count, plus the
value of the bucket's last point read by key. Keeping minimum and maximum means a spike of one
point among millions still shows on a chart as wide as the number of buckets.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from sqlalchemy import Connection, and_, bindparam, func, select

from trackwire.errors import NotFound
from trackwire.server.store import schema as t
from trackwire.v1 import tracking_service_pb2 as rpc

_m = t.metrics.c


class StepRange(NamedTuple):
    start: int
    end: int
    width: int


def _last_value(run_id, last_step):
    """The value of the latest point at a bucket's last step (seek by primary key)."""
    latest = t.metrics.alias("latest")
    return (
        select(latest.c.value)
        .where(
            latest.c.run_id == run_id,
            latest.c.key == bindparam("key"),
            latest.c.step == last_step,
        )
        .order_by(latest.c.timestamp.desc(), latest.c.seq.desc())
        .limit(1)
        .scalar_subquery()
    )


def _step_range(
    conn: Connection, run_ids: Sequence[str], key: str, start: int | None, end: int | None
) -> tuple[int, int] | None:
    """The requested range, its open ends taken from the runs' first and last steps (each a
    seek to one end of the run's history)."""
    if start is None or end is None:
        lows, highs = [], []
        for run_id in run_ids:
            of_run = (_m.run_id == run_id, _m.key == key)
            # Two scalar subqueries: each is a seek to one end of the primary key (a single
            # query with both aggregates would read the whole history).
            low, high = conn.execute(
                select(
                    select(func.min(_m.step)).where(*of_run).scalar_subquery(),
                    select(func.max(_m.step)).where(*of_run).scalar_subquery(),
                )
            ).one()
            if low is not None:
                lows.append(low)
                highs.append(high)
        if not lows:
            return None
        start = min(lows) if start is None else start
        end = max(highs) if end is None else end
    return (start, end) if start <= end else None


def metric_buckets(
    conn: Connection,
    run_ids: Sequence[str],
    key: str,
    start_step: int | None,
    end_step: int | None,
    buckets: int,
) -> rpc.GetMetricBucketsResponse:
    """The buckets of `key` for each run of `run_ids` (unique, each must exist)."""
    found = set(conn.execute(select(t.runs.c.run_id).where(t.runs.c.run_id.in_(run_ids))).scalars())
    for run_id in run_ids:
        if run_id not in found:
            raise NotFound(f"Run with id={run_id} not found")
    response = rpc.GetMetricBucketsResponse(
        runs=[rpc.RunMetricBuckets(run_id=run_id) for run_id in run_ids]
    )
    steps = _step_range(conn, run_ids, key, start_step, end_step)
    if steps is None:
        return response
    start, end = steps
    width = -(-(end - start + 1) // buckets)  # ceiling: at most `buckets` buckets
    response.start_step, response.end_step, response.bucket_width = start, end, width

    # The bucket is computed in an inner query so that GROUP BY names a column, not an
    # expression with its own bound parameters (which PostgreSQL would not match).
    points = (
        select(
            _m.run_id,
            _m.step,
            _m.timestamp,
            _m.value,
            ((_m.step - start) // width).label("bucket"),
        )
        .where(
            _m.run_id.in_(run_ids),
            _m.key == bindparam("key"),
            and_(_m.step >= start, _m.step <= end),
        )
        .subquery()
    )
    p = points.c
    grouped = (
        select(
            p.run_id,
            p.bucket,
            func.min(p.step).label("first_step"),
            func.max(p.step).label("last_step"),
            func.min(p.timestamp).label("first_timestamp"),
            func.max(p.timestamp).label("last_timestamp"),
            func.min(p.value).label("min_value"),
            func.max(p.value).label("max_value"),
            func.count().label("points"),
        )
        .group_by(p.run_id, p.bucket)
        .subquery()
    )
    query = select(
        grouped, _last_value(grouped.c.run_id, grouped.c.last_step).label("last_value")
    ).order_by(grouped.c.run_id, grouped.c.bucket)
    by_run = {run.run_id: run for run in response.runs}
    nan = float("nan")
    for row in conn.execute(query, {"key": key}):
        by_run[row.run_id].buckets.append(
            rpc.MetricBucket(
                first_step=row.first_step,
                last_step=row.last_step,
                first_timestamp=row.first_timestamp,
                last_timestamp=row.last_timestamp,
                last_value=nan if row.last_value is None else row.last_value,
                min_value=nan if row.min_value is None else row.min_value,
                max_value=nan if row.max_value is None else row.max_value,
                count=row.points,
            )
        )
    return response
