"""The points of one metric of a run at chosen steps (a chart's bucket ends, the bulk
interval's spread steps), one primary-key seek per step.

SQLite is given the steps as an IN list. PostgreSQL is given them as one array, each step
sought in turn by a LATERAL subquery: with an IN list, once the driver had prepared the
statement (its sixth run), PostgreSQL switched to a generic plan. That plan, estimating a run's
metric at a few rows, read the whole history and filtered the steps out of it, so as to keep
the index's order: 10 s a run at a million steps, where the seeks take milliseconds. A seek
per step has no such alternative, and OFFSET 0 keeps the planner from flattening the
subquery back into a join.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from sqlalchemy import BigInteger, Connection, Row, bindparam, column, func, select, true
from sqlalchemy.dialects.postgresql import ARRAY

from trackwire.server.store import schema as t
from trackwire.server.store.rows import chunks

_m = t.metrics.c
_OF_METRIC = (_m.run_id == bindparam("run_id"), _m.key == bindparam("key"))
_COLUMNS = (_m.step, _m.timestamp, _m.value)

_AT_LISTED_STEPS = (
    select(*_COLUMNS)
    .where(*_OF_METRIC, _m.step.in_(bindparam("steps", expanding=True)))
    .order_by(_m.step, _m.timestamp, _m.seq)
)


def _at_each_step():
    wanted = (
        func.unnest(bindparam("steps", type_=ARRAY(BigInteger)))
        .table_valued(column("step", BigInteger))
        .render_derived(name="wanted")
    )
    at_step = (
        select(_m.timestamp, _m.value, _m.seq)
        .where(*_OF_METRIC, _m.step == wanted.c.step)
        .offset(0)
        .lateral("at_step")
    )
    return (
        select(wanted.c.step, at_step.c.timestamp, at_step.c.value)
        .select_from(wanted.join(at_step, true()))
        .order_by(wanted.c.step, at_step.c.timestamp, at_step.c.seq)
    )


_AT_EACH_STEP = _at_each_step()


def points_at_steps(conn: Connection, run_id: str, key: str, steps: Sequence[int]) -> Iterator[Row]:
    """Rows (step, timestamp, value) of the points of `key` in run `run_id` at `steps`
    (distinct, ascending), in the history's order: by step, timestamp, then as logged."""
    if conn.dialect.name == "postgresql":
        params = {"run_id": run_id, "key": key, "steps": list(steps)}
        yield from conn.execute(_AT_EACH_STEP, params)
        return
    for chunk in chunks(list(steps)):
        yield from conn.execute(_AT_LISTED_STEPS, {"run_id": run_id, "key": key, "steps": chunk})
