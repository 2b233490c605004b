"""Access tokens, experiment permissions, and the counters that quotas read.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "access_tokens",
        sa.Column("token_id", sa.String(32), primary_key=True),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("user_name", sa.String(256), nullable=False),
        sa.Column("scope", sa.String(16), nullable=False),
        sa.Column("created_time", sa.BigInteger, nullable=False),
        sa.Column("revoked_time", sa.BigInteger, nullable=True),
    )
    op.create_table(
        "experiment_permissions",
        sa.Column(
            "experiment_id",
            _ID,
            sa.ForeignKey("experiments.experiment_id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("user_name", sa.String(256), primary_key=True),
        sa.Column("permission", sa.String(32), nullable=False),
    )
    op.create_index("ix_experiment_permissions_user", "experiment_permissions", ["user_name"])
    # Counters kept in the write transactions, so quota checks never count big tables.
    op.add_column(
        "experiments", sa.Column("run_count", sa.BigInteger, nullable=False, server_default="0")
    )
    op.add_column(
        "runs", sa.Column("metric_count", sa.BigInteger, nullable=False, server_default="0")
    )
    op.execute(
        "UPDATE experiments SET run_count = "
        "(SELECT count(*) FROM runs WHERE runs.experiment_id = experiments.experiment_id)"
    )
    op.execute(
        "UPDATE runs SET metric_count = "
        "(SELECT count(*) FROM metrics WHERE metrics.run_id = runs.run_id)"
    )


def downgrade() -> None:
    # Plain ALTER TABLE ... DROP COLUMN (SQLite >= 3.35): a batch rebuild would drop and
    # recreate `runs`, and the foreign keys would cascade that to every run's data.
    op.drop_column("runs", "metric_count")
    op.drop_column("experiments", "run_count")
    op.drop_table("experiment_permissions")
    op.drop_table("access_tokens")
