"""Summaries of a metric's history per fixed block of steps, for charts over long histories.

A block is the steps [n * BLOCK_STEPS, (n + 1) * BLOCK_STEPS) of one metric of one run; its row
holds the count of the block's points, their first and last step, earliest and latest
timestamp, and minimum and maximum value (NaN, stored as NULL, counts but is neither). Every
write of points merges its batch into the blocks it touches, in the same transaction
(store/run_logging.py), so the rows always describe the history exactly, whatever the order of
the steps. A chart bucket then reads one row per whole block it covers instead of every point
(store/chart_buckets.py).
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import bindparam, case
from sqlalchemy.sql.elements import ColumnElement

from trackwire.server.store import schema as t

# Small enough that a chart bucket's edges (read point by point) stay short, large enough that
# a million steps are some 31,000 rows. A power of two: block numbers are a shift of the step.
BLOCK_STEPS = 32
_BLOCK_SHIFT = BLOCK_STEPS.bit_length() - 1

COLUMNS = tuple(column.name for column in t.metric_blocks.columns)


def batch_blocks(rows: Sequence[tuple]) -> list[tuple]:
    """The block rows of a batch of history rows (run_id, key, step, timestamp, value), in
    COLUMNS order: what the batch alone would put in each block it touches. One pass over
    the batch: this runs on every write of points."""
    blocks: dict[tuple, list] = {}
    for run_id, key, step, timestamp, value in rows:
        # A shift is the floor division, negative steps included.
        block = (run_id, key, step >> _BLOCK_SHIFT)
        summary = blocks.get(block)
        if summary is None:
            blocks[block] = [1, step, step, timestamp, timestamp, value, value]
            continue
        summary[0] += 1
        if step < summary[1]:
            summary[1] = step
        elif step > summary[2]:
            summary[2] = step
        if timestamp < summary[3]:
            summary[3] = timestamp
        elif timestamp > summary[4]:
            summary[4] = timestamp
        if value is not None:  # NaN (None) counts but is neither the minimum nor the maximum
            if summary[5] is None or value < summary[5]:
                summary[5] = value
            if summary[6] is None or value > summary[6]:
                summary[6] = value
    return [(*block, *summary) for block, summary in blocks.items()]


def _extreme(stored: ColumnElement, new: ColumnElement, lowest: bool) -> ColumnElement:
    """The lower (or higher) of two values where NULL means none (SQLite's two-argument min()
    and max() would answer NULL)."""
    beats = new < stored if lowest else new > stored
    return case((stored.is_(None), new), (new.is_(None), stored), (beats, new), else_=stored)


def merge_statement(insert):
    """The upsert that merges a batch's block row into the stored one (`insert` is the
    dialect's insert construct, which has ON CONFLICT)."""
    statement = insert(t.metric_blocks).values({c: bindparam(c) for c in COLUMNS})
    stored, new = t.metric_blocks.c, statement.excluded
    return statement.on_conflict_do_update(
        index_elements=["run_id", "key", "block"],
        set_={
            "points": stored.points + new.points,
            "first_step": _extreme(stored.first_step, new.first_step, lowest=True),
            "last_step": _extreme(stored.last_step, new.last_step, lowest=False),
            "first_timestamp": _extreme(stored.first_timestamp, new.first_timestamp, lowest=True),
            "last_timestamp": _extreme(stored.last_timestamp, new.last_timestamp, lowest=False),
            "min_value": _extreme(stored.min_value, new.min_value, lowest=True),
            "max_value": _extreme(stored.max_value, new.max_value, lowest=False),
        },
    )
