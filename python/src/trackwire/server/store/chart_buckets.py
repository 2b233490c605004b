"""A metric's history summarised per step bucket, for charts (GetMetricBuckets).

The step range is cut into buckets of equal width shared by every run, so the runs' buckets
line up on a chart. Each bucket is one row of a GROUP BY: first and last step and timestamp,
minimum, maximum and count, plus the value of the bucket's last point read by key. Keeping
minimum and maximum means a spike of one point among millions still shows on a chart as wide
as the number of buckets. The GROUP BY reads the summary of every summarised block of steps
that lies whole in a bucket (store/metric_blocks.py) and the points of the few blocks a bucket
boundary cuts and of the blocks not summarised yet, so its cost follows the number of buckets
and blocks, not of points.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import (
    BigInteger,
    Connection,
    and_,
    bindparam,
    case,
    cast,
    func,
    literal,
    literal_column,
    select,
    true,
    union,
    union_all,
)

from trackwire.errors import NotFound
from trackwire.server.store import schema as t
from trackwire.server.store.metric_blocks import BLOCK_STEPS
from trackwire.server.store.points_at_steps import points_at_steps
from trackwire.v1 import tracking_service_pb2 as rpc

_m = t.metrics.c


_INT64_MAX = 2**63 - 1


def _last_values(
    conn: Connection, run_id: str, key: str, steps: Sequence[int]
) -> dict[int, float | None]:
    """The value of the latest point (by timestamp, then as logged) at each of `steps`: a
    bucket's last value."""
    # In the history's order, a step's last row wins.
    return {row.step: row.value for row in points_at_steps(conn, run_id, key, steps)}


def _logged_steps(
    conn: Connection, run_ids: Sequence[str], key: str, start: int | None, end: int | None
) -> tuple[int, int] | None:
    """The first and last step the runs logged within [start, end] (an open end: no bound),
    each a seek to one end of a run's history; None when there is none."""
    lows, highs = [], []
    for run_id in run_ids:
        of_run = [_m.run_id == run_id, _m.key == key]
        # Two scalar subqueries: each is a seek to one end of the primary key (a single
        # query with both aggregates would read the whole history).
        low, high = conn.execute(
            select(
                select(func.min(_m.step))
                .where(*of_run, *([] if start is None else [_m.step >= start]))
                .scalar_subquery(),
                select(func.max(_m.step))
                .where(*of_run, *([] if end is None else [_m.step <= end]))
                .scalar_subquery(),
            )
        ).one()
        if low is not None and high is not None and low <= high:  # else none in range
            lows.append(low)
            highs.append(high)
    if not lows:
        return None
    return min(lows), max(highs)


def _cut_blocks(origin: int, low: int, high: int, width: int):
    """The step ranges read point by point, one row (low, high) each: the blocks that a
    bucket boundary (origin + i * width), the first logged step or the step after the last
    one falls inside of (not on their first step), clipped to [low, high]. Every other block
    there lies whole in one bucket.

    Computed by the database from the boundaries' origin and width (a recursive CTE): the
    same list built here as a VALUES of bound pairs cost more to compile than the query took
    to run."""
    cuts = select(literal(origin, BigInteger).label("cut")).cte("cuts", recursive=True)
    cuts = cuts.union_all(select(cuts.c.cut + width).where(cuts.c.cut + width <= high))
    ends = [low] if high == _INT64_MAX else [low, high + 1]  # 2**63 is a block's first step
    boundaries = union(
        select(cuts.c.cut), *(select(literal(step, BigInteger)) for step in ends)
    ).subquery()
    cut = boundaries.c.cut
    # SQL's % keeps the dividend's sign: shifted into [0, BLOCK_STEPS) for negative steps.
    offset = (cut % BLOCK_STEPS + BLOCK_STEPS) % BLOCK_STEPS
    cut_blocks = (
        select((cut - offset).label("block_start")).where(offset != 0).distinct().subquery()
    )
    first = cut_blocks.c.block_start
    last = first + (BLOCK_STEPS - 1)
    return select(
        case((first < low, low), else_=first).label("low"),
        case((last > high, high), else_=last).label("high"),
    ).cte("edges")


def _bucket_parts(origin: int, low: int, high: int, width: int, lateral: bool):
    """Rows of one run's metric that its buckets aggregate, each with its bucket
    ((step - origin) // width): the summaries of the blocks in [low, high] below the
    watermark that lie whole in one bucket, and the points of the other blocks (the buckets'
    edges, and the blocks from the watermark on). Bound: run_id, key. `lateral`: the edges
    are read by a LATERAL subquery (PostgreSQL)."""
    b, latest = t.metric_blocks.c, t.latest_metrics.c
    # One subquery, not a join: run once, its value bounds the index seeks.
    watermark = (
        select(latest.summarized_below)
        .where(latest.run_id == bindparam("run_id"), latest.key == bindparam("key"))
        .scalar_subquery()
    )
    from_origin = b.block * BLOCK_STEPS - origin
    whole_blocks = select(
        (from_origin // width).label("bucket"),
        b.first_step,
        b.last_step,
        b.first_timestamp,
        b.last_timestamp,
        b.min_value,
        b.max_value,
        b.points,
    ).where(
        b.run_id == bindparam("run_id"),
        b.key == bindparam("key"),
        # The first and last whole block of [low, high] (// is the floor, as block is).
        b.block.between(-(-low // BLOCK_STEPS), (high + 1) // BLOCK_STEPS - 1),
        b.block < watermark,
        from_origin // width == (from_origin + (BLOCK_STEPS - 1)) // width,
    )
    points = select(
        ((_m.step - origin) // width).label("bucket"),
        _m.step.label("first_step"),
        _m.step.label("last_step"),
        _m.timestamp.label("first_timestamp"),
        _m.timestamp.label("last_timestamp"),
        _m.value.label("min_value"),
        _m.value.label("max_value"),
        literal_column("1").label("points"),
    )
    of_metric = and_(_m.run_id == bindparam("run_id"), _m.key == bindparam("key"))
    watermark_step = watermark * BLOCK_STEPS
    ranges = _cut_blocks(origin, low, high, width)
    of_range = and_(of_metric, _m.step.between(ranges.c.low, ranges.c.high))
    if lateral:
        # Seek each range in turn whatever the statistics say: a store loaded a minute ago
        # has those of empty tables, and PostgreSQL then joined the other way round, every
        # point of the run against every range (4 s a chart at 100,000 steps). OFFSET 0
        # keeps the planner from flattening the subquery into that join again.
        in_range = points.where(of_range, _m.step < watermark_step).offset(0).lateral("in_range")
        edge_points = select(*in_range.c).select_from(ranges).join(in_range, true())
    else:  # SQLite has no LATERAL, and its planner seeks by the ranges as it is
        edge_points = (
            points.select_from(ranges).join(t.metrics, of_range).where(_m.step < watermark_step)
        )
    unsummarised_points = points.where(
        of_metric,
        # One lower bound, so that the index seek starts at the watermark, not at `low`.
        _m.step >= case((watermark_step > low, watermark_step), else_=low),
        _m.step <= high,
    )
    return union_all(whole_blocks, edge_points, unsummarised_points)


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
    logged = _logged_steps(conn, run_ids, key, start_step, end_step)
    # The requested range, its open ends taken from the runs' first and last steps.
    first, last = logged or (None, None)
    start = first if start_step is None else start_step
    end = last if end_step is None else end_step
    if start is None or end is None or start > end:
        return response
    width = -(-(end - start + 1) // buckets)  # ceiling: at most `buckets` buckets
    # A range of 2**63 steps or more in one bucket is wider than int64: such a bucket
    # reaches the range's end all the same.
    response.start_step, response.end_step = start, end
    response.bucket_width = min(width, _INT64_MAX)
    if logged is None:
        return response
    # The arithmetic stays near the logged steps, inside 64 bits whatever the range asked
    # for: buckets counted from the one holding the first logged step, and no wider than the
    # logged steps reach (a wider bucket holds the same points).
    low, high = logged
    origin = start + (low - start) // width * width
    width = min(width, high - origin + 1)

    lateral = conn.dialect.name == "postgresql"
    points = _bucket_parts(origin, low, high, width, lateral).subquery()
    p = points.c
    grouped = (
        select(
            func.min(p.first_step).label("first_step"),
            func.max(p.last_step).label("last_step"),
            func.min(p.first_timestamp).label("first_timestamp"),
            func.max(p.last_timestamp).label("last_timestamp"),
            func.min(p.min_value).label("min_value"),
            func.max(p.max_value).label("max_value"),
            # PostgreSQL sums bigints as numeric: back to an integer.
            cast(func.sum(p.points), BigInteger).label("points"),
        )
        .group_by(p.bucket)
        .order_by(p.bucket)
    )
    nan = float("nan")
    for run in response.runs:
        # A statement per run: each reads its run's watermark (see _bucket_parts).
        rows = conn.execute(grouped, {"run_id": run.run_id, "key": key}).all()
        last_values = _last_values(conn, run.run_id, key, [row.last_step for row in rows])
        for row in rows:
            last_value = last_values[row.last_step]
            run.buckets.append(
                rpc.MetricBucket(
                    first_step=row.first_step,
                    last_step=row.last_step,
                    first_timestamp=row.first_timestamp,
                    last_timestamp=row.last_timestamp,
                    last_value=nan if last_value is None else last_value,
                    min_value=nan if row.min_value is None else row.min_value,
                    max_value=nan if row.max_value is None else row.max_value,
                    count=row.points,
                )
            )
    return response
