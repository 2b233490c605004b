"""Block summaries built when read rather than on every write: each metric's latest row says
below which block its summaries are exact (store/metric_blocks.py).

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"

# The block size of revision 0008's rows.
_BLOCK_STEPS = 32


def upgrade() -> None:
    # Revision 0008 kept every block exact: all are, but for the one holding the latest step,
    # which the next write may touch.
    with op.batch_alter_table("latest_metrics") as table:
        table.add_column(
            sa.Column(
                "summarized_below",
                sa.BigInteger,
                nullable=False,
                server_default=str(-(2**58)),  # the block of the lowest step: none summarised
            )
        )
    op.execute(
        "UPDATE latest_metrics SET summarized_below = CASE WHEN step >= 0 "
        f"THEN step / {_BLOCK_STEPS} ELSE (step + 1) / {_BLOCK_STEPS} - 1 END"
    )


def downgrade() -> None:
    with op.batch_alter_table("latest_metrics") as table:
        table.drop_column("summarized_below")
