"""Metric history clustered by (run_id, key, step, timestamp, seq), without a rowid.

A metric's points then lie together in step order: an insert touches one B-tree instead of
the table and its index, a history read scans one range, and the file is about half the
size. `seq` (0, then 1, 2, ... for points logged at the same step and timestamp) keeps such
points apart, in the order of the old autoincrement ids.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"

_COLUMNS = "run_id, key, step, timestamp, seq, value"


def _point_columns() -> list[sa.schema.SchemaItem]:
    """The columns both shapes of the table share (a Column belongs to one table only)."""
    return [
        sa.Column(
            "run_id",
            sa.String(32),
            sa.ForeignKey("runs.run_id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("key", sa.String(250), nullable=False),
        sa.Column("step", sa.BigInteger, nullable=False),
        sa.Column("timestamp", sa.BigInteger, nullable=False),
        sa.Column("value", sa.Float(precision=53), nullable=True),
    ]


def upgrade() -> None:
    op.create_table(
        "metrics_clustered",
        *_point_columns(),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("run_id", "key", "step", "timestamp", "seq", name="pk_metrics"),
        sqlite_with_rowid=False,
    )
    op.execute(
        f"INSERT INTO metrics_clustered ({_COLUMNS}) "
        "SELECT run_id, key, step, timestamp, "
        "row_number() OVER (PARTITION BY run_id, key, step, timestamp ORDER BY id) - 1, value "
        "FROM metrics"
    )
    op.drop_table("metrics")
    op.rename_table("metrics_clustered", "metrics")


def downgrade() -> None:
    id_type = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
    op.create_table(
        "metrics_rowid",
        sa.Column("id", id_type, primary_key=True, autoincrement=True),
        *_point_columns(),
    )
    op.execute(
        "INSERT INTO metrics_rowid (run_id, key, step, timestamp, value) "
        "SELECT run_id, key, step, timestamp, value FROM metrics "
        "ORDER BY run_id, key, step, timestamp, seq"
    )
    op.drop_table("metrics")
    op.rename_table("metrics_rowid", "metrics")
    op.create_index("ix_metrics_run_key_step", "metrics", ["run_id", "key", "step", "timestamp"])
