"""Summaries of a metric's history per fixed block of steps, for charts over long histories.

A block is the steps [n * BLOCK_STEPS, (n + 1) * BLOCK_STEPS) of one metric of one run; its row
holds the count of the block's points, their first and last step, earliest and latest
timestamp, and minimum and maximum value (NaN, stored as NULL, counts but is neither). A chart
bucket reads one row per whole block it covers instead of every point
(store/chart_buckets.py).

The summaries are built when a chart reads them, not on every write, which would cost the
training loop's writes a sixth of their time. The metric's latest row holds the watermark:
the rows of blocks below `summarized_below` describe the history exactly, and the blocks from
it on are read point by point. A write only lowers the watermark to the first block it
touches (in the statement that updates the latest row anyway, store/run_logging.py); a chart
read first summarises the blocks between the watermark and the block of the latest step,
which is still filling, and raises the watermark to it.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import and_, case, delete, func, literal, select, update

from trackwire.server.store import schema as t
from trackwire.server.store.database import Database
from trackwire.server.store.quotas import LOCK_RUN

# Small enough that a chart bucket's edges (read point by point) stay short, large enough that
# a million steps are some 31,000 rows. A power of two: block numbers are a shift of the step.
BLOCK_STEPS = 32
BLOCK_SHIFT = BLOCK_STEPS.bit_length() - 1
# Points summarised per write transaction: a long history unsummarised (a first chart of a
# million steps) is built in steps, writers going in between.
_POINTS_PER_TRANSACTION = 16_384

_m, _b, _latest = t.metrics.c, t.metric_blocks.c, t.latest_metrics.c
# SQL's integer division truncates towards zero; a block is the floor, negative steps too.
_BLOCK_OF_STEP = case(
    (_m.step >= 0, _m.step // BLOCK_STEPS), else_=(_m.step + 1) // BLOCK_STEPS - 1
)


def _summaries(run_id: str, key: str, first_block: int, end_block: int):
    """The summary rows of the blocks [first_block, end_block) of a metric, from its points."""
    return (
        select(
            literal(run_id),
            literal(key),
            _BLOCK_OF_STEP,
            func.count(),
            func.min(_m.step),
            func.max(_m.step),
            func.min(_m.timestamp),
            func.max(_m.timestamp),
            func.min(_m.value),
            func.max(_m.value),
        )
        .where(
            _m.run_id == run_id,
            _m.key == key,
            _m.step >= first_block * BLOCK_STEPS,
            _m.step < end_block * BLOCK_STEPS,
        )
        .group_by(_BLOCK_OF_STEP)
    )


def _stale(db: Database, run_ids: Sequence[str], key: str) -> list[str]:
    """The runs whose metric has a whole block beyond its watermark."""
    with db.read() as conn:
        rows = conn.execute(
            select(_latest.run_id, _latest.step, _latest.summarized_below).where(
                _latest.run_id.in_(run_ids), _latest.key == key
            )
        )
        return [run_id for run_id, step, below in rows if below < step >> BLOCK_SHIFT]


def summarise_run(db: Database, run_id: str) -> None:
    """Summarises the whole blocks of every metric of a run (see summarise_whole_blocks)."""
    with db.read() as conn:
        keys = conn.execute(select(_latest.key).where(_latest.run_id == run_id)).scalars().all()
    for key in keys:
        summarise_whole_blocks(db, [run_id], key)


def summarise_whole_blocks(db: Database, run_ids: Sequence[str], key: str) -> None:
    """Summarises the metric's blocks that lie between each run's watermark and the block of
    its latest step, and raises the watermark past them."""
    for run_id in _stale(db, run_ids, key):
        while not _summarise_some(db, run_id, key):
            pass


def _summarise_some(db: Database, run_id: str, key: str) -> bool:
    """Summarises the next blocks of one run's metric past its watermark, up to some
    _POINTS_PER_TRANSACTION points; True when none are left to do."""
    of_metric = and_(_latest.run_id == run_id, _latest.key == key)
    with db.write() as conn:
        # The run's row first, as its writers lock it: a writer waits for this transaction,
        # and lowers the watermark again after it if it wrote below.
        if conn.execute(LOCK_RUN, {"run_id": run_id}).first() is None:
            return True  # deleted meanwhile
        row = conn.execute(select(_latest.step, _latest.summarized_below).where(of_metric)).first()
        if row is None:
            return True
        step, below = row
        tail = step >> BLOCK_SHIFT  # the block still filling: never summarised
        if below >= tail:
            return True
        # Cut by points, not by blocks: steps may be sparse (a timestamp as the step).
        cut = conn.execute(
            select(_m.step)
            .where(_m.run_id == run_id, _m.key == key, _m.step >= below * BLOCK_STEPS)
            .order_by(_m.step)
            .offset(_POINTS_PER_TRANSACTION)
            .limit(1)
        ).scalar()
        end = tail if cut is None else max(below + 1, min(tail, cut >> BLOCK_SHIFT))
        # Rows from the watermark on may be stale (a write into a block summarised before).
        conn.execute(
            delete(t.metric_blocks).where(
                _b.run_id == run_id, _b.key == key, _b.block >= below, _b.block < end
            )
        )
        conn.execute(
            t.metric_blocks.insert().from_select(
                [c.name for c in t.metric_blocks.columns], _summaries(run_id, key, below, end)
            )
        )
        conn.execute(update(t.latest_metrics).where(of_metric).values(summarized_below=end))
        return end == tail
