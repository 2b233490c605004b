"""Metric history: keyset pages (GetMetricHistory), the whole of it in chunks
(StreamMetricHistory), and evenly spread steps of several runs (bulk interval)."""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator, Sequence
from typing import cast

from sqlalchemy import BigInteger, Connection, bindparam, column, select, tuple_, values
from sqlalchemy.sql.elements import ColumnElement

from trackwire import limits
from trackwire.errors import InvalidArgument
from trackwire.server.search.page_token import query_fingerprint
from trackwire.server.store import chart_buckets, metric_blocks
from trackwire.server.store import schema as t
from trackwire.server.store.database import Database
from trackwire.server.store.lookups import run_row
from trackwire.server.store.page_tokens import PageTokens
from trackwire.server.store.points_at_steps import points_at_steps
from trackwire.server.store.rows import Fields, chunks, driver_rows, metric_value
from trackwire.v1.tracking_service_pb2 import GetMetricBucketsResponse

# A metric's history in the order of the table's primary key (run_id, key, step, timestamp,
# seq): a range scan, no sort.
_m = t.metrics.c
_HISTORY_OF = (_m.run_id == bindparam("run_id"), _m.key == bindparam("key"))
_HISTORY_ORDER = (_m.step, _m.timestamp, _m.seq)
_HISTORY = select(_m.step, _m.timestamp, _m.value).where(*_HISTORY_OF).order_by(*_HISTORY_ORDER)
_HISTORY_PAGE = (
    select(_m.value, _m.timestamp, _m.step, _m.seq)
    .where(*_HISTORY_OF)
    .order_by(*_HISTORY_ORDER)
    .limit(bindparam("limit"))
)
_HISTORY_PAGE_AFTER = _HISTORY_PAGE.where(
    tuple_(*_HISTORY_ORDER) > tuple_(bindparam("step"), bindparam("timestamp"), bindparam("seq"))
)
_NAN = math.nan


class MetricHistory:
    def __init__(self, db: Database, page_tokens: PageTokens):
        self.db = db
        self.page_tokens = page_tokens

    def page(
        self, run_id: str, key: str, page_token: str, max_results: int
    ) -> tuple[list[Fields], str]:
        """One page of a metric's history as Metric fields, keyset-paged on (step,
        timestamp, seq)."""
        if max_results < 0 or max_results > limits.MAX_METRIC_HISTORY_PAGE_SIZE:
            raise InvalidArgument(
                f"max_results must be between 1 and {limits.MAX_METRIC_HISTORY_PAGE_SIZE}, "
                f"got {max_results}."
            )
        page_size = max_results or limits.MAX_METRIC_HISTORY_PAGE_SIZE
        params = {"run_id": run_id, "key": key, "limit": page_size + 1}
        statement = _HISTORY_PAGE
        fingerprint = query_fingerprint("history", run_id, key)
        if page_token:
            step, timestamp, seq = self.page_tokens.decode(page_token, fingerprint, 3)
            params.update(step=step, timestamp=timestamp, seq=seq)
            statement = _HISTORY_PAGE_AFTER
        with self.db.read() as conn:
            run_row(conn, run_id)
            rows = driver_rows(conn, statement, params)
        next_token = ""
        if len(rows) > page_size:
            del rows[page_size:]
            _, timestamp, step, seq = rows[-1]
            next_token = self.page_tokens.encode(fingerprint, (step, timestamp, seq))
        nan = _NAN
        metrics = [
            {
                "key": key,
                "value": nan if value is None else value,
                "timestamp": timestamp,
                "step": step,
            }
            for value, timestamp, step, _ in rows
        ]
        return metrics, next_token

    def stream(
        self, run_id: str, key: str, chunk_size: int
    ) -> Iterator[list[tuple[int, int, float | None]]]:
        """The whole history as chunks of (step, timestamp, value) rows, value None for NaN,
        read in one snapshot.

        SQLite's cursor steps through the statement as rows are fetched, so its rows come
        straight from the driver (SQLAlchemy's Row objects would double the time); other
        databases stream through a server-side cursor.
        """
        params = {"run_id": run_id, "key": key}
        with self.db.read() as conn:
            run_row(conn, run_id)
            if conn.dialect.name == "sqlite":
                cursor = conn.execute(_HISTORY, params).cursor
                yield from iter(lambda: cast(list, cursor.fetchmany(chunk_size)), [])
                return
            result = conn.execution_options(stream_results=True, yield_per=chunk_size).execute(
                _HISTORY, params
            )
            for partition in result.partitions(chunk_size):
                yield [tuple(row) for row in partition]

    def metric_buckets(
        self,
        run_ids: Sequence[str],
        key: str,
        start_step: int | None,
        end_step: int | None,
        buckets: int,
    ) -> GetMetricBucketsResponse:
        """Per run, the metric summarised in `buckets` step buckets (see chart_buckets)."""
        metric_blocks.summarise_whole_blocks(self.db, run_ids, key)
        with self.db.read() as conn:
            return chart_buckets.metric_buckets(conn, run_ids, key, start_step, end_step, buckets)

    def bulk_interval(
        self,
        run_ids: Sequence[str],
        key: str,
        start_step: int | None,
        end_step: int | None,
        max_steps: int,
    ) -> list[Fields]:
        """Per run, MetricWithRunId fields of the points at at most `max_steps` steps spread
        evenly over the range."""
        m = t.metrics.c
        in_range = [m.key == key]
        if start_step is not None:
            in_range.append(m.step >= start_step)
        if end_step is not None:
            in_range.append(m.step <= end_step)
        points: list[Fields] = []
        with self.db.read() as conn:
            for run_id in run_ids:
                run_row(conn, run_id)
                steps = _chosen_steps(conn, m.run_id == run_id, *in_range, count=max_steps)
                points.extend(
                    {
                        "key": key,
                        "value": metric_value(row.value),
                        "timestamp": row.timestamp,
                        "step": row.step,
                        "run_id": run_id,
                    }
                    for row in points_at_steps(conn, run_id, key, steps)
                )
        return points


def _chosen_steps(conn: Connection, *of_run: ColumnElement, count: int) -> list[int]:
    """At most `count` steps of a run's history, spread evenly over its step range by index
    seeks: a long history is never read whole (a million steps took 0.7-0.8 s to list).

    A run with at most `count` distinct steps gives all of them. Otherwise the steps are
    picked as if the history went on from its first to its last step with the stride of
    its first `count` + 1 steps (1 if those are not evenly spaced or the last step is off
    their grid), each target giving way to the first step at or after it when missing.
    For a history logged every N steps that is the choice `_spread` makes from the full
    list; for an irregular one the steps are spread by value rather than by position.
    """
    m = t.metrics.c
    first = (
        conn.execute(select(m.step).where(*of_run).distinct().order_by(m.step).limit(count + 1))
        .scalars()
        .all()
    )
    if len(first) <= count:
        return list(first)
    last = conn.execute(select(m.step).where(*of_run).order_by(m.step.desc()).limit(1)).scalar_one()
    strides = {later - earlier for earlier, later in itertools.pairwise(first)}
    stride = strides.pop() if len(strides) == 1 else 1
    if (last - first[0]) % stride:  # the last step must be a target: off the grid, no stride
        stride = 1
    chosen: set[int] = set()
    for chunk in chunks(_spread(range(first[0], last + 1, stride), count)):
        targets = (
            values(column("target", BigInteger), name="targets").data([(s,) for s in chunk]).cte()
        )
        seek = (
            select(m.step)
            .where(*of_run, m.step >= targets.c.target)
            .order_by(m.step)
            .limit(1)
            .scalar_subquery()
        )
        chosen.update(conn.execute(select(seek).select_from(targets)).scalars())
    return sorted(chosen)


def _spread(steps: Sequence[int], count: int) -> list[int]:
    """At most `count` of the sorted `steps`, evenly spread, first and last included."""
    if len(steps) <= count:
        return list(steps)
    if count == 1:
        return [steps[-1]]
    last = len(steps) - 1
    return sorted({steps[round(i * last / (count - 1))] for i in range(count)})
