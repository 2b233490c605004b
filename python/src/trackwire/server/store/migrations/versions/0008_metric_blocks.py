"""Summaries of each metric's history per block of 32 steps, for charts over long histories
(store/metric_blocks.py), built from the stored points a chunk of runs at a time.

Revision ID: 0008
Revises: 0007
"""

import logging

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"

# The block size of this revision's rows (store/metric_blocks.py's BLOCK_STEPS then).
_BLOCK_STEPS = 32
_RUNS_PER_CHUNK = 500
# `trackwire db upgrade` shows what is said on Alembic's logger as the migration's progress.
_progress = logging.getLogger("alembic.runtime.migration")


def upgrade() -> None:
    op.create_table(
        "metric_blocks",
        sa.Column(
            "run_id",
            sa.String(32),
            sa.ForeignKey("runs.run_id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("key", sa.String(250), nullable=False),
        sa.Column("block", sa.BigInteger, nullable=False),
        sa.Column("points", sa.BigInteger, nullable=False),
        sa.Column("first_step", sa.BigInteger, nullable=False),
        sa.Column("last_step", sa.BigInteger, nullable=False),
        sa.Column("first_timestamp", sa.BigInteger, nullable=False),
        sa.Column("last_timestamp", sa.BigInteger, nullable=False),
        sa.Column("min_value", sa.Float(precision=53), nullable=True),
        sa.Column("max_value", sa.Float(precision=53), nullable=True),
        sa.PrimaryKeyConstraint("run_id", "key", "block", name="pk_metric_blocks"),
        sqlite_with_rowid=False,
    )
    bind = op.get_bind()
    run_ids = list(bind.execute(sa.text("SELECT run_id FROM runs ORDER BY run_id")).scalars())
    # Integer division truncates towards zero in both databases; a block is the floor.
    block = (
        f"CASE WHEN step >= 0 THEN step / {_BLOCK_STEPS} ELSE (step + 1) / {_BLOCK_STEPS} - 1 END"
    )
    summarise = sa.text(
        "INSERT INTO metric_blocks (run_id, key, block, points, first_step, last_step, "
        "first_timestamp, last_timestamp, min_value, max_value) "
        f"SELECT run_id, key, {block}, count(*), min(step), max(step), min(timestamp), "
        "max(timestamp), min(value), max(value) FROM metrics "
        f"WHERE run_id BETWEEN :first AND :last GROUP BY run_id, key, {block}"
    )
    # A range of the primary key's first column, not an IN list of the chunk's runs: with
    # a list PostgreSQL estimated each chunk's rows from the average run and read the whole
    # table for every chunk (5 s a chunk at 100M points); a range is one index range scan.
    # The bounds come from the database's own order, so the chunks cover every run once.
    for done in range(0, len(run_ids), _RUNS_PER_CHUNK):
        chunk = run_ids[done : done + _RUNS_PER_CHUNK]
        bind.execute(summarise, {"first": chunk[0], "last": chunk[-1]})
        _progress.info("metric blocks: %d of %d runs", done + len(chunk), len(run_ids))


def downgrade() -> None:
    op.drop_table("metric_blocks")
